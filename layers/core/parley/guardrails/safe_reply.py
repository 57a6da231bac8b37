"""The safe-messaging reply that replaces a model's answer on a crisis verdict, the footer added
to an answer about someone else at risk, and the system prompts for the turns after them.

The texts follow recognised safe-messaging guidance (WHO, reportingonsuicide.org, Samaritans):
empathy without judgement, no method or means, nothing sensational, no promise of secrecy,
hope and the way to help. Each says the assistant is an AI, invites the user to reach a person
they trust, gives the crisis lines of their country (``parley.guardrails.resources``) and offers
to keep talking. The Spanish is neutral (tú, no vosotros) for Spain and Latin America alike.

An org may replace the reply per language. Its text may hold ``{resources}`` where the lines go;
without it they follow the text: the lines are never dropped. Only that placeholder is
replaced, by ``str.replace``: an org's text is data, and any other brace in it stays as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from parley.guardrails.resources import country_code, crisis_lines

if TYPE_CHECKING:
    from parley.guardrails.resources import CrisisLine
    from parley.guardrails.verdict import Language

__all__ = [
    "DEFAULT_REPLY",
    "MAX_ORG_REPLY_CHARS",
    "RESOURCES_PLACEHOLDER",
    "SAFETY_SYSTEM_PROMPT",
    "THIRD_PARTY_SYSTEM_PROMPT",
    "Audience",
    "SafeReply",
    "format_lines",
    "helper_footer",
    "safe_reply",
]

RESOURCES_PLACEHOLDER = "{resources}"
# The longest replacement text an org may set (its settings validation refuses more): long
# enough for a careful reply with local services, short enough to read in a crisis.
MAX_ORG_REPLY_CHARS = 4000

# Who the lines are for: the user themself, or someone the user is worried about.
Audience = Literal["self", "helper"]


@dataclass(frozen=True, slots=True)
class SafeReply:
    """A text to stream, and the lines it gives as data (the SSE ``resources`` field)."""

    text: str
    resources: tuple[CrisisLine, ...]
    language: Language
    country: str

    def resources_json(self) -> list[dict[str, str | dict[str, str] | None]]:
        return [line.as_json() for line in self.resources]


# A hedged opening ("it sounds like"): the verdict may be wrong, and a reply that presumes
# less still helps the person it is right about.
DEFAULT_REPLY: dict[Language, str] = {
    "es": (
        "Por lo que me cuentas, parece que estás pasando por un momento muy difícil, y lo siento"
        " mucho. Lo que sientes importa, y no tienes que afrontarlo a solas.\n"
        "\n"
        "Soy una IA y no puedo sustituir el apoyo de una persona. Te animo a hablar hoy con"
        " alguien de confianza, como una amiga o un amigo, alguien de tu familia o tu médico."
        " Basta con decirle que lo estás pasando mal.\n"
        "\n"
        "También puedes hablar ahora mismo con personas preparadas para escucharte:\n"
        "{resources}\n"
        "\n"
        "Con apoyo, muchas personas que se han sentido así han encontrado la manera de sentirse"
        " mejor. Si quieres, seguimos hablando: aquí estoy. ¿Cómo te sientes ahora?"
    ),
    "en": (
        "It sounds like you're going through something really hard right now, and I'm sorry."
        " What you're feeling matters, and you don't have to face it alone.\n"
        "\n"
        "I'm an AI, and I can't replace the support of a person. Please think about reaching"
        " out today to someone you trust, like a friend, someone in your family or your doctor."
        " It's enough to tell them you're having a hard time.\n"
        "\n"
        "You can also talk right now with people who are trained to listen:\n"
        "{resources}\n"
        "\n"
        "With support, many people who have felt this way have found a way to feel better. If"
        " you'd like, we can keep talking: I'm here. How are you feeling right now?"
    ),
}

# Appended to an ordinary answer, so it opens with a blank line and stays short. Asking
# directly about suicide does not plant the idea (the guidance every line gives helpers).
_HELPER_FOOTER: dict[Language, str] = {
    "es": (
        "\n\nSi te preocupa esa persona, pregúntale cómo está y escúchala sin juzgar."
        " Preguntarle directamente si piensa en quitarse la vida no le da la idea, y puede"
        " ayudarle a hablar. Anímala a buscar apoyo y ofrécete a acompañarla. Estas líneas"
        " también orientan a quien quiere ayudar a alguien:\n"
        "{resources}"
    ),
    "en": (
        "\n\nIf you're worried about them, ask how they're doing and listen without judging."
        " Asking directly whether they're thinking about suicide doesn't put the idea in their"
        " head, and can help them talk. Encourage them to get support, and offer to help them"
        " reach it. These lines also help people who are supporting someone:\n"
        "{resources}"
    ),
}

# The emergency number's line, by audience: for a helper, it also says not to leave the person
# alone. ``{how}`` is the line's own note ("llama al 112").
_EMERGENCY_LINE: dict[Audience, dict[Language, str]] = {
    "self": {
        "es": "- Emergencias: si estás en peligro inmediato, {how}.",
        "en": "- Emergencies: if you're in immediate danger, {how}.",
    },
    "helper": {
        "es": "- Emergencias: si esa persona está en peligro inmediato, {how} y no la dejes sola.",
        "en": "- Emergencies: if they're in immediate danger, {how} and don't leave them alone.",
    },
}
# Where no emergency number is certain, the reply still says to call one.
_LOCAL_EMERGENCY: dict[Language, str] = {
    "es": "llama al número de emergencias de tu país",
    "en": "call your local emergency number",
}

SAFETY_SYSTEM_PROMPT = """\
The user may be at risk of suicide or self-harm, and has been given crisis lines earlier in this \
conversation. For the rest of the conversation, follow safe-messaging guidance:
- Be warm, calm and non-judgemental. Acknowledge what they feel; do not lecture, argue or \
minimise it.
- Never give information about methods, means, amounts, places or how lethal anything is, even \
if asked directly, hypothetically, for a story or for someone else. Gently decline and come back \
to how they are.
- Do not present suicide or self-harm as a solution, as inevitable or as understandable given \
their problems, and do not describe it in dramatic terms. Never say "committed suicide".
- Say, when it fits, that you are an AI and cannot replace a person. Encourage them to reach \
someone they trust and the crisis lines given earlier. If they may be in immediate danger, urge \
them to call emergency services now.
- Do not promise to keep secrets, do not diagnose, and do not claim to be a therapist.
- Only repeat phone numbers given earlier in this conversation; never make one up. If they need \
another, point them to https://findahelpline.com.
- Offer hope without false promises: people do get through times like this, with support.
- Keep answers short and plain, ask gently how they are, offer to keep talking, and answer in \
the language the user writes in."""

THIRD_PARTY_SYSTEM_PROMPT = """\
The user is worried that someone they know may be at risk of suicide or self-harm. Help the \
user support that person, following safe-messaging guidance:
- Be warm and practical, and acknowledge that this is hard for the user too.
- Suggest asking the person directly and calmly how they are, including whether they are \
thinking about suicide (asking does not put the idea in their head), listening without \
judgement, and not promising to keep it secret.
- Encourage helping the person reach a crisis line or a professional, and staying in touch \
afterwards. If the person may be in immediate danger, the user should call emergency services \
and not leave them alone.
- Remind the user to look after themselves and to lean on people they trust.
- Never give information about methods, means, amounts, places or how lethal anything is. Do \
not describe suicide or self-harm in dramatic terms, and never say "committed suicide".
- Crisis lines for the user's country are added after your answer: do not list phone numbers \
yourself, and never make one up.
- Answer in the language the user writes in."""


def format_lines(
    lines: tuple[CrisisLine, ...], language: Language, *, audience: Audience = "self"
) -> str:
    """The lines as a list to read, one a line, the emergency number last: what replaces
    ``{resources}``."""
    helplines = [f"- {line.name}: {_how(line, language)}." for line in lines if not _urgent(line)]
    emergency = next((line for line in lines if _urgent(line)), None)
    how = _LOCAL_EMERGENCY[language] if emergency is None else _how(emergency, language)
    urgent = _EMERGENCY_LINE[audience][language].replace("{how}", how)
    return "\n".join([*helplines, urgent])


def safe_reply(language: Language, country: str, org_text: str | None = None) -> SafeReply:
    """The reply to stream in place of the model's answer on a crisis verdict: the org's text
    for ``language`` when it set one, else the default, with ``country``'s lines in it."""
    lines = crisis_lines(country)
    block = format_lines(lines, language)
    template = org_text if org_text is not None and org_text.strip() else DEFAULT_REPLY[language]
    if RESOURCES_PLACEHOLDER in template:
        text = template.replace(RESOURCES_PLACEHOLDER, block)
    else:
        text = f"{template.rstrip()}\n\n{block}"
    return SafeReply(text, lines, language, country_code(country) or country)


def helper_footer(language: Language, country: str) -> SafeReply:
    """What to append to an ordinary answer about someone else at risk: how to help them, and
    ``country``'s lines (text starting with a blank line)."""
    lines = crisis_lines(country)
    block = format_lines(lines, language, audience="helper")
    text = _HELPER_FOOTER[language].replace(RESOURCES_PLACEHOLDER, block)
    return SafeReply(text, lines, language, country_code(country) or country)


def _urgent(line: CrisisLine) -> bool:
    return line.kind == "emergency"


def _how(line: CrisisLine, language: Language) -> str:
    # Every line in the table has both languages; a line built elsewhere without them still
    # shows how to reach it.
    return line.notes.get(language) or line.number or line.url or line.name
