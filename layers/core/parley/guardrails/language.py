"""Which of the guardrails' two languages a message is in: Spanish or English.

The safe reply must be in the user's language, and a few patterns exist in one language only.
A message is mostly short, so a model of letters would guess; function words are what decide a
sentence's grammar and are the most frequent words of both languages, so they are counted
instead, with the marks only Spanish has (ñ, ¿, ¡, accented vowels) as extra evidence.

Spanglish ("necesito help con mi homework", "i'm so cansada hoy") borrows content words and
keeps one grammar: its function words say which, so counting them picks the matrix language.
Words both languages share ("no", "me", "a") count for neither. A tie is English (the issue's
default), which also covers an empty message or one made only of code or emoji.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parley.guardrails.verdict import Language

__all__ = ["detect_language"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SPANISH_WORDS = _words(
    "que de la el en y los las se mi mis por para con es un una lo del al pero mas ya muy "
    "estoy esta estan soy eres tengo quiero quiere puedo como cuando porque xq pq q tb "
    "yo tu te nos le les su sus este esto eso esa hay ser estar hacer todo nada nadie "
    "siempre nunca tambien solo sin sobre donde quien cual hoy ayer manana vida aqui ahi "
    "mejor peor bien mal algo alguien ni o u sea fue era voy vas va ayuda ayudame "
    "gracias hola oye creo dice dijo"
)
_ENGLISH_WORDS = _words(
    "the i to and is it you my of in that this what how do dont want can im just be have "
    "for on with not so but are was were will would i'm i've don't can't it's they he she "
    "we your an at if or about all get got know like really feel anymore anyone "
    "everyone nobody someone never always why when where who which there here been "
    "going gonna wanna help please thanks hi hey"
)
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]")
_WORD = re.compile(r"[a-záéíóúñü']+")


def detect_language(text: str) -> Language:
    """ "es" when Spanish function words (and Spanish-only marks) outnumber English ones,
    else "en"."""
    lowered = text.lower()
    spanish = english = 0
    for word in _WORD.findall(lowered):
        bare = word.translate(_UNACCENT)
        if bare in _SPANISH_WORDS:
            spanish += 1
        elif word in _ENGLISH_WORDS or bare in _ENGLISH_WORDS:
            english += 1
    # A mark is strong evidence (English writes none of them but in loanwords like "café"),
    # worth one function word each, at most two, so one loanword cannot outvote a sentence.
    spanish += min(2, len(_SPANISH_MARKS.findall(lowered)))
    return "es" if spanish > english else "en"


_UNACCENT = str.maketrans("áéíóúü", "aeiouu")
