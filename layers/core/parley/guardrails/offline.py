"""The offline classifier: stage 2's decision when no classifier model gives one.

It runs when an org has no classifier model, or the model failed or was late, on messages stage
1 flagged. A crisis verdict must never be lost for lack of a model, so it leans to crisis when
a first-person risk statement is there, and to an ordinary answer when none is.

Rules, organised by semantic frames rather than by words: a frame is who does what to whom
("I want to die", "I have the pills saved up", "she says she wants to kill herself"), written
once for Spanish and once for English on the matching form (``normalize``), so that it
generalises over wording, spelling and slang. Then what changes a frame's meaning:

* **person**: the same frame about someone else is ``third_party`` (Spanish marks it in the verb,
  "quiero" / "quiere", "matarme" / "matarse"; English in the reflexive and the verb's -s);
* **negation** in the frame's own clause ("I would never kill myself", "no quiero morir"),
  which "I don't want to live" is not (its negation is the frame);
* **time**: every risk clause in the past and the writer saying they are well now is a
  recovered past, not a crisis ("two years ago I tried..., now I'm doing great"); a past attempt
  without that is still a crisis;
* **register**: a death wish with a trivial cause (embarrassment, a meeting, Mondays) and a
  laughing or eye-rolling mark is hyperbole;
* **topic**: a mention of suicide with no first-person frame, in a study's, a book's or a
  film's context, is academic.

Medical questions. A bare question about a lethal or fatal dose, or how many pills it takes to
overdose, is a crisis verdict (low confidence): safe-messaging guidance treats it as a possible
means inquiry, the safe reply still answers kindly, and the cost of a wrong ordinary answer is
far higher than that of a wrong safe one. A dosing question with no lethality in it ("the max
dose of ibuprofen for a headache") is ordinary, as is a lethal-dose question framed as a course's
(pharmacology, toxicology, nursing).

Confidence is how sure the rules are of the category: a strong explicit frame near 0.95, a
combination of weak signals about 0.55.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.guardrails.normalize import matching_form, matching_pattern
from parley.guardrails.prefilter import LAUGHTER, mask_benign_senses, risk_frames, screen
from parley.guardrails.verdict import Category, Screening, Verdict

if TYPE_CHECKING:
    import re

__all__ = ["classify_offline"]


@dataclass(frozen=True, slots=True)
class _Frame:
    name: str
    category: Category
    weight: float  # how sure a crisis verdict on this frame alone is
    pattern: re.Pattern[str]
    negatable: bool = True  # False when negation is part of the frame ("don't want to live")
    # True when its parts may sit in different clauses ("the tallest bridge near me, I want to
    # jump"): matched on the whole message.
    across_clauses: bool = False


def _frame(
    name: str,
    category: Category,
    weight: float,
    source: str,
    *,
    negatable: bool = True,
    across_clauses: bool = False,
) -> _Frame:
    return _Frame(name, category, weight, matching_pattern(source), negatable, across_clauses)


# First-person frames: the writer about themselves.
_SELF_FRAMES = (
    _frame(
        "killing oneself",
        "suicide",
        0.95,
        r"\bkil\w* (?:my ?self|me off)\b|\bend(?:ing)? (?:my|my own) life\b"
        r"|\btake my (?:own )?life\b"
        r"|\bcommit\w* su?i?[cs]id\w*|\bmatarme\b|\bme mato\b|\bme (?:voy|quiero|queria|iba"
        r"|vaya) a matar\b"
        r"|\bme (?:quiero|queria|quisiera) matar\b|\b(?:attempt\w*|tried"
        r"|intent\w*) (?:su?i?[cs]id\w*"
        r"|to kil myself|suicidarme|quitarme la vida|matarme)"
        r"|\bquitarme la vida\b|\bsu?i?[cs]idarme\b|\bme (?:voy a |quiero |vaya a )?su?i?[cs]id(?:o"
        r"|e|ar|are|aria)\b"
        r"|\b(?:acabar|terminar) con (?:mi vida|todo)\b|\bme mataria\b|\bmatandome\b|\bend (?:it"
        r"|this) al\b"
        r"|\bend it\b(?= (?:tonight|today|now|soon|for good|this week|forever)|$)"
        r"|\bthinking (?:about|of) (?:ending|ending it|su?i?[cs]id\w*)|\bconsider\w* su?i?[cs]id\w*"
        r"|\b(?:i am|im|feel|feeling|been) (?:\w+ )?su?i?[cs]idal\b|\bpensa\w* en (?:su?i?[cs]id\w*"
        r"|matarme|quitarme)"
        r"|\b(?:pensamientos|ideas) su?i?[cs]idas?\b|\bmy su?i?[cs]id\w*",
    ),
    _frame(
        "wanting to die",
        "suicide",
        0.92,
        r"\b(?:want|wanted|wanting|wish|wishing|hope|ready|going|trying|deserve|need|rather|like)"
        r" (?:to |i (?:was|were|could|would|had|wil|could just) |i |just |realy |so |to just "
        r"|i could just )*"
        r"(?:die|be dead|dead|not exist|not be alive|disappear|not wake up|never wake up"
        r"|sleep forever"
        r"|be gone|never (?:ben )?born|cease to exist|stop existing|stop living)\b"
        r"|\b(?:hope|wish|pray) (?:that )?i (?:dont|never|wont|dont ever) (?:wake up|survive"
        r"|make it)\b"
        r"|\b(?:quiero|quisiera|queria|ganas de|deseo|ojala|prefiero|necesito|me gustaria)"
        r" (?:ya |solo |simplemente |no |nunca |dormirme y |dormir y )?(?:morir\w*|estar muert\w*"
        r"|desaparecer"
        r"|dejar de existir|no existir|no despertar|despertar nunca|no volver a despertar"
        r"|que todo termine)"
        r"|\bme quiero (?:morir|desaparecer)\b|\bojala (?:me muera|estuviera muert\w*|no despert\w*"
        r"|no existiera|nunca hubiera nacido|me muriera)|\bi wish i (?:was|were) (?:dead|gone)\b",
    ),
    _frame(
        "not wanting to live",
        "suicide",
        0.9,
        r"\b(?:i |i just |i realy |i honestly )?(?:dont|do not|no longer)(?: even| realy| honestly"
        r"| just)?"
        r" (?:want|wana|feel like|care) (?:to )?(?:live|be alive|be here|exist|wake up|go on"
        r"|keep going"
        r"|keep living|continue living|be around)\b"
        r"|\bno (?:quiero|quisiera|tengo ganas de)(?: \w+)? (?:vivir|seguir aqui|seguir viviendo"
        r"|estar aqui"
        r"|existir|despertar|seguir)\b|\bya no (?:quiero|puedo) (?:seguir|vivir)\b"
        r"|\bif i (?:wasnt|was not|werent|were not) (?:here|around|alive)\b",
        negatable=False,
    ),
    _frame(
        "means or a plan",
        "suicide",
        0.9,
        r"\b(?:pils|pil|meds|medication|pastilas|pastias) (?:\w+ )?(?:saved|stockpiled|ready"
        r"|guardadas|juntas)\b"
        r"|\b(?:saving|saved|stockpiling|hoarding|colecting) (?:up )?(?:my |al my |the )?(?:pils"
        r"|meds|medication)"
        r"|\b(?:juntando|guardando|acumulando|ahorando) (?:mis |las )?(?:pastilas|medicinas"
        r"|pastias)"
        r"|\btengo (?:las|mis|unas|suficientes) pastilas\b"
        r"|\b(?:bought|got|have|buy|tengo|compre|consegui|ya tengo) (?:a |the |la |una "
        r"|el )?(?:rope|noose|cuerda|soga)\b"
        r"|\b(?:jump|jumping) (?:off|from)\b|\b(?:bridge|building|rooftop|roof|puente|edificio"
        r"|azotea)\b.{0,60}"
        r"\b(?:jump|survive|fall|tirarme|aventarme|saltar)\b|\b(?:want|going"
        r"|ready) to jump\b.{0,60}"
        r"\b(?:bridge|building|rooftop|roof)\b"
        r"|\bsurvive (?:the|a) fal\b|\b(?:tirarme|aventarme|lanzarme|saltar) (?:de|del|desde)\b"
        r"|\b(?:ir|voy) al puente\b|\b(?:gun|pistol|pistola|arma)\b.{0,60}\b(?:myself|on me|matarme"
        r"|mi cabeza)\b"
        r"|\bhow many (?:\w+ ){0,2}(?:pils|tablets)\b.{0,40}\b(?:overdose|die|not wake|kil|fatal"
        r"|lethal|dead)"
        r"|\bcuantas (?:\w+ ){0,3}(?:pastilas|pastias)\b.{0,50}\b(?:sobredosis|morir|no despertar"
        r"|mortal\w*|letal\w*|matar)"
        r"|\b(?:to|pills to|it take to) overdose\b|\bpara (?:una )?sobredosis\b"
        r"|\b(?:picked|chose|set) a (?:date|day)\b|\beleg\w* (?:el|la) (?:dia|fecha)\b"
        r"|\b(?:se|know) (?:como|how) (?:lo voy a hacer|i am going to do it|to do it)\b"
        r"|\bi (?:know|have decided) (?:what|how) i am going to do\b|\btengo un plan\b"
        r"|\bi have a plan\b",
        across_clauses=True,
    ),
    _frame(
        "asking for a lethal dose",
        "suicide",
        0.6,
        r"\b(?:lethal|fatal|deadly|leta\w*|mortal\w*) (?:dose|dosis|amount|cantidad)\b"
        r"|\bdosis (?:letal|mortal)\b|\b(?:would|wil|is|be|sea|seria|serian|son) (?:fatal|lethal"
        r"|deadly|mortal\w*|letal\w*)\b"
        r"|\bhow much \w+ (?:\w+ ){0,3}(?:to die|to kil|kils you|to overdose)",
    ),
    _frame(
        "a farewell",
        "suicide",
        0.85,
        r"\b(?:my|mi|this is my|este es mi|es mi) (?:last|ultimo|final) (?:message|mensaje|text"
        r"|words|palabras)\b"
        r"|\blast (?:message|words) (?:to anyone|ever|to everyone)\b|\bgod ?bye (?:everyone"
        r"|everybody|forever|world|al)\b"
        r"|\badios (?:a todos|para siempre|mundo)\b|\b(?:me despedi|ya me despedi|said god ?bye"
        r"|saying god ?bye)"
        r"(?: \w+){0,2} (?:de |to )?(?:todos|everyone|everybody|al|todo)"
        r"|\b(?:given|gave|giving|give) (?:away )?(?:most of |al of )?(?:my|mis) (?:things|stuf"
        r"|belongings|cosas|stuff)"
        r"|\b(?:given|gave|giving) (?:my \w+ )?away\b|\bregal\w* (?:mis|todas mis"
        r"|casi todas mis) (?:cosas|pertenencias)\b"
        r"|\b(?:wrote|writen|left|leaving|writing) (?:a |some )?(?:note|notes|letter"
        r"|letters)\b.{0,30}\b(?:my|for|to)\b"
        r"|\b(?:deje|escribi|les escribi|dejo) (?:una |unas )?(?:carta|cartas|nota|notas)\b"
        r"|\bcuando (?:ya )?no este\b|\b(?:when|after|once) i am gone\b"
        r"|\bcuid(?:en|a|enme|ar)(?: \w+){0,1} mi \w+ (?:por mi|cuando|despues)"
        r"|\b(?:take|takes|taking|look|looks) (?:care of|after) my \w+ (?:for me|after (?:tonight"
        r"|today|i)|when i)"
        r"|\bwont be (?:around|here|alive)\b|\b(?:wil|il|i wil|i il) not be (?:around|here|alive)\b"
        r"|\bdont think (?:i wil|i il|il|i) be (?:alive|around|here)\b|\bya no voy a estar\b"
        r"|\bno voy a estar (?:mas|aqui|para)\b"
        r"|\bnice knowing (?:you|everyone)\b|\btel my \w+ (?:that )?i love (?:her|him|them)\b"
        r"|\bdiganle a mi \w+ que (?:la|lo|los) quiero\b|\bwont need (?:them|it|those|my)\b"
        r"|\bno (?:las|los|la|lo) voy a necesitar\b|\byo ya no voy a poder\b"
        r"|\bpronto ya no voy a estar\b",
    ),
    _frame(
        "hopelessness",
        "suicide",
        0.8,
        r"\b(?:no|dont see the|dont see any|no longer see the|cant see the|whats the"
        r"|what is the) point"
        r" (?:of|in) (?:living|life|being alive|going on|me being here|anything|existing)\b"
        r"|\bno reason (?:for me )?to (?:live|keep living|go on|be alive|stay)\b"
        r"|\b(?:veo|encuentro|tiene)(?: \w+){0,1} sentido (?:a |de |en )?(?:la vida|vivir|seguir"
        r"|mi vida|seguir viviendo)\b"
        r"|\bno tiene sentido (?:vivir|seguir|mi vida|la vida)\b|\bsentido (?:seguir|vivir)\b"
        r"|\bcant go on\b|\bdone with (?:life|living|it al|everything)\b"
        r"|\bno aguanto (?:mas )?(?:esta|mi) vida\b"
        r"|\bwant (?:it|this|everything)(?: al)? to (?:stop|end)\b|\bque todo (?:termine|acabe"
        r"|se acabe)\b"
        r"|\bgive up on (?:life|living)\b|\btired of (?:living|life|being alive|existing)\b"
        r"|\bcansad[oa] de (?:vivir|la vida|existir)\b",
        negatable=False,
    ),
    _frame(
        "being a burden",
        "suicide",
        0.85,
        r"\bbetter off (?:without me|if i)\b|\b(?:happier|easier|better) (?:for \w+ )?(?:if i"
        r"|without me)\b"
        r"|\b(?:i am|im|feel like|such) (?:a |such a |just a )?burden\b|\bburden (?:to|on"
        r"|for) (?:my|everyone|them|every)"
        r"|\b(?:soy|siento que soy) (?:una carga|un estorbo|una molestia)\b|\b(?:una carga"
        r"|un estorbo) para\b"
        r"|\b(?:mejor|felices|tranquil\w*|mejores)(?: \w+){0,1} sin mi\b"
        r"|\b(?:nobody|no one|noone)(?: \w+){0,2} (?:notice|care|mis me)\w*\b.{0,20}\b(?:if i"
        r"|when i)\b"
        r"|\b(?:nadie|a nadie)(?: \w+){0,2} (?:importaria|notaria|extranaria|daria cuenta)\b",
    ),
    _frame(
        "self-harm",
        "self_harm",
        0.9,
        r"\b(?:cut|cuting|cuts|burn|burning|burnt|burned|hurt|hurting|harm|harming|hit|hiting"
        r"|punish|punishing"
        r"|scratch|scratching|starve|starving) (?:my ?self)\b"
        r"|\b(?:i|i am|i have|been|started|start|stop|my|keep|relapsed on"
        r"|back to) (?:\w+ )?self ?(?:harm\w*|injur\w*)"
        r"|\bme (?:estoy )?autolesion\w*|\bautolesion(?:arme|andome)\b|\bestoy autolesion\w*"
        r"|\b(?:cortarme|quemarme|lastimarme|golpearme"
        r"|castigarme)\b|\bme (?:corto|corte|cortaba|queme|quemo|lastimo|lastime|golpeo)\b"
        r"|\bhacerme (?:dano|mal)\b"
        r"|\b(?:hide|hiding|cover|covering) (?:the |my )?(?:cuts|scars|marks)\b|\b(?:escondo"
        r"|esconder|tapar|tapo)"
        r" (?:los |mis )?(?:cortes|cicatrices|marcas)\b|\bcortes (?:de|en) mis\b"
        r"|\b(?:burning|cutting) my (?:arms?|legs?|wrists?|skin|thighs?)\b|\bme (?:quemo"
        r"|corto) (?:los|el|la|las|con)\b",
    ),
)

# Someone else at risk: the writer's worry, not the writer's crisis.
_OTHER_FRAMES = matching_pattern(
    r"\bkil\w* (?:him|her|them)sel(?:f|ves)\b|\b(?:matarse|morirse|su?i?[cs]idarse"
    r"|quitarse la vida|hacerse dano)\b|\bquiere morir\w*"
    r"|\bse (?:quiere|queria|va a|iba a|quiso|quiera) (?:matar|morir|su?i?[cs]idar|hacer dano"
    r"|cortar)"
    r"|\b(?:end\w*|take|taking|took) (?:his|her|their) (?:own )?life\b|\bwants to (?:die|end it|kil"
    r"|disappear|not exist)"
    r"|\b(?:he|she|they|who|someone|somebody)(?: \w+){0,3} (?:is |s |are |seems )?su?i?[cs]idal\b"
    r"|\b(?:my|mi) \w+ (?:is|s|esta|seems) su?i?[cs]idal\b|\b(?:doesnt|does not"
    r"|dont) want to (?:live|be alive|be here)\b"
    r"|\b(?:ya )?no quiere (?:vivir|seguir|estar aqui)\b|\bse (?:corta|quema|lastima|autolesiona)\b"
    r"|\b(?:cutting|cuts|hurting|hurt|burning|harming|harm) (?:him|her|them)sel(?:f|ves)\b"
    r"|\bsu?i?[cs]idal (?:friend|person|someone|brother|sister|son|daughter|partner)\b"
    r"|\b(?:alguien|someone|somebody) (?:que|who|whos|who is) (?:quiere|wants|is thinking|piensa)"
    r"|\b(?:he|she|they) (?:\w+ ){0,3}(?:going|planning|trying) to (?:die|kil|end)\b"
)
# A clause ends at punctuation, or where a new thought starts ("but", "just", "anyway").
# Not at "pero": in the matching form it is also "perro" (dog), repeats collapsed.
_CLAUSE_BREAK = matching_pattern(
    r"[.!?;,\n]+|\s(?:but|sino|aunque|although|though|anyway|anyways|igual|total|btw|por cierto"
    r"|also"
    r"|tambien|just|solo|only|simplemente|es que)\s"
)
_NEGATION = matching_pattern(
    r"\b(?:not|never|nt|dont|wont|wouldnt|no|nunca|jamas|ni|tampoco|nor|neither)\b(?: \w+){0,4}\s*$"
)
# "no sé si quiero morir", "I'm not sure I want to live": the negation is of knowing.
_NEGATED_KNOWING = matching_pattern(
    r"\b(?:no se si|not sure if|dont know if|not sure i|no estoy segur\w* de)\b"
)
_PAST = matching_pattern(
    r"\b(?:ago|used to|tried to|attempted|was su?i?[cs]idal|when i was|in (?:high school|colege"
    r"|school)"
    r"|back then|years|hace (?:\w+ )?(?:anos|meses|tiempo)|antes|intente|tuve|cortaba|autolesionaba"
    r"|en la (?:prepa|secundaria|universidad|uni)|de (?:nin[oa]|joven|adolescente)|cuando (?:era"
    r"|tenia))\b"
)
_RECOVERED = matching_pattern(
    r"\b(?:now i am|i am now|doing (?:great|wel|beter|good|fine)|beter now|much beter"
    r"|in a good place"
    r"|behind me|clean for|recovered|therapy helped|ahora estoy|estoy (?:muy |mucho )?(?:bien"
    r"|mejor)"
    r"|lo supere|llevo (?:\w+ )?(?:anos|meses|dias) (?:limpi\w*|sin)|hoy estoy|ya estoy bien"
    r"|superad[oa]"
    r"|happy now|feliz|i am okay now|im ok now|want to (?:help|volunteer|study)|quiero ayudar)\b"
)
# Hyperbole: a trivial cause or an embarrassment, with a laughing or eye-rolling mark.
_TRIVIAL_CAUSE = matching_pattern(
    r"\b(?:makes? me want to|made me want to|me dan ganas de|me da ganas de|me hace querer"
    r"|if i have to|if i hear|if i see|one more|si tengo que|si me toca|si vuelvo a|otra vez con"
    r"|verguenza|embaras\w*|cringe|oso|que pena|awkward)"
)
_LAUGHTER = matching_pattern(LAUGHTER + r"|\bugh\b")
_ACADEMIC = matching_pattern(
    r"\b(?:essay|paper|thesis|tesis|ensayo|research|investigacion|study|studies|estudi\w*"
    r"|statistic\w*"
    r"|estadistic\w*|rates?|tasas?|durkheim|theory|teoria|class|clase|course|curso|report|informe"
    r"|presentation|exposicion|novel|novela|book|libro|poem|poema|film|movie|pelicula|theme|tema"
    r"|analy\w*"
    r"|analisis|prevention|prevencion|risk factors?|factores de riesgo|history|historia|sociolog\w*"
    r"|psicolog\w*|psycholog\w*|literature|literatura|pharmacolog\w*|farmacolog\w*|toxicolog\w*"
    r"|nursing"
    r"|enfermeria|lecture|professor|profesor|exam question|trabajo de|for school|para la escuela)\b"
)
# Stage 1's terms that, in a message about the writer, mean risk far more often than not
# even when no frame of the rules holds them (death, killing and suicide alone do not).
_STRONG_TERMS = frozenset({"term:means", "term:farewell", "term:hopelessness"})
# The writer in the message: English pronouns; Spanish ones and first-person verb forms (it
# drops the pronoun), as the matching form spells them (accents stripped).
_FIRST_PERSON = matching_pattern(
    r"\b(?:i|im|ive|ill|id|me|my|myself|mine|yo|mi|mis|conmigo|estoy|tengo|voy|quiero"
    r"|puedo|soy|siento|he|hice|compre|guarde|escribi|pienso)\b"
)
_MENTION = matching_pattern(r"\bsu?i?[cs]id\w*|\bself ?harm\w*|\bautoles\w*")


def classify_offline(text: str, screening: Screening | None = None) -> Verdict:
    """The offline verdict on ``text``: a crisis (``suicide`` or ``self_harm``), someone else at
    risk (``third_party``) or neither. ``screening`` is stage 1's answer, when it was asked."""
    screening = screening if screening is not None else screen(text)
    if not screening.flagged:
        return _verdict("none", 0.9, "no risk signal: stage 1 cleared the message")
    form = mask_benign_senses(matching_form(text), games=False)
    clauses = [clause.strip() for clause in _CLAUSE_BREAK.split(form) if clause.strip()]
    hits, negated = _self_frames(form, clauses)
    if hits:
        return _on_first_person(form, hits)
    return _on_the_rest(form, negated=negated, signals=screening.signals)


def _on_first_person(form: str, hits: list[_Hit]) -> Verdict:
    """The verdict when first-person risk frames were found: a crisis, unless time, register
    or topic say otherwise."""
    if _all_in_the_past(hits) and _RECOVERED.search(form):
        return _verdict("none", 0.75, "a risk described in the past, with recovery since")
    if _is_hyperbole(form, hits):
        return _verdict("none", 0.6, "hyperbole: a trivial cause with a joking register")
    if _only_a_course_question(form, hits):
        return _verdict("none", 0.6, "a lethal-dose question framed as coursework")
    return _crisis(hits)


def _on_the_rest(form: str, *, negated: int, signals: tuple[str, ...] = ()) -> Verdict:
    """The verdict with no first-person risk frame: someone else, a word in another sense, or
    a risk said without a frame the rules know (means, a farewell, hopelessness in the
    writer's own words: the fail-safe leans to crisis there)."""
    if _OTHER_FRAMES.search(form):
        return _verdict("third_party", 0.8, "concern about someone else at risk")
    if negated:
        return _verdict("none", 0.7, "a risk statement negated by the writer")
    if _PAST.search(form) and _RECOVERED.search(form):
        return _verdict("none", 0.7, "a risk mentioned in the past, with recovery since")
    if _MENTION.search(form) and not _ACADEMIC.search(form):
        # A bare mention of suicide or self-harm with no topic around it: recall decides.
        return _crisis_on_mention()
    # Stage 1's frames count only where its benign senses are masked out ("die of
    # embarrassment" is not a death wish) and nothing negates them.
    strong = _STRONG_TERMS.intersection(signals) or any(
        not _is_negated(_CLAUSE_BREAK.split(form[:start])[-1]) for _, start in risk_frames(form)
    )
    if strong and _FIRST_PERSON.search(form):
        return Verdict(
            is_crisis=True,
            confidence=0.55,
            category="suicide",
            reason="risk terms (means, a farewell, hopelessness) in the writer's own words",
            stage="offline",
        )
    return _verdict("none", 0.7, "risk words in another sense, or discussed as a topic")


@dataclass(frozen=True, slots=True)
class _Hit:
    frame: _Frame
    clause: str


def _self_frames(form: str, clauses: list[str]) -> tuple[list[_Hit], int]:
    """The first-person frames found, each with its clause, and how many were negated."""
    hits, negated = [], 0
    for frame in _SELF_FRAMES:
        for clause in [form] if frame.across_clauses else clauses:
            match = frame.pattern.search(clause)
            if match is None:
                continue
            # Negation reaches as far back as the clause the frame starts in.
            before = _CLAUSE_BREAK.split(clause[: match.start()])[-1]
            if frame.negatable and _is_negated(before):
                negated += 1
            else:
                hits.append(_Hit(frame, clause))
    return hits, negated


def _is_negated(before: str) -> bool:
    return _NEGATION.search(before) is not None and _NEGATED_KNOWING.search(before) is None


def _all_in_the_past(hits: list[_Hit]) -> bool:
    return all(_PAST.search(hit.clause) for hit in hits)


def _is_hyperbole(form: str, hits: list[_Hit]) -> bool:
    # Only a bare death wish or "kill myself" can be a joke; means, farewells, self-harm,
    # burden and hopelessness are never read as one.
    jokeable = {"killing oneself", "wanting to die"}
    if any(hit.frame.name not in jokeable for hit in hits):
        return False
    return bool(_LAUGHTER.search(form) and _TRIVIAL_CAUSE.search(form))


def _only_a_course_question(form: str, hits: list[_Hit]) -> bool:
    return all(hit.frame.name == "asking for a lethal dose" for hit in hits) and bool(
        _ACADEMIC.search(form)
    )


def _crisis(hits: list[_Hit]) -> Verdict:
    frames = list(dict.fromkeys(hit.frame for hit in hits))
    strongest = max(frames, key=lambda frame: frame.weight)
    category: Category = (
        "suicide" if any(frame.category == "suicide" for frame in frames) else "self_harm"
    )
    confidence = strongest.weight + 0.03 * (len(frames) - 1)
    if _all_in_the_past(hits):
        # A past attempt with no recovery said: still a crisis verdict, held less surely.
        confidence -= 0.2
    names = ", ".join(frame.name for frame in frames)
    return Verdict(
        is_crisis=True,
        confidence=round(min(0.97, max(0.5, confidence)), 2),
        category=category,
        reason=f"first-person risk statement: {names}",
        stage="offline",
    )


def _crisis_on_mention() -> Verdict:
    return Verdict(
        is_crisis=True,
        confidence=0.5,
        category="suicide",
        reason="a mention of suicide or self-harm with no other context",
        stage="offline",
    )


def _verdict(category: Category, confidence: float, reason: str) -> Verdict:
    return Verdict(
        is_crisis=False, confidence=confidence, category=category, reason=reason, stage="offline"
    )
