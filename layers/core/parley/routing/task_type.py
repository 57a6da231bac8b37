"""What kind of task a request is, so the router can prefer the models that are good at it.

Two facts of the request decide outright, because they say what the model must do:
tools or functions in the request make it ``function_calling``; attachments with a message that
asks for something done with them make it ``file_processing``. Otherwise each remaining type
collects points from its cues (English and Spanish phrases, matched on accent-free text) and
from what the text shows (code, numbers in a question), and the most points win; ties go to the
type listed first in ``_PRIORITY`` (a coding task that mentions a poem is still coding work).
With no cue at all, a greeting or a short plain question is ``general_chat`` and anything else
is ``other``. Pure and deterministic, like the complexity score it runs beside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, get_args

from parley.routing.phrases import PhraseSet, normalise

if TYPE_CHECKING:
    from parley.routing.complexity import RequestContext, TextFeatures

__all__ = ["TASK_TYPES", "TaskType", "classify"]

TaskType = Literal[
    "general_chat",
    "coding",
    "analysis",
    "reasoning",
    "creative",
    "file_processing",
    "function_calling",
    "other",
]
TASK_TYPES: Final[tuple[TaskType, ...]] = get_args(TaskType)

# Points per cue: a phrase that names the task outright ("write a poem", "prove") is worth more
# than a word that often comes with it ("python", "why").
STRONG_CUE = 2
WEAK_CUE = 1
CODE_PRESENT = 3  # a fenced block or code lines: whatever is asked is about that code
NUMBERS_IN_A_QUESTION = 2  # "a train leaves at 3 and travels 60 km/h...": a word problem
PLAIN_QUESTION_MAX_WORDS = 30

_PRIORITY: tuple[TaskType, ...] = (
    "function_calling",
    "coding",
    "reasoning",
    "analysis",
    "creative",
)

_STRUCTURED_OUTPUT = PhraseSet(
    (
        "as json", "in json", "json format", "json object", "json schema", "valid json",
        "structured output", "function calling", "function call", "tool call", "call the api",
        "call an api", "call this api", "api call", "call the function", "call this function",
        "use the tool", "en json", "como json", "formato json", "objeto json",
        "salida estructurada", "llama a la api", "llamada a la api", "llama a la función",
        "usa la herramienta",
    )
)  # fmt: skip
_CODING_STRONG = PhraseSet(
    (
        "code", "coding", "programming", "bug", "debug", "stack trace", "traceback",
        "exception", "compile", "compiler error", "refactor", "unit test", "implement",
        "snippet", "pull request", "function that", "script that", "código", "programación",
        "depurar", "depura", "excepción", "compilar", "refactoriza", "prueba unitaria",
        "implementa", "implementar", "función que", "script que",
    )
)  # fmt: skip
_CODING_WEAK = PhraseSet(
    (
        "python", "javascript", "typescript", "java", "rust", "golang", "kotlin", "swift",
        "ruby", "php", "sql", "bash", "regex", "function", "framework", "api", "endpoint",
        "git", "react", "django", "fastapi", "función", "librería",
    )
)  # fmt: skip
_REASONING_STRONG = PhraseSet(
    (
        # not "logic" alone: "retry logic", "business logic" are code
        "prove", "proof", "theorem", "lemma", "step by step", "logic puzzle", "logically",
        "puzzle", "riddle", "deduce", "derive", "solve", "calculate", "equation",
        "derivative", "integral", "explain why", "reason through", "think through",
        "demuestra", "demostrar", "demostración", "teorema", "paso a paso", "acertijo lógico",
        "acertijo", "adivinanza", "resuelve", "resolver", "calcula", "calcular", "ecuación",
        "derivada", "explica por qué", "razona",
    )
)  # fmt: skip
_REASONING_WEAK = PhraseSet(
    ("why", "how many", "how much", "how long", "por qué", "cuántos", "cuántas", "cuánto")
)
_ANALYSIS_STRONG = PhraseSet(
    (
        "analyze", "analyse", "analysis", "summarize", "summarise", "summary", "compare",
        "comparison", "contrast", "evaluate", "assess", "breakdown", "correlation",
        "key points", "takeaways", "pros and cons", "trade-off", "tradeoff", "versus",
        "analiza", "analizar", "análisis", "resume", "resumir", "resumen", "compara",
        "comparar", "comparación", "evalúa", "evaluar", "conclusiones",
        "ventajas y desventajas", "pros y contras",
    )
)  # fmt: skip
_ANALYSIS_WEAK = PhraseSet(
    (
        "data", "dataset", "metrics", "statistics", "trends", "insights", "report",
        "datos", "métricas", "estadísticas", "tendencias", "informe",
    )
)  # fmt: skip
_CREATIVE = PhraseSet(
    (
        "poem", "poetry", "story", "short story", "tale", "fairy tale", "slogan", "tagline",
        "lyrics", "song", "haiku", "limerick", "sonnet", "rhyme", "joke", "fiction",
        "screenplay", "write a novel", "ad copy", "catchy", "brainstorm", "creative",
        "poema", "poesía", "cuento", "relato", "escribe una historia", "cuéntame una historia",
        "eslogan", "lema", "letra de una canción", "canción", "soneto", "rima", "chiste",
        "ficción", "guion", "novela", "trama", "creativo", "creativa",
    )
)  # fmt: skip
_GREETING = PhraseSet(
    (
        "hi", "hello", "hey", "good morning", "good afternoon", "good evening", "thanks",
        "thank you", "how are you", "hola", "buenos días", "buenas tardes", "buenas noches",
        "gracias", "qué tal", "cómo estás",
    )
)  # fmt: skip
# With attachments: a reference to them, or something to do that needs them.
_FILE_ASK = PhraseSet(
    (
        "attached", "attachment", "this file", "the file", "these files", "this document",
        "the document", "this pdf", "the pdf", "this image", "the image", "this spreadsheet",
        "the spreadsheet", "the csv", "this csv", "summarize", "summarise", "extract",
        "convert", "parse", "translate", "read", "review", "analyze", "analyse", "what does it say",
        "adjunto", "adjunta", "archivo", "documento", "este pdf", "el pdf", "imagen",
        "hoja de cálculo", "resume", "resumir", "extrae", "extraer", "convierte", "traduce",
        "lee", "revisa", "analiza", "qué dice",
    )
)  # fmt: skip
_INTERROGATIVE_WORDS = frozenset(
    normalise(word)
    for word in (
        "what", "who", "when", "where", "which", "how", "is", "are", "can", "could", "do",
        "does", "qué", "quién", "cuándo", "dónde", "cuál", "cuáles", "cómo", "puedes", "sabes",
    )
)  # fmt: skip


def classify(text: TextFeatures, context: RequestContext) -> tuple[TaskType, str]:
    """The task type and the evidence for it, a short phrase such as ``"cue: poem"``."""
    if context.tools:
        return "function_calling", "tools in the request"
    if context.attachments:
        asks = _FILE_ASK.find(text.prose)
        if asks:
            return "file_processing", f"attachments, cue: {asks[0]}"
    return _by_points(text) or _without_cues(text)


def _by_points(text: TextFeatures) -> tuple[TaskType, str] | None:
    prose = text.prose
    points: dict[TaskType, int] = dict.fromkeys(_PRIORITY, 0)
    evidence: dict[TaskType, str] = {}

    def add(task: TaskType, found: tuple[str, ...], weight: int) -> None:
        if found:
            points[task] += weight * len(found)
            evidence.setdefault(task, f"cue: {found[0]}")

    if text.code_blocks or text.code_lines:
        points["coding"] += CODE_PRESENT
        evidence["coding"] = "code in the message"
    elif text.inline_code:
        points["coding"] += WEAK_CUE
        evidence["coding"] = "inline code"
    add("function_calling", _STRUCTURED_OUTPUT.find(prose), STRONG_CUE)
    add("coding", _CODING_STRONG.find(prose), STRONG_CUE)
    add("coding", _CODING_WEAK.find(prose), WEAK_CUE)
    add("reasoning", _REASONING_STRONG.find(prose), STRONG_CUE)
    add("reasoning", _REASONING_WEAK.find(prose), WEAK_CUE)
    if text.numbers >= 2 and text.questions:
        points["reasoning"] += NUMBERS_IN_A_QUESTION
        evidence.setdefault("reasoning", "numbers in a question")
    add("analysis", _ANALYSIS_STRONG.find(prose), STRONG_CUE)
    add("analysis", _ANALYSIS_WEAK.find(prose), WEAK_CUE)
    add("creative", _CREATIVE.find(prose), STRONG_CUE)

    best = max(_PRIORITY, key=lambda task: points[task])  # max keeps the first of equals
    return (best, evidence[best]) if points[best] else None


def _without_cues(text: TextFeatures) -> tuple[TaskType, str]:
    if text.small_talk:
        return "general_chat", "small talk"
    greeting = _GREETING.leading(text.prose)
    if greeting:
        return "general_chat", f"greeting: {greeting}"
    first_word = text.prose.sequence[0] if text.prose.sequence else ""
    if 0 < text.words <= PLAIN_QUESTION_MAX_WORDS and (
        text.questions or first_word in _INTERROGATIVE_WORDS
    ):
        return "general_chat", "a plain question"
    return "other", "no task cue"
