"""The crisis lines a safe-messaging reply gives, by country, and how a request picks the country.

The table is small on purpose: a wrong or retired number in a crisis reply is worse than none,
so it holds only national, free lines whose numbers were well established when it was written
(2025; review it yearly against each line's own site). Every other country gets the Find A
Helpline directory (run by ThroughLine, it lists lines in most countries) and, where it is
certain, its emergency number. Adding a country means adding its lines here and a test that
pins them.

The country comes from the request's ``locale`` when that names one (a BCP 47 region subtag:
"es-MX", "en_GB"), else from the org's setting, else from the user's language (Spanish: Spain;
English: the United States). Nothing here raises on what a client sent: a malformed locale or
an unknown org country is passed over, as if absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

    from parley.guardrails.verdict import Language

__all__ = [
    "FIND_A_HELPLINE",
    "KNOWN_COUNTRIES",
    "CrisisLine",
    "LineKind",
    "country_code",
    "country_for",
    "crisis_lines",
    "is_country_code",
    "locale_country",
]

# crisis: a line for people in distress (and those worried about them); emergency: the
# country's emergency number, for immediate danger; directory: where to find a line.
LineKind = Literal["crisis", "emergency", "directory"]

_EMPTY_NOTES: Mapping[Language, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class CrisisLine:
    """One way to reach help. ``notes`` says, per language, how to reach it: a clause that
    follows the name ("llama al 024, gratis y a cualquier hora"), lowercase, without a final
    stop, which is how both the reply and a client show it."""

    name: str
    kind: LineKind
    number: str | None = None  # what to dial, as it is written in its country
    text: str | None = None  # the number to send a text message to
    url: str | None = None
    hours: str | None = None
    # Read-only and out of the hash: the lines are shared constants, and a frozen dataclass
    # with a plain dict would let a caller change every later reply, and could not be hashed.
    notes: Mapping[Language, str] = field(default=_EMPTY_NOTES, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))

    def as_json(self) -> dict[str, str | dict[str, str] | None]:
        """The line for the SSE ``resources`` field. Every key is always present (an absent
        value is ``null``), so a client reads one shape whatever the line has."""
        return {
            "name": self.name,
            "kind": self.kind,
            "number": self.number,
            "text": self.text,
            "url": self.url,
            "hours": self.hours,
            "notes": {language: note for language, note in self.notes.items()},
        }


FIND_A_HELPLINE = CrisisLine(
    name="Find A Helpline",
    kind="directory",
    url="https://findahelpline.com",
    notes={
        "es": "busca la línea de ayuda de tu país en https://findahelpline.com",
        "en": "find a helpline in your country at https://findahelpline.com",
    },
)


def _emergency(number: str, *, also: str | None = None) -> CrisisLine:
    # The service is known by its number (el 112, nine-one-one), so the number is its name;
    # the reply labels it by kind in the user's language.
    return CrisisLine(
        name=number if also is None else f"{number} / {also}",
        kind="emergency",
        number=number,
        hours="24/7",
        notes={
            "es": f"llama al {number}" + ("" if also is None else f" o al {also}"),
            "en": f"call {number}" + ("" if also is None else f" or {also}"),
        },
    )


_LINEA_024 = CrisisLine(
    name="Línea 024",
    kind="crisis",
    number="024",
    hours="24/7",
    notes={
        "es": "llama al 024, gratis y a cualquier hora",
        "en": "call 024, free, 24/7",
    },
)
_LIFELINE_988 = CrisisLine(
    name="988 Suicide & Crisis Lifeline",
    kind="crisis",
    number="988",
    text="988",
    url="https://988lifeline.org",
    hours="24/7",
    notes={
        # Spanish speakers reach Spanish-speaking counsellors through option 2 of the call,
        # or by texting the word AYUDA.
        "es": (
            "llama o envía un mensaje de texto al 988, gratis y a cualquier hora; para hablar"
            " en español, marca el 2 al llamar o envía la palabra AYUDA al 988"
        ),
        "en": "call or text 988, or chat at https://988lifeline.org, free, 24/7",
    },
)
_LINEA_DE_LA_VIDA = CrisisLine(
    name="Línea de la Vida",
    kind="crisis",
    number="800 911 2000",
    hours="24/7",
    notes={
        "es": "llama al 800 911 2000, gratis y a cualquier hora",
        "en": "call 800 911 2000, free, 24/7 (in Spanish)",
    },
)
_SAMARITANS = CrisisLine(
    name="Samaritans",
    kind="crisis",
    number="116 123",
    url="https://www.samaritans.org",
    hours="24/7",
    notes={
        "es": "llama gratis al 116 123, a cualquier hora (en inglés)",
        "en": "call 116 123 for free, 24/7",
    },
)
_CANADA_988 = CrisisLine(
    name="9-8-8 Suicide Crisis Helpline",
    kind="crisis",
    number="988",
    text="988",
    url="https://988.ca",
    hours="24/7",
    notes={
        "es": "llama o envía un mensaje de texto al 988, gratis y a cualquier hora (en inglés"
        " o francés)",
        "en": "call or text 988, free, 24/7",
    },
)

# Countries with a national crisis line: the line(s), then the emergency number. No directory
# entry: the country's own line is what to call, and a longer list is harder to act on.
_LINES: Mapping[str, tuple[CrisisLine, ...]] = MappingProxyType(
    {
        "ES": (_LINEA_024, _emergency("112")),
        "US": (_LIFELINE_988, _emergency("911")),
        # 988 and 911 serve Puerto Rico as they do the states.
        "PR": (_LIFELINE_988, _emergency("911")),
        "MX": (_LINEA_DE_LA_VIDA, _emergency("911")),
        "GB": (_SAMARITANS, _emergency("999", also="112")),
        # Samaritans answers 116 123 in Ireland too.
        "IE": (_SAMARITANS, _emergency("112", also="999")),
        "CA": (_CANADA_988, _emergency("911")),
    }
)
KNOWN_COUNTRIES: frozenset[str] = frozenset(_LINES)

# Countries without a line here whose emergency number is certain: 112 is the law in the EU
# and the EEA, and Switzerland answers it; Australia and New Zealand have their own.
_EU_EEA_112 = (
    "AT BE BG CH CY CZ DE DK EE FI FR GR HR HU IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
)
_EMERGENCY: Mapping[str, CrisisLine] = MappingProxyType(
    {
        **{country: _emergency("112") for country in _EU_EEA_112.split()},
        "AU": _emergency("000"),
        "NZ": _emergency("111"),
    }
)

# ISO 3166-1 alpha-2, the 249 officially assigned codes (as in iso-codes and tzdata's
# iso3166.tab).
_ASSIGNED_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
_ISO_3166_ALPHA_2: frozenset[str] = frozenset(_ASSIGNED_CODES.split())
# "UK" is not GB's code but is what people write (ISO reserves it for that reason).
_ALIASES: Mapping[str, str] = MappingProxyType({"UK": "GB"})

_BY_LANGUAGE: Mapping[Language, str] = MappingProxyType({"es": "ES", "en": "US"})

# A locale longer than this is not one; it is not parsed.
_MAX_LOCALE_CHARS = 64
_SUBTAG = re.compile(r"[A-Za-z0-9]{1,8}")


def country_code(value: object) -> str | None:
    """``value`` as an uppercase ISO 3166-1 alpha-2 code ("mx" → "MX", "UK" → "GB"), or None
    when it is not an assigned one."""
    if not isinstance(value, str) or len(value) != 2 or not value.isascii():
        return None
    code = value.upper()
    code = _ALIASES.get(code, code)
    return code if code in _ISO_3166_ALPHA_2 else None


def is_country_code(value: object) -> bool:
    """Whether ``value`` is an assigned ISO 3166-1 alpha-2 code in either case, or "UK" (what
    an org's country setting accepts; store ``country_code(value)``, uppercase, UK as GB)."""
    return country_code(value) is not None


def country_for(locale: str | None, org_country: str | None, language: Language) -> str:
    """The country whose lines a reply gives: the locale's region, else the org's country,
    else the language's (es: ES, en: US). Never raises on a malformed locale or country."""
    return locale_country(locale) or country_code(org_country) or _BY_LANGUAGE[language]


def locale_country(locale: object) -> str | None:
    """The country a BCP 47 tag (or a POSIX locale such as "en_US.UTF-8") names, or None when
    it names none ("es", "es-419") or is malformed."""
    if not isinstance(locale, str) or len(locale) > _MAX_LOCALE_CHARS or not locale.isascii():
        return None
    # POSIX locales carry an encoding and a modifier after the region: en_US.UTF-8@euro.
    tag = locale.split(".", 1)[0].split("@", 1)[0].replace("_", "-")
    subtags = tag.split("-")
    if not all(_SUBTAG.fullmatch(subtag) for subtag in subtags):
        return None
    language, rest = subtags[0], subtags[1:]
    # "x-…" is private use and "i-…" a grandfathered tag: neither has a region.
    if not language.isalpha() or len(language) == 1:
        return None
    # language-extlang(3 letters, up to 3)-script(4 letters)-region: skip to the region's place.
    position = 0
    while position < min(len(rest), 3) and len(rest[position]) == 3 and rest[position].isalpha():
        position += 1
    if position < len(rest) and len(rest[position]) == 4 and rest[position].isalpha():
        position += 1
    if position < len(rest) and len(rest[position]) == 2 and rest[position].isalpha():
        return country_code(rest[position])
    # A three-digit region (419, Latin America) is an area, not a country.
    return None


def crisis_lines(country: str) -> tuple[CrisisLine, ...]:
    """The lines for ``country`` (any case): its crisis lines then its emergency number; for a
    country without a line here, its emergency number if certain, then Find A Helpline."""
    code = country_code(country)
    if code is None:
        return (FIND_A_HELPLINE,)
    if code in _LINES:
        return _LINES[code]
    emergency = _EMERGENCY.get(code)
    return (FIND_A_HELPLINE,) if emergency is None else (emergency, FIND_A_HELPLINE)
