"""Request analysis for routing: task types and complexity bands in English and Spanish, the
properties the router relies on (monotone, clamped, deterministic, bounded work), and the
reason string."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import Any

import pytest

from parley.routing.analysis import TASK_TYPES, Analysis, AttachmentInfo, analyse
from parley.routing.complexity import LONG_MESSAGE_BONUS, SCAN_CHARS
from parley.routing.phrases import normalise
from tests.conftest import REPO

# The router's tiers: light below LIGHT_MAX, heavy above HEAVY_MIN, standard between.
LIGHT_MAX = 0.5
HEAVY_MIN = 0.75

CODE = """
```python
@app.get("/orders/{user_id}")
async def orders(user_id: int, db: Session = Depends(get_db)):
    rows = db.execute(select(Order).where(Order.user_id == user_id)).all()
    total = sum(r.amount for r in rows)
    return {"orders": [r.id for r in rows], "total": total}
```
"""

TECHNICAL_EN = f"""I'm building a REST API in Python with FastAPI and PostgreSQL, and under load the
p99 latency jumps from 40 ms to over two seconds. The endpoint runs one query per request inside a
transaction, and I use a connection pool of ten. Here is the handler:
{CODE}
I suspect the pool is exhausted because the session is synchronous while the endpoint is async.
Is that the cause, and what should I change to keep latency stable with 200 concurrent users?"""

TECHNICAL_ES = f"""Estoy construyendo una API REST en Python con FastAPI y PostgreSQL, y con carga
la latencia p99 pasa de 40 ms a más de dos segundos. El endpoint hace una consulta SQL por petición
dentro de una transacción y uso un pool de diez conexiones. Este es el manejador:
{CODE}
Sospecho que el pool se agota porque la sesión es síncrona mientras el endpoint es asíncrono.
¿Es esa la causa, y qué debo cambiar para mantener estable la latencia con 200 usuarios a la vez?"""

CSV_EN = """My Python script that reads a CSV file is slow and I do not understand where the time
goes. The file has about two million rows and I only need the rows where the status column is
active. It takes almost a full minute on every single run on my laptop and the memory keeps
growing until it finishes. Here it is:

```python
import csv
rows = [r for r in csv.DictReader(open("data.csv")) if r["status"] == "active"]
print(len(rows))
```

What is a faster way to do this that does not load everything into memory at once, and should I
use pandas for it?"""

CSV_ES = """Mi script de Python que lee un archivo CSV es lento y no entiendo en qué se va el
tiempo. El archivo tiene unos dos millones de filas y solo necesito las filas cuya columna de
estado es activa. Tarda casi un minuto entero en cada ejecución en mi portátil y la memoria no
deja de crecer hasta que termina. Aquí está:

```python
import csv
rows = [r for r in csv.DictReader(open("data.csv")) if r["status"] == "active"]
print(len(rows))
```

¿Cuál es una forma más rápida de hacerlo sin cargar todo en memoria a la vez, y debería usar
pandas para ello?"""

BILLING_CODE = """
```python
def record_payment(db, invoice_id, amount):
    with db.transaction():
        invoice = db.get(Invoice, invoice_id)
        invoice.paid += amount
        if invoice.paid >= invoice.total:
            invoice.status = "paid"
        db.add(Payment(invoice_id=invoice_id, amount=amount))
```
"""

HEAVY_EN = f"""We are choosing between an event-sourced design and a plain CRUD database for our
billing service, and I want you to reason about it step by step. Our current service is below; it
writes invoices and payments in one transaction, and we replay nothing today.
{BILLING_CODE}
First, why would event sourcing help with auditing here, and what are the trade-offs for
consistency and latency? Second, how would you migrate the existing records without downtime?
Third, how do we handle concurrency when two payments for the same invoice arrive at once?
Finally, compare the operational cost of both options for a team of four engineers, and prove
that your migration keeps every invoice total unchanged."""

HEAVY_ES = f"""Estamos eligiendo entre un diseño con event sourcing y una base de datos CRUD simple
para nuestro servicio de facturación, y quiero que lo razones paso a paso. El servicio actual está
abajo; escribe facturas y pagos en una sola transacción y hoy no reproducimos nada.
{BILLING_CODE}
Primero, ¿por qué ayudaría event sourcing con la auditoría, y cuáles son las ventajas y
desventajas para la consistencia y la latencia? Segundo, ¿cómo migrarías los registros existentes
sin cortar el servicio? Tercero, ¿cómo manejamos la concurrencia cuando llegan a la vez dos pagos
de la misma factura? Por último, compara el coste operativo de ambas opciones para un equipo de
cuatro ingenieros y demuestra que la migración no cambia el total de ninguna factura."""

RETRY_EN = """I need help designing the retry logic for our payment worker, and I want you to walk
through it step by step. We process about forty thousand charges a day, and the bank asks clients
to back off when it returns 429 or 503. Right now every failure is retried five times with no
delay, which hammers the bank's API during outages. Here is the loop:

```python
for attempt in range(5):
    try:
        return charge(card, amount)
    except BankError:
        continue
```

How should the backoff grow between attempts? Which errors should never be retried? How do we
keep a retry from charging the customer twice? Please explain why each choice is safe."""

TRIP_EN = """I have been thinking about planning a trip to Portugal next spring with my family. We
would like to visit Lisbon and Porto, spend a few days on the coast, and maybe see some vineyards
along the Douro river. My kids are eight and eleven, so we need activities that keep them
interested, and my parents are coming too, so nothing too strenuous. We prefer trains to driving
if possible. Could you suggest a rough ten day itinerary with places to stay and a couple of
restaurants in each city that are friendly to children and not too expensive, please?"""

TRIP_ES = """Llevo un tiempo pensando en organizar un viaje a Portugal la próxima primavera con mi
familia. Nos gustaría visitar Lisboa y Oporto, pasar unos días en la costa y quizá ver algunos
viñedos junto al río Duero. Mis hijos tienen ocho y once años, así que necesitamos actividades
que los mantengan interesados, y mis padres vienen también, así que nada demasiado cansado.
Preferimos el tren al coche si es posible. ¿Podrías sugerir un itinerario de unos diez días con
sitios donde dormir y un par de restaurantes en cada ciudad que sean buenos para niños y no muy
caros, por favor?"""

LONG_HISTORY = tuple(
    f"Turn {n}: here is how the worker is structured today, with the details you asked for. "
    + "More context about queues, retries and the bank's API. " * 20
    for n in range(12)
)


@pytest.mark.parametrize(
    ("message", "extra", "expected"),
    [
        # general_chat: greetings, small talk, a plain question
        ("hi, how are you?", {}, "general_chat"),
        ("hola, ¿qué tal?", {}, "general_chat"),
        ("Good morning! Can you help me today?", {}, "general_chat"),
        ("¡Buenos días! ¿Me puedes ayudar hoy?", {}, "general_chat"),
        ("What is the capital of Australia?", {}, "general_chat"),
        ("¿Cuál es la capital de Australia?", {}, "general_chat"),
        # coding
        ("How do I reverse a list in Python?", {}, "coding"),
        ("¿Cómo invierto una lista en Python?", {}, "coding"),
        ("Write a function that removes duplicates from a list", {}, "coding"),
        ("Escribe una función que elimine duplicados de una lista", {}, "coding"),
        ("Why does this fail?\n\nconst total = items.length;\nconsole.log(total);", {}, "coding"),
        (TECHNICAL_EN, {}, "coding"),
        (TECHNICAL_ES, {}, "coding"),
        # creative
        ("Write a poem about the sea", {}, "creative"),
        ("Escribe un poema sobre el mar", {}, "creative"),
        ("Give me a catchy slogan for a coffee shop", {}, "creative"),
        ("Inventa un eslogan para una cafetería", {}, "creative"),
        ("Tell me a short story about a dragon who is afraid of the dark", {}, "creative"),
        ("Cuéntame un cuento sobre un dragón que tiene miedo a la oscuridad", {}, "creative"),
        # analysis
        ("Summarize the main trends in this quarter's sales figures", {}, "analysis"),
        ("Resume las tendencias principales de las ventas de este trimestre", {}, "analysis"),
        ("Compare the churn of the two pricing plans and list the key takeaways", {}, "analysis"),
        ("Analiza los resultados de la encuesta y saca conclusiones", {}, "analysis"),
        # reasoning
        ("Prove that the square root of 2 is irrational.", {}, "reasoning"),
        ("Demuestra que la raíz cuadrada de 2 es irracional.", {}, "reasoning"),
        (
            "A train leaves at 3 pm at 60 km/h and another at 4 pm at 80 km/h. "
            "When does the second one catch up?",
            {},
            "reasoning",
        ),
        (
            "Un tren sale a las 3 a 60 km/h y otro a las 4 a 80 km/h. ¿Cuándo lo alcanza?",
            {},
            "reasoning",
        ),
        ("Solve this logic puzzle step by step: three boxes, one lie...", {}, "reasoning"),
        ("Resuelve este acertijo paso a paso: tres cajas, una mentira...", {}, "reasoning"),
        (HEAVY_EN, {}, "reasoning"),
        (HEAVY_ES, {}, "reasoning"),
        # function_calling: tools in the request, structured output, calling an API
        ("What's the weather in Madrid?", {"tools": True}, "function_calling"),
        ("¿Qué tiempo hace en Madrid?", {"tools": True}, "function_calling"),
        ("Return the list of cities as JSON", {}, "function_calling"),
        ("Devuelve la lista de ciudades en formato JSON", {}, "function_calling"),
        ("Call the API to get today's exchange rate", {}, "function_calling"),
        ("Llama a la API para obtener el tipo de cambio de hoy", {}, "function_calling"),
        # file_processing: attachments and a message that asks for something done with them
        (
            "Summarize the attached report",
            {"attachments": [AttachmentInfo("q3.pdf", 40_000)]},
            "file_processing",
        ),
        (
            "Resume el documento adjunto",
            {"attachments": [AttachmentInfo("q3.pdf", 40_000)]},
            "file_processing",
        ),
        (
            "Extract the totals from these files",
            {"attachments": [AttachmentInfo("a.csv", 900), AttachmentInfo("b.csv", 800)]},
            "file_processing",
        ),
        (
            "Traduce este archivo al inglés",
            {"attachments": [AttachmentInfo("carta.txt", 2_000)]},
            "file_processing",
        ),
        # attachments alone do not make file work: a greeting is still a greeting
        ("hi!", {"attachments": [AttachmentInfo("photo.png")]}, "general_chat"),
        # other: nothing fits
        ("The meeting moved to Thursday.", {}, "other"),
        ("La reunión se movió al jueves.", {}, "other"),
        ("Translate 'good morning' into French", {}, "other"),
        ("", {}, "other"),
    ],
)
def test_task_type(message: str, extra: dict[str, Any], expected: str) -> None:
    result = analyse(message, **extra)
    assert result.task_type == expected, result.reason()
    assert result.task_type in TASK_TYPES


@pytest.mark.parametrize(
    "message",
    [
        "hi, how are you?",
        "hola, ¿qué tal?",
        "Hello! How are you doing today?",
        "¡Buenos días! ¿Cómo estás?",
        "thanks!",
        "¡muchas gracias!",
    ],
)
def test_small_talk_is_near_zero(message: str) -> None:
    result = analyse(message)
    assert 0.0 <= result.complexity <= 0.1, result.reason()
    # however long the conversation before it
    assert analyse(message, history=LONG_HISTORY).complexity <= 0.1


@pytest.mark.parametrize(
    "message",
    [
        "What is the capital of Australia?",
        "¿Cuál es la capital de Australia?",
        "Who wrote One Hundred Years of Solitude?",
        "¿Quién escribió Cien años de soledad?",
        "What is the difference between TCP and UDP?",
        "¿Cuál es la diferencia entre TCP y UDP?",
        "Why is the sky blue?",
        "¿Por qué el cielo es azul?",
    ],
)
def test_a_one_line_question_is_light(message: str) -> None:
    result = analyse(message)
    assert 0.1 <= result.complexity <= 0.3, result.reason()


@pytest.mark.parametrize("message", [TRIP_EN, TRIP_ES])
def test_a_long_everyday_request_stays_light(message: str) -> None:
    result = analyse(message)
    assert result.complexity < LIGHT_MAX, result.reason()
    assert "words" in result.reason()


@pytest.mark.parametrize("message", [TECHNICAL_EN, TECHNICAL_ES, CSV_EN, CSV_ES])
def test_a_100_word_technical_question_with_code_is_standard(message: str) -> None:
    result = analyse(message)
    assert len(message.split()) >= 100
    assert LIGHT_MAX <= result.complexity <= HEAVY_MIN, result.reason()


@pytest.mark.parametrize("message", [HEAVY_EN, HEAVY_ES, RETRY_EN])
def test_a_long_multi_question_reasoning_request_with_code_and_history_is_heavy(
    message: str,
) -> None:
    result = analyse(message, history=LONG_HISTORY)
    assert result.complexity > HEAVY_MIN, result.reason()
    assert any(signal.startswith("reasoning cue: ") for signal in result.signals)


def test_crossing_100_words_raises_the_score_noticeably() -> None:
    sentence = "We walked along the quiet river and talked about the old town. "  # 12 words
    ninety_nine = (sentence * 9).split()[:99]
    below = analyse(" ".join(ninety_nine))
    above = analyse(" ".join([*ninety_nine, "again"]))
    assert "99 words" in below.signals
    assert "100 words" in above.signals
    assert above.complexity - below.complexity >= LONG_MESSAGE_BONUS - 0.01


# --- monotonicity: adding code, words, questions, history or attachments never lowers it ---

BASES = [
    "",
    "hi",
    "hola, ¿qué tal?",
    "What is the capital of Australia?",
    "Escribe un poema sobre el mar",
    "Why is my query slow?",
    TRIP_EN,
    TECHNICAL_ES,
    CSV_EN,
    HEAVY_EN,
]
ADDITIONS = {
    "words": " We also keep a small garden behind the house, with tomatoes and some herbs.",
    "spanish words": " También tenemos un pequeño huerto detrás de la casa, con tomates.",
    "technical words": " It runs on Kubernetes behind a load balancer with a Redis cache.",
    "code block": "\n\n```python\nresult = compute(items)\nprint(result)\n```\n",
    "code lines": "\n\nconst total = items.length;\nif (total > 0) {\n  render(total);\n}\n",
    "inline code": " I call `compute()` first.",
    "question": "\n\nAnd what happens when the input is empty?",
    "spanish question": "\n\n¿Y qué pasa si la entrada está vacía?",
    "reasoning cue": " Explain it step by step and compare the trade-offs.",
}


def score(message: str, **extra: Any) -> float:
    return analyse(message, **extra).complexity


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("addition", ADDITIONS)
def test_adding_to_the_message_never_lowers_the_score(base: str, addition: str) -> None:
    assert score(base + ADDITIONS[addition]) >= score(base)


@pytest.mark.parametrize("base", BASES)
def test_adding_history_or_attachments_never_lowers_the_score(base: str) -> None:
    history: tuple[str, ...] = ()
    attachments: tuple[AttachmentInfo, ...] = ()
    previous = score(base)
    for n in range(25):
        history = (*history, f"earlier message {n} " * (n + 1))
        current = score(base, history=history, attachments=attachments)
        assert current >= previous
        previous = current
    for n in range(5):
        attachments = (*attachments, AttachmentInfo(f"f{n}.txt", 10 ** (n + 1)))
        current = score(base, history=history, attachments=attachments)
        assert current >= previous
        previous = current


@pytest.mark.parametrize("seed", range(20))
def test_building_a_request_piece_by_piece_never_lowers_the_score(seed: int) -> None:
    pick = random.Random(seed)
    message = pick.choice(BASES)
    history: list[str] = []
    previous = score(message)
    for _ in range(12):
        if pick.random() < 0.2:
            history.append(pick.choice(BASES) or "ok")
        else:
            message += ADDITIONS[pick.choice(list(ADDITIONS))]
        current = score(message, history=history)
        assert current >= previous, (seed, message, history)
        previous = current


# --- bounds, determinism, bounded work ---

EVERYTHING = (HEAVY_EN + ADDITIONS["code lines"] + ADDITIONS["question"] * 5) * 8


def test_the_score_is_clamped_to_one() -> None:
    result = analyse(
        EVERYTHING,
        history=LONG_HISTORY * 5,
        attachments=[AttachmentInfo(f"f{n}.txt", 500_000) for n in range(10)],
    )
    assert result.complexity == 1.0


def test_nonsense_sizes_do_not_push_the_score_below_zero() -> None:
    result = analyse("", attachments=[AttachmentInfo("broken", -5)], history=["", ""])
    assert 0.0 <= result.complexity <= 1.0


@pytest.mark.parametrize("message", ["", " ", "   \n\t  \n", "\u00a0\u2003"])
def test_an_empty_or_blank_message(message: str) -> None:
    result = analyse(message)
    assert result.complexity == 0.0
    assert result.task_type == "other"
    assert result.signals[0] == "empty message"
    assert result.reason().startswith("complexity 0.00 (empty message)")


@pytest.mark.parametrize("message", [HEAVY_ES, TECHNICAL_EN, "hi, how are you?", ""])
def test_the_same_request_gives_the_same_analysis(message: str) -> None:
    first = analyse(message, history=LONG_HISTORY, attachments=[AttachmentInfo("a", 10)])
    second = analyse(message, history=list(LONG_HISTORY), attachments=(AttachmentInfo("a", 10),))
    assert first == second
    assert first.reason() == second.reason()


def test_the_analysis_does_not_depend_on_the_hash_seed() -> None:
    # Phrase matching goes through sets and dicts; the answer must not follow their order.
    probe = (
        "import json\n"
        "from parley.routing.analysis import analyse\n"
        f"messages = {json.dumps([HEAVY_EN, HEAVY_ES, TECHNICAL_ES])}\n"
        "print(json.dumps([analyse(m).reason() for m in messages]))\n"
    )
    outputs = set()
    for seed in ("1", "2", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("prose", "lorem ipsum dolor sit amet, consectetur " * 25_000),
        ("one huge word", "x" * 1_000_000),
        ("newlines", "\n" * 1_000_000),
        ("question marks", "why? " * 200_000),
        ("backticks", "`" * 1_000_000),
        ("unclosed fences", "```\n" * 250_000),
        ("parentheses", "a(" * 500_000),
        ("code lines", "x = f(y);\n" * 100_000),
        ("accented spanish", "¿Por qué la función es más rápida? " * 30_000),
    ],
)
def test_a_megabyte_message_finishes_within_bounds(name: str, message: str) -> None:
    assert len(message) >= 1_000_000, name
    result = analyse(message, history=[message], attachments=[AttachmentInfo("big", 10**9)])
    assert 0.0 <= result.complexity <= 1.0
    assert result.task_type in TASK_TYPES


def test_words_past_the_scanned_head_are_still_counted() -> None:
    message = "lorem ipsum dolor sit amet " * 40_000  # 200,000 words, about 1 MB
    assert len(message) > SCAN_CHARS
    assert "200000 words" in analyse(message).signals


# --- what the signals read ---


def test_the_reason_names_the_signals() -> None:
    result = analyse(HEAVY_ES, history=LONG_HISTORY)
    reason = result.reason()
    assert reason.startswith(f"complexity {result.complexity:.2f} (")
    assert reason.endswith("; task reasoning (cue: paso a paso)")
    for signal in (
        "1 code block",
        "7 code lines",
        "3 questions",
        "reasoning cue: paso a paso",
        "reasoning cue: por qué",
        "reasoning cue: ventajas y desventajas",
        "reasoning cue: demuestra",
        "history: 12 messages",
        "spanish",
    ):
        assert signal in reason
        assert any(s.startswith(signal) for s in result.signals)


def test_a_simple_reason_reads_as_one_line() -> None:
    assert analyse("hi, how are you?").reason() == (
        "complexity 0.05 (4 words, 1 question, small talk); task general_chat (small talk)"
    )
    reason = analyse(
        "Summarize the attached report", attachments=[AttachmentInfo("r.pdf", 40_000)]
    ).reason()
    assert "1 attachment (40k chars)" in reason
    assert reason.endswith("; task file_processing (attachments, cue: summarize)")
    tools = analyse("What's the weather in Madrid?", tools=True)
    assert "tools" in tools.signals
    assert tools.reason().endswith("; task function_calling (tools in the request)")


def test_analysis_is_a_frozen_value() -> None:
    result = analyse("hi")
    assert isinstance(result, Analysis)
    with pytest.raises(AttributeError):
        result.complexity = 1.0  # type: ignore[misc]
    assert isinstance(result.signals, tuple)


# --- reading the text ---


def test_normalising_drops_accents_and_case() -> None:
    assert normalise("¿Por Qué? ANÁLISIS, Niño, Über") == "¿por que? analisis, nino, uber"
    assert normalise("plain ASCII") == "plain ascii"


@pytest.mark.parametrize(
    ("with_accents", "without_accents"),
    [
        ("¿Por qué falla la caché?", "por que falla la cache?"),
        ("Demuéstralo paso a paso y compáralo", "Demuestralo paso a paso y comparalo"),
        (
            "Haz un análisis de las ventajas y desventajas",
            "haz un analisis de ventajas y desventajas",
        ),
    ],
)
def test_spanish_matches_with_or_without_accents(with_accents: str, without_accents: str) -> None:
    def cues(message: str) -> set[str]:
        return {s for s in analyse(message).signals if s.startswith(("reasoning cue", "technical"))}

    assert cues(with_accents) == cues(without_accents)
    assert cues(with_accents)


@pytest.mark.parametrize(
    ("message", "questions"),
    [
        ("See https://example.com/search?q=1&page=2 for details.", 0),
        ("Really?? Why?!", 2),
        ("¿Qué es esto? ¿Y aquello?", 2),
        ("What about (the other one?) and this?", 2),
    ],
)
def test_questions_are_counted_by_clause(message: str, questions: int) -> None:
    signals = analyse(message).signals
    found = [s for s in signals if s.endswith(("question", "questions"))]
    if questions == 0:
        assert found == []
    else:
        assert found == [f"{questions} question{'s' if questions > 1 else ''}"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Import the data into Excel and sort it by date.", set()),
        ("What does `lru_cache` do?", {"inline code"}),
        ("const total = items.length;\nconsole.log(total);", {"2 code lines"}),
        ("def add(a, b):\n    return a + b", {"1 code line"}),
        ("SELECT id FROM users WHERE active = 1", {"1 code line"}),
        ("```\nplain text in a fence\n\nsecond line\n```", {"1 code block", "2 code lines"}),
        ("~~~sql\nselect 1\n~~~", {"1 code block", "1 code line"}),
    ],
)
def test_code_is_recognised(message: str, expected: set[str]) -> None:
    signals = set(analyse(message).signals)
    code_signals = {s for s in signals if "code" in s}
    assert code_signals == expected


def test_overlapping_cues_count_once() -> None:
    # "explain why" is one cue, not "explain why" and "why"
    cues = [s for s in analyse("Explain why it breaks").signals if s.startswith("reasoning")]
    assert cues == ["reasoning cue: explain why"]


def test_cues_in_fenced_code_are_not_requests() -> None:
    result = analyse("Fix this:\n```\n# why does step by step fail? prove it\nrun()\n```")
    assert not any(s.startswith("reasoning cue") for s in result.signals)
    assert result.task_type == "coding"


def test_an_image_is_a_heavy_signal_that_grows_with_more() -> None:
    question = "What is in this picture?"
    alone = analyse(question)
    one, four, many = (analyse(question, images=n) for n in (1, 4, 9))
    assert alone.complexity < 0.3
    assert one.complexity >= 0.5  # a short question about a picture reaches the standard tier
    assert one.complexity < four.complexity == many.complexity  # saturates at 4
    assert "1 image" in one.signals
    assert "4 images" in four.signals
    # Small talk with a picture is not small talk.
    assert analyse("hi!", images=1).complexity > analyse("hi!").complexity
    assert "small talk" not in analyse("hi!", images=1).signals
