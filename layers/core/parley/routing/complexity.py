"""How hard a request looks: what its text and context show, and a complexity score from that.

The router sends a request to a light, standard or heavy model by this score (light below 0.5,
heavy above 0.75), so the score is a sum of named contributions, each a saturating,
non-decreasing function of one signal, clamped to [0, 1]. A sum keeps it explainable (every
signal that added something is named in ``signals``) and monotone: more words, code, questions,
cues, history or attachments never lower it. Why each signal counts and how much:

- Length (``LENGTH_WEIGHT`` 0.35 on a log scale saturating at ``LENGTH_SATURATION_WORDS`` 2,000
  words, plus ``LONG_MESSAGE_BONUS`` 0.10 from ``LONG_MESSAGE_WORDS`` 100 words): a long message
  carries more constraints to keep at once. Log scale, because the tenth word adds more
  than the thousandth; the step at 100 words is where a message stops being a quick ask.
- Code (``CODE_BLOCK_WEIGHT`` 0.14 for a fenced block, ``CODE_LINES_WEIGHT`` 0.08 growing to
  ``CODE_LINES_SATURATION`` 10 lines, ``INLINE_CODE_WEIGHT`` 0.04): reading or writing code
  is where small models fail first.
- Technical terms (``TECHNICAL_WEIGHT`` 0.10 at ``TECHNICAL_SATURATION`` 4 distinct terms):
  domain vocabulary means the answer needs domain knowledge.
- Questions (``QUESTIONS_WEIGHT`` 0.12 at ``QUESTIONS_SATURATION`` 4): each question is a
  separate answer to get right; one question adds a little, several add more.
- Reasoning cues (``REASONING_WEIGHT`` 0.24 at ``REASONING_SATURATION`` 3 distinct cues, e.g.
  "step by step", "why", "prove", "trade-offs", "paso a paso", "por qué"): the user asks for
  an argument, not a fact, which is what larger models are for.
- Attachments (``ATTACHMENT_COUNT_WEIGHT`` 0.06 at 3 files, ``ATTACHMENT_SIZE_WEIGHT`` 0.14 on
  a log scale to 100,000 characters): more material to read and relate.
- Images (``IMAGE_WEIGHT`` 0.40 for the first, ``MORE_IMAGES_WEIGHT`` 0.10 more at
  ``IMAGE_COUNT_SATURATION`` 4): a heavy signal, since a question about a picture is a
  reading task of its own whatever its words, so one image and a short question reach the
  standard tier.
- History (``HISTORY_COUNT_WEIGHT`` 0.08 at 20 earlier messages, ``HISTORY_SIZE_WEIGHT`` 0.08
  on a log scale to 50,000 characters): a long conversation is context to keep consistent.
- Small talk: a message made only of greetings and pleasantries ("hi, how are you?", "hola,
  ¿qué tal?", "thanks!") and sent without attachments or images is capped at
  ``SMALL_TALK_CAP`` 0.05, however long the conversation: the reply is a pleasantry whatever
  came before.

Calibration, checked by the tests: small talk 0.0-0.1; a one-line factual question 0.1-0.3;
a 100+ word technical question with code 0.5-0.75; a long multi-question request for
step-by-step reasoning with code and a long history above 0.75.

English and Spanish: keywords are matched as phrases on normalised words
(``parley.routing.phrases``: accents and case do not matter). Work is capped: keywords, code
and questions are read from the first ``SCAN_CHARS`` characters and the words of the rest are
counted by their separators, so a 1 MB message costs a few milliseconds. Everything here is
pure: no I/O, no clock, the same answer for the same input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from parley.routing.phrases import PhraseSet, Words, normalise

__all__ = [
    "SCAN_CHARS",
    "RequestContext",
    "Scored",
    "TextFeatures",
    "read_text",
    "score_complexity",
]

# About 3,000 words: longer than nearly every typed request. Past it, a message is pasted
# material whose length (counted in full) says more than its keywords.
SCAN_CHARS = 20_000

LENGTH_WEIGHT = 0.35
LENGTH_SATURATION_WORDS = 2_000
LONG_MESSAGE_WORDS = 100
LONG_MESSAGE_BONUS = 0.10

CODE_BLOCK_WEIGHT = 0.14
CODE_LINES_WEIGHT = 0.08
CODE_LINES_SATURATION = 10
INLINE_CODE_WEIGHT = 0.04

TECHNICAL_WEIGHT = 0.10
TECHNICAL_SATURATION = 4

QUESTIONS_WEIGHT = 0.12
QUESTIONS_SATURATION = 4

REASONING_WEIGHT = 0.24
REASONING_SATURATION = 3

ATTACHMENT_COUNT_WEIGHT = 0.06
ATTACHMENT_COUNT_SATURATION = 3
ATTACHMENT_SIZE_WEIGHT = 0.14
ATTACHMENT_SIZE_SATURATION_CHARS = 100_000

IMAGE_WEIGHT = 0.40
MORE_IMAGES_WEIGHT = 0.10
IMAGE_COUNT_SATURATION = 4

HISTORY_COUNT_WEIGHT = 0.08
HISTORY_COUNT_SATURATION = 20
HISTORY_SIZE_WEIGHT = 0.08
HISTORY_SIZE_SATURATION_CHARS = 50_000

SMALL_TALK_CAP = 0.05
SMALL_TALK_MAX_WORDS = 12


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """What the message itself shows. ``prose`` holds the normalised words of the scanned text
    outside fenced code, for the task classifier's cues."""

    words: int
    prose: Words
    code_blocks: int
    code_lines: int
    inline_code: bool
    questions: int
    numbers: int
    technical_terms: tuple[str, ...]
    reasoning_cues: tuple[str, ...]
    small_talk: bool
    spanish: bool


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What comes with the message: earlier turns, attachments, tools, images."""

    history_messages: int = 0
    history_chars: int = 0
    attachments: int = 0
    attachment_chars: int = 0
    tools: bool = False
    images: int = 0


@dataclass(frozen=True, slots=True)
class Scored:
    complexity: float
    signals: tuple[str, ...]


def read_text(message: str) -> TextFeatures:
    head = message[:SCAN_CHARS]
    words = len(head.split()) + _words_after_head(message)

    code_blocks = 0
    code_lines = 0
    outside: list[str] = []
    position = 0
    for block in _FENCED_BLOCK.finditer(head):
        code_blocks += 1
        code_lines += sum(1 for line in block["body"].splitlines() if line.strip())
        outside.append(head[position : block.start()])
        position = block.end()
    outside.append(head[position:])
    text = "".join(outside)
    code_lines += len(_CODE_LINE.findall(text))

    prose = Words(normalise(text))
    return TextFeatures(
        words=words,
        prose=prose,
        code_blocks=code_blocks,
        code_lines=code_lines,
        inline_code=_INLINE_CODE.search(text) is not None,
        questions=len(_QUESTION.findall(text)),
        numbers=len(_NUMBER.findall(text)),
        technical_terms=TECHNICAL_TERMS.find(prose),
        reasoning_cues=REASONING_CUES.find(prose),
        small_talk=_is_small_talk(prose, words, code_blocks + code_lines),
        spanish=_looks_spanish(text, prose),
    )


def score_complexity(text: TextFeatures, context: RequestContext) -> Scored:
    """The complexity score, rounded to 2 decimals, and the signals that contributed."""
    score = 0.0
    signals: list[str] = []

    if text.words:
        score += LENGTH_WEIGHT * _log_scale(text.words, LENGTH_SATURATION_WORDS)
        signals.append(_count(text.words, "word"))
    if text.words >= LONG_MESSAGE_WORDS:
        score += LONG_MESSAGE_BONUS
    if text.code_blocks:
        score += CODE_BLOCK_WEIGHT
        signals.append(_count(text.code_blocks, "code block"))
    if text.code_lines:
        score += CODE_LINES_WEIGHT * _linear(text.code_lines, CODE_LINES_SATURATION)
        signals.append(_count(text.code_lines, "code line"))
    if text.inline_code:
        score += INLINE_CODE_WEIGHT
        signals.append("inline code")
    if text.technical_terms:
        terms = text.technical_terms
        score += TECHNICAL_WEIGHT * _linear(len(terms), TECHNICAL_SATURATION)
        shown = ", ".join(terms[:3]) + (", ..." if len(terms) > 3 else "")
        signals.append(f"{_count(len(terms), 'technical term')} ({shown})")
    if text.questions:
        score += QUESTIONS_WEIGHT * _linear(text.questions, QUESTIONS_SATURATION)
        signals.append(_count(text.questions, "question"))
    if text.reasoning_cues:
        score += REASONING_WEIGHT * _linear(len(text.reasoning_cues), REASONING_SATURATION)
        signals.extend(f"reasoning cue: {cue}" for cue in text.reasoning_cues)
    if context.attachments:
        score += ATTACHMENT_COUNT_WEIGHT * _linear(context.attachments, ATTACHMENT_COUNT_SATURATION)
        score += ATTACHMENT_SIZE_WEIGHT * _log_scale(
            context.attachment_chars, ATTACHMENT_SIZE_SATURATION_CHARS
        )
        size = f" ({_chars(context.attachment_chars)})" if context.attachment_chars else ""
        signals.append(f"{_count(context.attachments, 'attachment')}{size}")
    if context.images:
        score += IMAGE_WEIGHT + MORE_IMAGES_WEIGHT * _linear(
            context.images - 1, IMAGE_COUNT_SATURATION - 1
        )
        signals.append(_count(context.images, "image"))
    if context.history_messages:
        score += HISTORY_COUNT_WEIGHT * _linear(context.history_messages, HISTORY_COUNT_SATURATION)
        score += HISTORY_SIZE_WEIGHT * _log_scale(
            context.history_chars, HISTORY_SIZE_SATURATION_CHARS
        )
        signals.append(
            f"history: {_count(context.history_messages, 'message')}"
            f" ({_chars(context.history_chars)})"
        )
    if text.small_talk and not context.attachments and not context.images:
        score = min(score, SMALL_TALK_CAP)
        signals.append("small talk")

    return Scored(round(min(1.0, max(0.0, score)), 2), tuple(signals))


def _words_after_head(message: str) -> int:
    """Words that start past the scanned head, counted by the spaces, newlines and tabs before
    them (exact for text with single separators) instead of splitting a megabyte into a list."""
    if len(message) <= SCAN_CHARS:
        return 0
    edge = message[SCAN_CHARS - 1 :]  # the head's last character shows if a word starts at once
    separators = edge.count(" ") + edge.count("\n") + edge.count("\t")
    return separators - (1 if edge[-1].isspace() else 0)


def _log_scale(value: int, saturation: int) -> float:
    """0 at 0, 1 at ``saturation`` and beyond, growing like log(1 + value) between."""
    if value <= 0:
        return 0.0
    return min(1.0, math.log1p(value) / math.log1p(saturation))


def _linear(value: int, saturation: int) -> float:
    return min(1.0, max(0, value) / saturation)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _chars(n: int) -> str:
    return f"{n} chars" if n < 10_000 else f"{n // 1000}k chars"


def _is_small_talk(prose: Words, words: int, code: int) -> bool:
    if code or not 0 < words <= SMALL_TALK_MAX_WORDS or not prose.sequence:
        return False
    return prose.positions.keys() <= _SMALL_TALK_WORDS


def _looks_spanish(text: str, prose: Words) -> bool:
    # Two languages only, so function words decide; a language-detection library would cost
    # import time and memory on every cold start for no better answer on short messages.
    if "¿" in text or "¡" in text or "ñ" in text or "Ñ" in text:
        return True
    spanish = sum(len(prose.positions.get(word, ())) for word in _SPANISH_WORDS)
    english = sum(len(prose.positions.get(word, ())) for word in _ENGLISH_WORDS)
    return spanish > english


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A question mark that ends a clause ("?" before a space, a closing mark or the end), not one
# inside a URL's query string; "??" and "?!" count once.
_QUESTION = re.compile(r"\?+(?=[\s\"')\]»!.]|$)")
_FENCED_BLOCK = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[^\n]*\n(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)
_INLINE_CODE = re.compile(r"(?<!`)`[^`\n]+`(?!`)")
# Lines that read as code outside fences: declarations and imports, statements ending in
# ";" or opening/closing a brace, bare calls, SQL, shell and REPL prompts. Case-sensitive, so a
# sentence starting "Import the data..." is prose.
_CODE_LINE = re.compile(
    r"^[ \t]*(?:"
    r"(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(.*"
    r"|class[ \t]+\w+.*[:{][ \t]*"
    r"|import[ \t]+[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*;?"
    r"|from[ \t]+[\w.]+[ \t]+import[ \t]+.+"
    r"|(?:const|let|var)[ \t]+\w+[ \t]*=.*"
    r"|(?:function[ \t]*\w*|fn[ \t]+\w+|func[ \t]+\w+)[ \t]*\(.*"
    r"|(?:public|private|protected|#include|#!/|package[ \t]+\w+;).*"
    r"|(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)[ \t].*\b(?:FROM|INTO|SET|TABLE)\b.*"
    r"|(?:\$|>>>)[ \t]+\S.*"
    r"|[\w.\[\]]+\(.*\)[ \t]*;?"
    r"|.*(?:;|\{|\}|\};|\);)"
    r")[ \t]*$",
    re.MULTILINE,
)

TECHNICAL_TERMS = PhraseSet(
    (
        # English
        "algorithm", "api", "endpoint", "database", "sql", "nosql", "query", "schema",
        "transaction", "latency", "throughput", "concurrency", "thread", "async",
        "asynchronous", "mutex", "deadlock", "race condition", "cache", "memory leak",
        "garbage collector", "pointer", "compiler", "runtime", "kernel", "tcp", "udp", "http",
        "dns", "tls", "rest api", "graphql", "grpc", "json", "regex", "regular expression",
        "recursion", "big o", "time complexity", "data structure", "hash table", "hash map",
        "binary tree", "linked list", "docker", "kubernetes", "microservice", "serverless",
        "aws", "terraform", "ci/cd", "deployment", "load balancer", "sharding", "replication",
        "distributed system", "encryption", "authentication", "oauth", "jwt",
        "neural network", "machine learning", "gradient", "backpropagation", "embedding",
        "eigenvalue", "integral", "derivative", "differential equation", "theorem",
        "probability", "bayesian", "regression", "statistical significance", "p-value",
        "python", "javascript", "typescript", "rust", "golang", "java",
        # Spanish
        "algoritmo", "base de datos", "consulta sql", "esquema", "transacción", "latencia",
        "concurrencia", "hilo de ejecución", "asíncrono", "bloqueo mutuo", "caché",
        "fuga de memoria", "puntero", "compilador", "recursividad", "recursión",
        "estructura de datos", "árbol binario", "lista enlazada", "contenedor",
        "microservicio", "despliegue", "balanceador de carga", "replicación",
        "sistema distribuido", "cifrado", "autenticación", "red neuronal",
        "aprendizaje automático", "gradiente", "autovalor", "derivada",
        "ecuación diferencial", "teorema", "probabilidad", "regresión",
        "significancia estadística", "servidor",
    )
)  # fmt: skip

REASONING_CUES = PhraseSet(
    (
        # English
        "step by step", "explain why", "why", "how come", "prove", "proof", "derive",
        "justify", "compare", "comparison", "trade-off", "tradeoff", "pros and cons",
        "analyze", "analyse", "analysis", "evaluate", "reason through", "think through",
        "walk me through", "in depth", "root cause", "implications", "what if",
        # Spanish
        "paso a paso", "explica por qué", "por qué", "demuestra", "demostrar",
        "demostración", "deriva", "justifica", "compara", "comparar", "comparación",
        "ventajas y desventajas", "pros y contras", "analiza", "analizar", "análisis",
        "evalúa", "evaluar", "razona", "a fondo", "causa raíz", "implicaciones", "qué pasaría si",
    )
)  # fmt: skip

_SMALL_TALK_WORDS = frozenset(
    normalise(word)
    for word in (
        # English
        "hi", "hello", "hey", "hiya", "yo", "howdy", "good", "morning", "afternoon", "evening",
        "night", "day", "how", "are", "you", "doing", "today", "is", "it", "going", "what",
        "up", "sup", "i", "m", "s", "fine", "great", "well", "ok", "okay", "thanks", "thank",
        "thx", "ty", "so", "much", "very", "nice", "cool", "awesome", "bye", "goodbye", "see",
        "later", "cheers", "and", "the", "there", "all", "alright", "pretty", "not", "bad",
        "too", "welcome", "pleased", "to", "meet", "again",
        # Spanish
        "hola", "buenos", "buenas", "días", "tardes", "noches", "qué", "tal", "cómo", "estás",
        "está", "usted", "y", "tú", "bien", "muy", "gracias", "muchas", "mil", "vale", "adiós",
        "hasta", "luego", "pronto", "mañana", "saludos", "genial", "perfecto", "de", "nada",
        "igualmente", "encantado", "encantada", "todo", "va", "el", "día",
    )
)  # fmt: skip
_SPANISH_WORDS = frozenset(
    (
        "el", "la", "los", "las", "de", "del", "que", "en", "por", "para", "una", "un", "es",
        "son", "con", "como", "pero", "mas", "este", "esta", "mi", "su", "se", "lo", "al", "y",
        "hola", "gracias", "cual", "donde", "cuando", "quien", "puedes", "porque",
    )
)  # fmt: skip
_ENGLISH_WORDS = frozenset(
    (
        "the", "and", "is", "are", "of", "to", "in", "what", "how", "with", "for", "this",
        "that", "it", "you", "i", "my", "be", "can", "on", "a", "an", "why", "does", "do",
        "which", "who", "when", "where", "please",
    )
)  # fmt: skip
