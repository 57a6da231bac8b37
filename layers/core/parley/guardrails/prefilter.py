"""Stage 1: which messages a classifier must look at, decided in microseconds.

Its job is recall. A message it clears gets an ordinary answer with no second look, so it flags
whatever might be about wanting to die or hurting oneself and leaves precision to stage 2 (the
classifier model, or ``offline`` without one). What it may clear is what is plainly about
something else, and it says so by *senses*, not by words: "me muero de la risa", "this exam is
killing me", "kill -9 the worker" or "I got killed in Fortnite" use the words of death in a
sense that is not the writer's own death.

So it looks twice at the message's matching form (``normalize.matching_form``):

1. **Risk frames**, on the whole text: a person wanting to die, to not exist, to kill or hurt
   themselves ("quiero morir", "kill myself", "no quiero seguir viviendo"). These flag whatever
   else the message says, so an idiom beside a risk statement cannot hide it.
2. **Risk terms**, on the text with its benign senses masked: the words of death, killing and
   suicide, self-harm, means (pills, rope, bridge), farewell and finality ("last message",
   "cuiden a mi perro"), hopelessness and burden ("better off without me", "soy una carga").
   An idiom, a game's or a program's death is masked first; whatever is left flags.

The signals are pattern names (``frame:death_wish``, ``term:means``), never the text.
"""

from __future__ import annotations

import re

from parley.guardrails.language import detect_language
from parley.guardrails.normalize import matching_form, matching_pattern, matching_source
from parley.guardrails.verdict import Screening

__all__ = ["mask_benign_senses", "risk_frames", "screen"]

# Laughter or an eye-roll near a phrase marks it as a joke ("lmao I'm dead 😂").
LAUGHTER = (
    r"(?:\blol\b|\blmao\b|\blmfao\b|\brofl\b|\bxd\b|\bhaha\w*|\bjaja\w*|\bjeje\w*|\bjsjs\w*"
    r"|😂|🤣|💀|😭|🙄|😅|😆)"
)

# Senses of the words of death that are not the writer's own death. Each is masked before
# the risk terms are looked for; none can hide a risk frame (those are matched unmasked).
_BENIGN_SOURCES = (
    # Spanish idioms of excess: dying of laughter, hunger, sleep, wanting...
    r"\b(?:me |se |te |nos )?(?:muero|muere|muera|mueres|morimos|moria|moriria|morir\w*|muert[oa]s?"
    r"|muriendo|mato|mata|matan)"
    r" (?:de |del )(?:la |el )?(?:risa|hambre|sed|sueno|frio|calor|ganas|envidia|amor|miedo"
    r"|verguenza|aburrimiento|cansancio|nervios|curiosidad|emocion|gusto|asco|celos|ternura"
    r"|felicidad|alegria|impaciencia)\b",
    r"\b(?:me |se |te )?(?:muero|muere|morimos|moria) por (?:ver|verte|verlo|verla|ir|saber"
    r"|conocer|probar|tener|comer|salir|que|un|una|el|la|los|las|tu|su|estar)\b",
    r"\b(?:esta|estaba|quedo|queda|sabe|sabia) de muerte\b",
    r"\bestoy muert[oa]s?\b(?! por dentro| en vida)",
    # Someone or something else "kills me": hyperbole (the pain, the exam, the boss).
    r"\bme (?:esta |estan |estas |va a |van a |vas a |vaya a |iba a )?(?:mata|matan|matas|matando"
    r"|matar|mataria|mataron)\b",
    r"\b(?:matar|mata|kil\w*) (?:dos pajaros|two birds|el tiempo|the time|time)\b",
    r"\b(?:dying|muriendo) (?:to|for|por) (?!die\b|be dead\b|morir)\w+",
    r"\b(?:to|would|d|i?d) die for\b",
    r"\b(?:is|are|s|re|was|were|be|wil|would|l)(?: \w+){0,3} kil\w* (?:me|it|them)\b",
    r"\bkil\w* it\b",
    r"\bkil for (?:a|an|some|the|one)\b",
    r"\bthe death of me\b",
    # A message or a time referred back to, not a farewell: "the last message I sent you".
    r"\b(?:the|my|your|our) last (?:message|text|email|time)s? (?:i|you|we|they) (?:sent|wrote"
    r"|got|received|checked|talked|spoke|met|saw|tried|did|asked)\b",
    r"\b(?:el|mi|tu|su) ultimo (?:mensaje|correo) que (?:te |me |le )?(?:envie|mande|escribi"
    r"|enviaste|mandaste|escribiste)\b|\bla ultima vez que\b",
    r"\b(?:i am|i|i just|i literally|we|we are)(?: literally| so| actualy| just)? (?:dead|dying"
    r"|died|ded|deceased)\b"
    r"(?! inside)(?=.{0,40}" + LAUGHTER + ")",
    LAUGHTER
    + r".{0,20}\b(?:i am|i|we are)(?: literally| so)? (?:dead|dying|died|ded)\b(?! inside)",
    r"\bdie of (?:embarasment|boredom|laughter|shame|cringe|hunger|thirst)\b",
    r"\bdead (?:battery|link|code|end|lock|pixel|zone|weight|serious|simple|easy|wrong|right|center"
    r"|heat)\b",
    # Things that die: devices, plants, pets' food... and their Spanish.
    r"\b(?:phone|battery|laptop|plant|plants|car|computer|pc|tablet|flower|flowers|tree|fish"
    r"|goldfish"
    r"|hamster|planta|plantas|bateria|celular|telefono|movil|compu|computadora|arbol|flores|pila)"
    r"(?: \w+){0,3} (?:dying|died|dead|dies|die|muere|murio|muriendo|muerta|muerto)\b",
    # Names: the film, car doors, drills.
    r"\bsu?i?[cs]id\w* (?:squad|doors?|mision|run|runs|burpes|sprints?|drils?|lane|king|kings"
    r"|boys)\b",
    r"\b(?:escuadron|puertas?|mision|carera)s? su?i?[cs]id\w*",
    # Programs, processes and servers: killed, dying, dead.
    r"\bkil ?(?:-\w+|%\d+|\d+)",
    r"\b(?:pkil|kilal|sigkil|oomkil\w*|taskkil|xkil)\b",
    r"\bkil(?:ing|ed|s)? (?:-\w+ )?(?:the |a |al |this |that |my |every |each |zombie |child "
    r"|orphan"
    r" |stuck |hung |running |old |background |of |these |those )*(?:process\w*|proc|pid|jobs?"
    r"|tasks?"
    r"|workers?|servers?|threads?|containers?|pods?|sessions?|query|queries|tabs?|apps?|programs?"
    r"|scripts?|services?|daemons?|instances?|nodes?|ports?|conections?|terminals?|shels?|loops?"
    r"|switch|signal|command|build|vm|docker)\b",
    r"\bmat(?:ar|o|a|as|e|en|ando|arlo|alo) (?:el |un |los |las |la |todos los |todas las )?"
    r"(?:procesos?|tareas?|servidor\w*|hilos?|contenedor\w*|sesion\w*|pid|puertos?|apps?|programas?"
    r"|node)\b",
    r"\b(?:process\w*|proceso\w*|servers?|servidor\w*|container\w*|contenedor\w*|docker|pods?"
    r"|scripts?"
    r"|apps?|aplicacion\w*|programs?|programa\w*|workers?|hilos?|jobs?|builds?|kernel|daemon"
    r"|services?"
    r"|node|instances?|threads?|lambda|function|funcion)(?: \w+){0,4} (?:dies|died|dying|die|dead"
    r"|muere|murio|se muere|muriendo|muera|muerto|killed|kiled)\b",
)
# In a message about a game, a kill or a death is the game's. Masked only there, and only the
# bare words: "quiero morir" in the same message is a risk frame and flags all the same.
_GAME = matching_pattern(
    r"\b(?:fortnite|minecraft|roblox|valorant|warzone|cod|call of duty|elden ring|dark souls|zelda"
    r"|skyrim|mario|diablo|free ?fire|apex|pubg|overwatch|gta|league of legends|halo|among us"
    r"|genshin|pokemon|fifa|the game|el juego|videojuegos?|juegos?|games?|gaming|level|nivel"
    r"|boss|bosses|jefe final|respawn|loot|inventario|personaje|character|round|ronda|partida"
    r"|ender dragon|zombies?|loadout|npc|mobs?|pvp|raid|dungeon|mazmora|speedrun|fps|multiplayer"
    r"|lvl|checkpoint|hp)\b"
)
_GAME_DEATHS = matching_pattern(
    r"\b(?:kil|kils|kiled|kiling|killer|die|died|dies|dying|dead|death|deaths|muero|muere|mori"
    r"|morir|murio|muri|mueren|mataron|matan|matar|mato|matas|mata|matarlo|matarla|matalo|muerte)\b"
)
_BENIGN = matching_pattern("|".join(f"(?:{source})" for source in _BENIGN_SOURCES))

# Stage 1's risk frames: matched on the unmasked text, each flags on its own.
_FRAME_SOURCES = {
    "self_kill": r"\bkil\w* (?:my ?self|my ?selves)\b|\bend(?:ing)? (?:my|my own) life\b"
    r"|\btake my (?:own )?life\b|\bcommit\w* su?i?[cs]id|\bmatarme\b|\bme mato\b"
    r"|\bme (?:voy|quiero|queria|iba) a matar\b|\bquitarme la vida\b|\bsu?i?[cs]idarme\b"
    r"|\bme (?:voy a |quiero )?su?i?[cs]id\w*|\b(?:acabar|terminar) con mi vida\b|\bme mataria\b"
    r"|\bmatandome\b|\bend it al\b|\bend it\b(?! (?:with|in|on|at|by|there|here|now\?))"
    r"|\b(?:terminar|acabar) con todo\b",
    "death_wish": r"\b(?:want|wanted|wanting|wish|wishing|hope|ready|going|trying|deserve|need"
    r"|rather)"
    r" (?:to |i (?:was|were|could|would|had) |i |just |realy |so |to just |i could just )*"
    r"(?:die|be dead|dead|not exist|not be alive|disappear|vanish|not wake up|never wake up"
    r"|sleep forever"
    r"|be gone|never (?:ben )?born|cease to exist)\b"
    r"|\b(?:quiero|quisiera|queria|ganas de|deseo|ojala|prefiero|necesito|me gustaria|quiero ya)"
    r" (?:ya |solo |simplemente |no |nunca )?(?:morir\w*|estar muert\w*|desaparecer"
    r"|dejar de existir"
    r"|no existir|no despertar|dormir y no despertar|que todo termine|que se acabe todo"
    r"|que (?:todo )?se (?:acabe|termine))"
    r"|\bsobro\b|\bno deberia (?:haber nacido|existir|estar aqui)\b"
    r"|\b(?:drive|driving|crash|crashing|steer|steering) (?:my car |the car |my bike )?(?:into|off)"
    r" (?:a |the )?(?:wal|tre|truck|bridge|clif|rail\w*|oncoming)\b"
    r"|\bestrellar(?:me)? (?:el coche|el carro|el auto|contra)\b"
    r"|\bme quiero (?:morir|desaparecer)\b|\bojala (?:me muera|estuviera muert\w*|no despert\w*"
    r"|no existiera|nunca hubiera nacido|me muriera)",
    "not_living": r"\b(?:dont|do not|doesnt|does not|no longer|not|nt)(?: \w+){0,2} (?:want"
    r"|feel like)"
    r" (?:to )?(?:live|be alive|be here|exist|wake up|go on|keep going|keep living|continue)\b"
    r"|\bno (?:quiero|quisiera|quiere|tengo ganas de)(?: \w+)? (?:vivir|seguir|estar aqui|existir"
    r"|despertar)\b|\bya no (?:quiero|puedo|quiere) (?:seguir|vivir)\b|\bsu?i?[cs]idal\b"
    r"|\bif i (?:wasnt|was not|werent|were not) (?:here|around|alive)\b",
    "third_party": r"\bkil\w* (?:him|her|them|your)sel(?:f|ves)\b|\b(?:matarse|morirse"
    r"|su?i?[cs]idarse|quitarse la vida)\b|\bquiere morir\w*"
    r"|\b(?:end\w*|take|taking|took) (?:his|her|their) (?:own )?life\b"
    r"|\bse (?:quiere|queria|va a|iba a|quiso) (?:matar|morir|su?i?[cs]idar)",
    "self_harm": r"\b(?:cut|cuting|cuts|burn|burning|burnt|burned|hurt|hurting|harm|harming|hit"
    r"|hiting|starve|starving|punish|punishing|scratch|scratching) (?:my ?self|him ?self"
    r"|her ?self)\b"
    r"|\bself ?(?:harm\w*|injur\w*|mutilat\w*)|\bautoles\w*|\b(?:cortarme|quemarme|lastimarme"
    r"|golpearme|castigarme|cortarse|lastimarse|quemarse)\b|\b(?:me|se"
    r"|te)(?: \w+){0,2} hacer dano\b|\bme (?:corto|corte|cortaba|queme|quemo"
    r"|lastimo|lastime|golpeo|pego)\b|\bse corta\b|\bhacer(?:me|se|te) (?:dano|mal)\b"
    # Self-harm told as a habit or a relapse, without "myself": "been cutting again", "me
    # estoy haciendo daño otra vez", "punch walls until my hands bleed".
    r"|\b(?:cuting|burning|hurting) (?:again|agin|myself again)\b|\bstarted (?:cuting|burning)\b"
    r"|\bcuting (?:on )?my (?:arms?|wrists?|legs?|thighs?|skin|body)\b"
    r"|\b(?:until|til|till) (?:i|my \w+) (?:bled|bleds|bleding)\b"
    r"|\b(?:haciendome|haciendo(?:me)?) (?:dano|mal)\b|\bme (?:hago|hice|he hecho) (?:dano|mal)\b"
    r"|\bme (?:volvi|vuelvo|he vuelto) a (?:cortar|lastimar|quemar|hacer dano|golpear)\b",
}
_FRAMES = tuple(
    (f"frame:{name}", matching_pattern(source)) for name, source in _FRAME_SOURCES.items()
)

# Stage 1's risk terms: matched on the text with benign senses masked.
_TERM_SOURCES = {
    "death": r"\b(?:die|dying|died|dead|death|deceased|morir\w*|muer[eota]\w*|mori|morire\w*|murio"
    r"|muriendo|fallecer)\b",
    "killing": r"\b(?:kil|kils|kiled|kiling|matar\w*|mato|mata|matan|mataron|matando|mataria"
    r"|matame)\b",
    "suicide": r"\bsu?i?[cs]id\w*|\bunalive\w*",
    "means": r"\b(?:pils?|pastilas?|sobredosis|overdos\w*|od|letal|lethal|fatal|mortal(?:es)?|rope"
    r"|noose"
    r"|cuerda|soga|gun|pistola|arma|bridge|puente|jump|tirarme|aventarme|lanzarme|veneno|poison"
    r"|razor|blade|navaja|cuchil\w*|bleach|cloro|meds)\b"
    r"|\b(?:cuts|cortes|scars|cicatrices|wrists?|munecas|relaps\w*|reca[ií]\w*)\b"
    r"|\b(?:lo voy a hacer|voy a hacerlo|how i am going to do it|going to do it|picked a (?:date"
    r"|day)"
    r"|eleg[ií] (?:el|la) (?:dia|fecha)|tengo un plan|i have a plan|have it planned)\b",
    "farewell": r"\blast (?:message|messages|text|words|time)\b|\bultim[oa]s? (?:mensaje|palabras"
    r"|vez)\b"
    r"|\bgod ?bye|\badios\b|\bdespedi\w*|\bdespedirme\b|\bdespedida\b"
    r"|\b(?:wrote|writen|writing|left|leave|deje|escribi|escribiendo)(?: \w+){0,2} (?:notes?"
    r"|letters?"
    r"|cartas?|notas?)\b|\b(?:give|gave|given|giving) (?:\w+ ){0,3}away\b|\bregal[eoa]\w*"
    r"|\b(?:take|takes|taking|look|looks) (?:care of|after) my\b|\bcuid(?:en|a|ar"
    r"|enme)(?: \w+){0,1} mi\b"
    r"|\bwont be (?:around|here|there)\b|\bno (?:voy|vaya) a estar\b|\bcuando (?:ya )?no este\b"
    r"|\b(?:when|after|once) i am gone\b|\btel my \w+ (?:i|that i) love\b|\bdiganle\b"
    r"|\b(?:its|it is) time\b|\bya no voy a poder\b|\bwont need\b|\bno (?:las|los|la"
    r"|lo) voy a necesitar\b",
    "hopelessness": r"\bburden\b|\b(?:una|un) carga\b|\bestorbo\b|\bbetter off\b|\bmejor sin mi\b"
    r"|\b(?:feli[zc]\w*|mejor\w*|tranquil\w*) sin mi\b|\b(?:happier|easier|better) (?:if i"
    r"|without me)\b"
    r"|\bwithout me\b|\bsin mi\b|\bpoint (?:of|in) (?:living|life|going on|anything|being alive"
    r"|trying)\b"
    r"|\bno point\b|\bwhats the point\b|\bsentido (?:a |de |en )?(?:la vida|vivir|seguir|nada)\b"
    r"|\bno tiene sentido\b|\bcant (?:go on|do this|take it|anymore)\b|\bno puedo mas\b"
    r"|\bno aguanto\b|\bdone with (?:life|everything|it al|living)\b|\bwant (?:it|this|everything)"
    r"(?: al)? to stop\b|\bque todo (?:termine|acabe|pare)\b|\bnot exist\b|\bexistir\b"
    r"|\bexist anymore\b"
    r"|\bdisappear\w*|\bdesaparec\w*|\b(?:never|not|no|dont|nt) wake up\b|\bdespertar\b"
    r"|\bbe here anymore\b|\bestar aqui\b|\bseguir viviendo\b|\bkeep living\b|\blive anymore\b"
    r"|\bvivir\b|\b(?:nobody|no one|noone|nadie)(?: \w+){0,3} (?:notice|care|mis|importa\w*"
    r"|extran\w*|echaria\w*|echara\w*|notaria\w*|daria cuenta)"
    r"|\breason to (?:live|keep|go on|stay)\b|\b(?:to be|being|stay|not) alive\b|\balive to\b"
    r"|\bwont be alive\b|\bgive up on (?:life|everything)\b|\bhopeles\w*|\bsin esperanza\b"
    r"|\bno (?:vale|valgo) la pena\b|\bworthles\b|\bno sirvo para nada\b|\bempty inside\b"
    r"|\bdead inside\b|\bmuert[oa] por dentro\b|\bpara siempre\b|\bforever\b",
}
# One pass for all terms; each alternative is a named group so a match names its term.
_TERMS = re.compile(
    "|".join(f"(?P<{name}>{matching_source(source)})" for name, source in _TERM_SOURCES.items())
)


def screen(text: str) -> Screening:
    """Stage 1's decision for one message: flagged when stage 2 must look at it."""
    form = matching_form(text)
    signals = [name for name, pattern in _FRAMES if pattern.search(form)]
    # Masking only takes text away, so a message with no risk term unmasked has none masked:
    # most messages stop here, without paying for the benign senses.
    if not signals and _TERMS.search(form) is None:
        return Screening(flagged=False, language=detect_language(text))
    remaining = mask_benign_senses(form)
    signals.extend(
        f"term:{name}"
        for name in dict.fromkeys(match.lastgroup for match in _TERMS.finditer(remaining))
        if name is not None
    )
    return Screening(flagged=bool(signals), language=detect_language(text), signals=tuple(signals))


def mask_benign_senses(form: str, *, games: bool = True) -> str:
    """``form`` (a matching form) with the senses of death that are not one's own blanked;
    with ``games``, also a game's kills and deaths when the message is about a game."""
    masked = _BENIGN.sub(" ", form)
    if games and _GAME.search(masked):
        masked = _GAME_DEATHS.sub(" ", masked)
    return masked


def risk_frames(form: str) -> tuple[tuple[str, int], ...]:
    """Stage 1's risk frames found in ``form`` (a matching form): each one's name and where
    its first match starts."""
    found = ((name, pattern.search(form)) for name, pattern in _FRAMES)
    return tuple((name, match.start()) for name, match in found if match is not None)
