"""The matching form of a message: what the guardrails' patterns are written against.

People who write about wanting to die rarely spell it the way a keyword list does: "SUICIDIO",
"suicídio", "k1ll mys3lf", "sui cide", "me muerooooo", "kms", "xq ya no kiero vivir". Every
pattern in ``prefilter`` and ``offline`` is matched against ``matching_form(text)``, which undoes
those variations once, so that each pattern is written once, in plain lowercase ASCII:

* lowercase, accents and other marks stripped (NFKD), typographic apostrophes dropped ("don't"
  and "dont" are one word, as users write both);
* leetspeak read as letters, only inside words that also hold letters ("k1ll", "m0r1r"), so
  "kill -9", "port 8080" and "$5" keep their digits;
* every run of a repeated letter collapsed to one letter: "muerooooo" and "muero" are one word,
  and so are "kill" and "kil". This loses English and Spanish double letters too, which is why
  patterns are compiled with ``matching_pattern``, which collapses their letters the same way;
* spelled-out or split keywords rejoined ("s u i c i d e", "sui-cide", "suici dio");
* chat abbreviations expanded ("kms" -> "kill myself", "xq" -> "porque", "kiero" -> "quiero").

The function is on every chat request's path (stage 1 calls it): precompiled patterns and
``str.translate``, each step skipped when the text cannot need it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["matching_form", "matching_pattern", "matching_source"]

# Marks that NFKD leaves as separate code points (combining accents, the tilde of ñ): dropped.
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_APOSTROPHES = str.maketrans({"'": None, "\u2019": None, "\u2018": None, "`": None})
_LEET = str.maketrans(
    {"1": "i", "3": "e", "4": "a", "0": "o", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# A word mixing letters with leet characters: only such words are read as leetspeak.
_LEET_WORD = re.compile(r"(?<![\w@$])(?=[\w@$]*[a-z])(?=[\w@$]*[0134578@$])[\w@$]+")
_HAS_LEET = re.compile(r"[a-z][0134578@$]|[0134578@$][a-z]")
# Any letter repeated (two or more in a row); not after a backslash, so that a pattern's
# escapes ("\s", "\b") survive ``matching_pattern``.
_REPEATS = re.compile(r"(?<!\\)([a-z])\1+")
_SPACES = re.compile(r"\s+")

# Keywords people split to slip past a filter, with separators allowed between their letters.
_SPLIT_KEYWORDS = ("suicid", "suisid", "matarme", "morirme", "unalive")
_SEPARATOR = r"[\s.\-_*·]{0,2}"
_SPLIT = re.compile(
    r"\b(?:"
    + "|".join(_SEPARATOR.join(re.escape(letter) for letter in word) for word in _SPLIT_KEYWORDS)
    + r")"
)
_HAS_SEPARATOR_INSIDE = re.compile(r"[\s.\-_*·]")
# A word spelled out one letter at a time ("s u i c i d e", "k.i.l.l"): three or more single
# letters in a row are one word (no sentence of either language has three one-letter words).
_SPELLED_OUT = re.compile(r"(?<![\w.])[a-z](?:[ .\-_*][a-z](?![\w]))(?:[ .\-_*][a-z](?![\w]))+")

# Chat abbreviations, written in matching form (repeats collapsed, no accents or apostrophes).
# "k" and "q" alone are "que" in Spanish chat; in English "k" is "ok", which does not matter
# here: no pattern looks for either.
_ABBREVIATIONS = {
    "kms": "kil myself",
    "kys": "kil yourself",
    "kmn": "kil me now",
    "unalive": "kil",
    "unalived": "kiled",
    "unaliving": "kiling",
    "sh": "self harm",
    "wana": "want to",
    "gona": "going to",
    "gota": "got to",
    "tryna": "trying to",
    "im": "i am",
    "ima": "i am going to",
    "imma": "i am going to",
    "ive": "i have",
    "ur": "your",
    "u": "you",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "bcuz": "because",
    "rn": "right now",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "xk": "porque",
    "pk": "porque",
    "porke": "porque",
    "xke": "porque",
    "q": "que",
    "k": "que",
    "ke": "que",
    "qe": "que",
    "tb": "tambien",
    "tmb": "tambien",
    "tbn": "tambien",
    "pa": "para",
    "kiero": "quiero",
    "qiero": "quiero",
    "kieres": "quieres",
    "kiere": "quiere",
    "qiere": "quiere",
    "kieren": "quieren",
    "kisiera": "quisiera",
    "kien": "quien",
    "aki": "aqui",
    "nd": "nada",
    "toy": "estoy",
    "stoy": "estoy",
    "ta": "esta",
    "d": "de",
}
_ABBREVIATION = re.compile(
    r"\b(?:" + "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")\b"
)
# "want 2 die", "going 2 do it": a lone 2 after a verb that takes "to".
_TWO_AS_TO = re.compile(r"\b(want|wanted|going|have|need|ready|about|try|trying) 2\b")


def matching_form(text: str) -> str:
    """``text`` in the form every guardrail pattern is written against (see the module)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    folded = folded.translate(_APOSTROPHES)
    if _HAS_LEET.search(folded):
        folded = _LEET_WORD.sub(_read_leet, folded)
    folded = _SPELLED_OUT.sub(_rejoin, folded)
    folded = _SPLIT.sub(_rejoin, folded)
    folded = _REPEATS.sub(r"\1", folded)
    folded = _TWO_AS_TO.sub(r"\1 to", folded)
    folded = _ABBREVIATION.sub(_expand, folded)
    return _SPACES.sub(" ", folded).strip()


def matching_pattern(source: str, flags: int = 0) -> re.Pattern[str]:
    """A regex written in plain lowercase words, compiled to match ``matching_form``'s text:
    its repeated letters collapsed as the text's are ("kill" becomes "kil")."""
    return re.compile(matching_source(source), flags)


def matching_source(source: str) -> str:
    """A regex's source with its repeated letters collapsed, for patterns built from parts
    (group names must then avoid double letters, or be added after)."""
    return _REPEATS.sub(r"\1", source)


def _read_leet(match: re.Match[str]) -> str:
    word = match.group()
    # A word that is mostly digits is a number with a unit or a name ("8080th", "mp3" keeps
    # its meaning either way), not leetspeak; leetspeak keeps most of its letters.
    letters = sum(char.isalpha() for char in word)
    return word.translate(_LEET) if letters * 2 >= len(word) else word


def _rejoin(match: re.Match[str]) -> str:
    found = match.group()
    if not _HAS_SEPARATOR_INSIDE.search(found):
        return found
    return re.sub(r"[\s.\-_*·]", "", found)


def _expand(match: re.Match[str]) -> str:
    return _ABBREVIATIONS[match.group()]
