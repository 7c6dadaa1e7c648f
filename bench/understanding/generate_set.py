"""Seeded generator for the question-understanding evaluation set.

    python bench/understanding/generate_set.py

writes bench/understanding/generated.jsonl, byte-for-byte the same on every run.
Pure stdlib. Every template and word list lives in this file or, for the third round, in
third_round.py beside it; it reads only the
game data (schema stat names, roster, factions, patch ids) and handwritten.jsonl
(to avoid duplicating a hand-written question).
"""

import hashlib
import json
import os
import random
import unicodedata

import third_round

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "characters", "data")
OUT = os.path.join(HERE, "generated.jsonl")
SEED = 44_2026

STATS = [
    "level",
    "health",
    "mana",
    "attack",
    "defense",
    "speed",
    "attack_speed",
    "crit_chance",
    "attack_range",
    "ability_power",
    "health_regen",
    "cost",
]

# ---------------------------------------------------------------- vocabulary
# Noun phrases a player may use for each stat (American spelling; the British
# register rewrites them).
NOUNS = {
    "level": ["level", "lvl", "char level", "experience level", "current level"],
    "health": ["health", "hp", "hit points", "max health", "health pool", "total hp", "max hp"],
    "mana": ["mana", "mp", "mana pool", "max mana", "mana reserve", "magic points"],
    "attack": ["attack", "atk", "attack damage", "damage", "dmg", "weapon damage", "base damage"],
    "defense": ["defense", "def", "armor", "armor rating", "toughness", "defense rating"],
    "speed": [
        "move speed",
        "movement speed",
        "movespeed",
        "ms",
        "running speed",
        "walk speed",
        "speed",
    ],
    "attack_speed": [
        "attack speed",
        "atk speed",
        "attacks per second",
        "swing speed",
        "attack rate",
        "aspd",
    ],
    "crit_chance": [
        "crit chance",
        "crit",
        "critical chance",
        "crit rate",
        "critical hit chance",
        "crit %",
    ],
    "attack_range": ["attack range", "range", "reach", "atk range", "weapon range"],
    "ability_power": ["ability power", "ap", "spell power", "magic power", "spell damage"],
    "health_regen": [
        "health regen",
        "hp regen",
        "regen",
        "health regeneration",
        "hp regeneration",
        "life regen",
    ],
    "cost": ["cost", "price", "gold cost", "recruit cost", "hiring price", "recruitment cost"],
}

# Whole questions that describe a stat by what it does, without naming it.
DESCRIBE = {
    "level": [
        "how experienced are you",
        "how far have you leveled up",
        "how many levels have you gained",
    ],
    "health": [
        "how much damage can you take before you fall",
        "how many hits can you survive",
        "how much of a beating can you take",
    ],
    "mana": [
        "how much magic can you channel before you run dry",
        "how big is your pool of magic",
        "how many spells can you fuel before you're empty",
    ],
    "attack": [
        "how hard do you hit",
        "how much damage does each of your hits deal",
        "how much does one of your hits hurt",
    ],
    "defense": [
        "how well armored are you",
        "how much does your armor block",
        "how thick is your armor",
    ],
    "speed": ["how fast do you move", "how quickly can you run", "how fast can you cross the map"],
    "attack_speed": [
        "how fast do you attack",
        "how many times can you strike in a second",
        "how quickly do you swing",
    ],
    "crit_chance": [
        "how often do you crit",
        "how often do your hits land as criticals",
        "what are your odds of landing a critical hit",
    ],
    "attack_range": [
        "how far can you hit from",
        "how far can your attacks reach",
        "from how far away can you strike",
    ],
    "ability_power": [
        "how strong are your spells",
        "how hard does your magic hit",
        "how powerful is your spellcasting",
    ],
    "health_regen": [
        "how fast do you heal",
        "how quickly does your health come back",
        "how fast do your wounds mend",
    ],
    "cost": [
        "how much gold do you cost",
        "how much does it cost to recruit you",
        "what's the price to hire you",
    ],
}

# "than before" comparisons (changes) and "than NAME" comparisons (compare).
COMPARE_CLAUSE = {
    "level": ["are you higher level than {o}", "who's more experienced, you or {o}"],
    "health": ["do you have more hp than {o}", "who can take more punishment, you or {o}"],
    "mana": ["do you have a bigger mana pool than {o}", "who has more mana, you or {o}"],
    "attack": ["do you hit harder than {o}", "who deals more damage per hit, you or {o}"],
    "defense": ["are you better armored than {o}", "whose armor is thicker, yours or {o}'s"],
    "speed": [
        "are you faster than {o}",
        "who's quicker on their feet, you or {o}",
        "can you outrun {o}",
    ],
    "attack_speed": ["do you attack faster than {o}", "who swings faster, you or {o}"],
    "crit_chance": ["do you crit more often than {o}", "who has better crit odds, you or {o}"],
    "attack_range": ["can you outrange {o}", "who can hit from further away, you or {o}"],
    "ability_power": [
        "are your spells stronger than {o}'s",
        "who has more spell power, you or {o}",
    ],
    "health_regen": ["do you heal faster than {o}", "who regenerates quicker, you or {o}"],
    "cost": [
        "are you more expensive than {o}",
        "do you cost more gold than {o}",
        "are you cheaper than {o}",
    ],
}
CHANGE_CLAUSE = {
    "level": ["are you higher level"],
    "health": ["do you have more hp", "do you have less health"],
    "mana": ["do you have more mana", "is your mana pool smaller"],
    "attack": ["do you hit harder", "do you hit softer"],
    "defense": ["is your armor better", "is your armor worse"],
    "speed": ["are you faster", "are you slower"],
    "attack_speed": ["do you swing faster", "do you attack slower"],
    "crit_chance": ["do you crit more often", "do you crit less"],
    "attack_range": ["can you hit from further away", "is your range shorter"],
    "ability_power": ["are your spells stronger", "are your spells weaker"],
    "health_regen": ["do you heal faster", "do you regenerate slower"],
    "cost": ["are you cheaper", "are you pricier"],
}

# Roster superlatives: (high, low) adjectives for "who is the ___ elf".
SUPERLATIVE = {
    "speed": ("fastest", "slowest"),
    "cost": ("most expensive", "cheapest"),
    "level": ("highest level", "lowest level"),
    "attack": ("hardest hitting", "weakest hitting"),
    "attack_range": ("longest ranged", "shortest ranged"),
}
ROSTER_NOUNS = {
    "level": ["level", "lvl"],
    "health": ["health", "hp", "hit points"],
    "mana": ["mana", "mp"],
    "attack": ["attack", "damage", "atk"],
    "defense": ["defense", "armor"],
    "speed": ["move speed", "movement speed"],
    "attack_speed": ["attack speed", "attacks per second"],
    "crit_chance": ["crit chance", "crit"],
    "attack_range": ["range", "attack range"],
    "ability_power": ["ability power", "spell power", "ap"],
    "health_regen": ["health regen", "regen"],
    "cost": ["cost", "price", "gold cost"],
}
FACTION_WORDS = {
    "orcish": {
        "one": ["orc"],
        "many": ["orcs", "orc warriors", "greenskins"],
        "adj": ["orcish", "orc"],
    },
    "elvish": {"one": ["elf"], "many": ["elves", "elven heroes"], "adj": ["elvish", "elven"]},
    "human": {"one": ["human"], "many": ["humans", "human heroes"], "adj": ["human"]},
    "dwarvish": {"one": ["dwarf"], "many": ["dwarves", "dwarfs"], "adj": ["dwarven", "dwarvish"]},
}
EVERYONE = ["in the game", "in the whole roster", "of everyone", "out of all characters", "overall"]
NUMBER_WORDS = {
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    10: "ten",
}

UNKNOWN = [
    "stamina",
    "luck",
    "charisma",
    "dodge chance",
    "evasion",
    "lifesteal",
    "life steal",
    "mana regen",
    "mana regeneration",
    "block chance",
    "magic resist",
    "magic resistance",
    "armor penetration",
    "cooldown reduction",
    "accuracy",
    "intelligence",
    "wisdom",
    "agility",
    "dexterity",
    "tenacity",
    "vision range",
    "sight radius",
    "spell vamp",
    "morale",
    "carry weight",
    "parry chance",
    "poison resistance",
    "fire resistance",
    "win rate",
    "pick rate",
    "kill count",
    "shield strength",
    "thorns damage",
]
UNKNOWN_DESCRIBE = [
    "how old are you",
    "how tall are you",
    "how heavy are you",
    "how lucky are you",
    "how far can you see",
    "how high can you jump",
    "how much can you lift",
    "how good are you at dodging",
    "how charming are you",
    "how many kills do you have",
    "what's your birthday",
]

GREET = [
    "hey",
    "hello",
    "yo",
    "greetings",
    "hiya",
    "good evening",
    "morning",
    "sup",
    "heya",
    "hail",
]
FAREWELL = ["bye", "see you later", "gotta go", "farewell", "later", "goodnight", "cya"]
SMALL_CORE = [
    "how are you",
    "what are you up to",
    "how's it going",
    "tell me a joke",
    "know any good jokes",
    "make me laugh",
    "what's your favorite weapon",
    "do you like the rain",
    "what do you think about dragons",
    "what's your favorite color",
    "can we be friends",
    "do you ever sleep",
    "are you having a good day",
    "you're my favorite character",
    "you're trash",
    "i'm gonna main you this season",
    "thanks for the help",
    "do you like music",
    "what's your favorite season",
    "you look tired",
    "nice hat",
    "you're kind of scary",
    "do you have a pet",
    "sing something",
    "what's your favorite drink",
    "say something cool",
    "i love your voice lines",
]
ANIMALS = ["a horse", "a wolf", "a cheetah", "a cat", "a chicken", "a bear"]
MONSTERS = ["a dragon", "a troll", "an ogre", "a giant", "a kraken", "a hydra"]

LORE_CORE = [
    "who are you",
    "where do you come from",
    "tell me about yourself",
    "what's your story",
    "what's your background",
    "where were you born",
    "what's your history",
    "what drives you",
    "tell me about your past",
    "who are your people",
    "what do you want most in life",
    "what's your homeland like",
    "tell me about your family",
    "how did you get your name",
    "what was your childhood like",
    "who trained you",
]
LORE_REGION = [
    "tell me about {r}",
    "what was it like growing up in {r}",
    "what's {r} like",
    "why did you leave {r}",
    "do you miss {r}",
]
LORE_ROLE = ["how did you become {role}", "why did you become {role}", "what does {role} do"]
LORE_FACTION = ["tell me about the {many}", "what's the history of the {many}"]

ALL_CORE = [
    "show me all your stats",
    "what are all your stats",
    "full stats",
    "your whole stat sheet please",
    "give me your complete stat card",
    "every stat you have",
    "list all your numbers",
    "what do all your stats look like",
    "all stats",
    "stat card pls",
    "post your full sheet",
    "what's your full stat line",
    "give me the full rundown of your stats",
    "all ur numbers",
    "whole card",
    "what are your stats",
    "how do your stats look overall",
    "full statblock",
]
ALL_PATCH = [
    "what were all your stats in {p}",
    "full stat sheet as of {p}",
    "your whole card from {p}",
    "all your numbers back in {p}",
    "show me every stat you had in {p}",
]

CHANGE_PLAIN = [
    "did you get nerfed",
    "were you buffed",
    "what changed on you",
    "any changes to you lately",
    "did the last patch change you",
    "what got nerfed on you",
    "buffs or nerfs lately",
    "how have you changed recently",
    "are you weaker than before",
    "are you better now than last week",
    "did the devs buff you",
    "what's different about you this week",
    "any nerfs this patch",
    "did you get any buffs",
    "what did the latest patch do to you",
]
CHANGE_SINCE = [
    "what changed since {p}",
    "any buffs since {p}",
    "have you been nerfed since {p}",
    "how have your stats moved since {p}",
    "what's different since {p}",
    "list your changes since {p}",
]
CHANGE_PATCH = [
    "what did {p} change for you",
    "how did {p} treat you",
    "were you touched in {p}",
    "what happened to you in {p}",
]
CHANGE_STAT = [
    "did your {n} get nerfed",
    "was your {n} buffed",
    "has your {n} changed",
    "did they change your {n}",
    "did your {n} go down",
    "did your {n} go up",
]
CHANGE_STAT_SINCE = [
    "has your {n} changed since {p}",
    "did your {n} go up since {p}",
    "how much has your {n} moved since {p}",
]
CHANGE_STAT_PATCH = ["did {p} nerf your {n}", "was your {n} changed in {p}"]
THAN_BEFORE = [" than before", " than last week", " than last patch", " than a few patches ago"]

CHATTY_PRE = [
    "hey so quick question, ",
    "ok so i've been playing you for a while and i was wondering, ",
    "sorry if this is dumb but ",
    "my friend and i were arguing about this: ",
    "before i spend my gold, ",
    "real quick, ",
    "alright, honest answer: ",
]
CHATTY_POST = [
    " thanks!",
    " asking for a friend",
    " just curious",
    " no rush",
    " thanks in advance",
]
FORMAL_PRE = ["Pardon me, but ", "If I may ask, ", "Kindly tell me: ", "Pray tell, "]
SLANG_POST = [" lol", " bro", " fr", " ngl", " rn", " m8", " pls"]
BRIT_POST = [" mate", ", cheers", " if you don't mind"]
SLANG_WORDS = {
    "you": "u",
    "your": "ur",
    "are": "r",
    "what's": "whats",
    "please": "pls",
    "you're": "ur",
    "why": "y",
    "okay": "ok",
    "going": "goin",
}
UK = {
    "armor": "armour",
    "armored": "armoured",
    "defense": "defence",
    "color": "colour",
    "favorite": "favourite",
    "leveled": "levelled",
}

# ---------------------------------------------------------------- vocabulary, second round
# Added for the end-to-end answers bench: more one-stat questions in the held-out half and
# roster questions that filter by role. New words and templates only; the families above are
# untouched, so their questions stay byte for byte the same.

# Each held-out part must hold at least this many one-stat questions (no patch) per stat,
# counted over both files; the one-stat family below keeps going until it does.
HELD_ONE_STAT_PER_STAT = 16

# What a stat does, said without its name (register "descriptive").
DOES = {
    "level": [
        "how seasoned a fighter are you by now",
        "how much experience have you racked up",
        "how far along the leveling path are you",
        "how many levels have you climbed so far",
        "how battle-tested are you, experience wise",
    ],
    "health": [
        "how many hits can you take before you drop",
        "how many blows does it take to bring you down",
        "how big is your life bar",
        "how much life have you got in you",
        "how much damage can you take before you're dead",
    ],
    "mana": [
        "how much magical fuel do you carry",
        "how many spells can you cast before you run out of juice",
        "how deep does your reserve of magic go",
        "how full can your magic tank get",
        "how much arcane energy can you store",
    ],
    "attack": [
        "how much does a single swing of your weapon hurt",
        "how much damage do your basic hits do",
        "how painful is one of your blows",
        "how much damage is in each of your strikes",
        "how heavy do your hits land",
    ],
    "defense": [
        "how much of an incoming hit does your armor shave off",
        "how well protected are you against blows",
        "how much damage does your armor stop",
        "how sturdy is the armor you wear",
        "how hard is it to get through your armor",
    ],
    "speed": [
        "how quick are you on your feet",
        "how fast can you get across the battlefield",
        "how fast do you run",
        "how quickly can you get from one side of the map to the other",
        "how nimble are you on foot",
    ],
    "attack_speed": [
        "how many swings can you get off in a second",
        "how long do you wait between two attacks",
        "how rapidly can you strike",
        "how often can you attack each second",
        "how quick are your strikes, one after another",
    ],
    "crit_chance": [
        "what are the odds that one of your hits is a critical",
        "how likely are your attacks to crit",
        "what share of your hits turn into critical strikes",
        "how often does a hit of yours come out as a crit",
        "what percent of your strikes are critical hits",
    ],
    "attack_range": [
        "from what distance can you hit someone",
        "how close do enemies have to be before you can hit them",
        "how far away can your attacks land",
        "how long is your reach in a fight",
        "how far out can you strike from",
    ],
    "ability_power": [
        "how much damage do your abilities deal",
        "how potent is your magic",
        "how much punch do your spells pack",
        "how strong are the abilities you cast",
        "how devastating is your spellcraft",
    ],
    "health_regen": [
        "how quickly do you get your health back",
        "how fast do your wounds close up on their own",
        "how much health do you recover each second",
        "how fast does your life bar fill back up",
        "how quickly do you recover from a beating",
    ],
    "cost": [
        "how much gold does it take to hire you",
        "what would i have to pay to unlock you",
        "how pricey are you to recruit",
        "how much coin do you charge to join my team",
        "how much will you cost me",
    ],
}
# Yes/no questions about one stat's value, also without its name.
YES_NO = {
    "level": ["are you high level", "are you a veteran by now, level wise"],
    "health": ["do you have a lot of life", "is your life bar a long one"],
    "mana": ["do you have plenty of magic to spend", "do you run out of magic quickly"],
    "attack": ["do your hits really hurt", "do you hit hard"],
    "defense": ["is your armor any good", "is your armor thick"],
    "speed": ["are you quick on foot", "do you run fast"],
    "attack_speed": ["do you swing quickly", "are your attacks rapid"],
    "crit_chance": ["do you crit a lot", "do your hits crit often"],
    "attack_range": ["can you hit from far away", "is your reach long"],
    "ability_power": ["are your spells strong", "does your magic pack a punch"],
    "health_regen": ["do you recover health quickly", "do your wounds heal fast"],
    "cost": ["are you expensive", "are you cheap to hire"],
}
# Short forms and gamer shorthand, beside NOUNS.
SHORT_NOUNS = {
    "level": ["lv", "char lvl", "lvl #"],
    "health": ["hitpoints", "health bar", "life total", "hp total"],
    "mana": ["mana bar", "manapool", "mp pool", "mana cap"],
    "attack": ["attack dmg", "atk dmg", "hit damage", "auto attack damage"],
    "defense": ["def stat", "armor value", "armor stat"],
    "speed": ["spd", "move spd", "run speed", "movespd"],
    "attack_speed": ["atk spd", "atkspd", "attack spd", "hits per second"],
    "crit_chance": ["crit odds", "crit%", "critical strike chance", "crit rate %"],
    "attack_range": ["atk reach", "hit range", "range stat", "attack reach"],
    "ability_power": ["spell dmg", "ability damage", "spellpower", "magic dmg"],
    "health_regen": ["hp/s", "regen rate", "hp regen rate", "healing per second"],
    "cost": ["gold price", "unlock cost", "hire cost", "price tag"],
}
# British spellings and words for the stat, used by the British templates (the US forms are in
# NOUNS and SHORT_NOUNS).
UK_NOUNS = {
    "level": ["level", "character level"],
    "health": ["health", "hit points"],
    "mana": ["mana", "mana pool"],
    "attack": ["attack", "damage"],
    "defense": ["defence", "armour", "armour rating", "defence rating"],
    "speed": ["movement speed", "running speed"],
    "attack_speed": ["attack speed", "swing speed"],
    "crit_chance": ["critical hit chance", "crit chance"],
    "attack_range": ["attack range", "range"],
    "ability_power": ["spell power", "ability power"],
    "health_regen": ["health regeneration", "health regen"],
    "cost": ["recruitment fee", "hiring fee", "cost"],
}
PLAIN_T = [
    "what is your {n} right now",
    "could you give me your {n}",
    "what's the {n} on you",
    "how high is your {n}",
    "i'd like to know your {n}",
    "what number is your {n} at",
    "remind me what your {n} is",
    "what does your {n} come to",
]
TERSE_T = ["{n}??", "{n} = ?", "{n} val?", "{n}:", "ur {n}?", "{n} number", "just the {n}"]
SLANG_T = [
    "yo whats ur {n}",
    "ur {n} tho?",
    "wat is ur {n}",
    "drop ur {n}",
    "whats ur {n} lookin like",
    "spill ur {n}",
    "{n} on u?",
]
CHATTY_T = [
    "ok so me and my mates are planning a raid tonight and i need to know: {q}",
    "long time player, first time asking. {q}",
    "i keep forgetting this every time i log in, {q}",
    "not gonna lie, i've been wondering about this for a while: {q}",
    "i'm putting a team together for the weekend so tell me, {q}",
    "settle something for me, {q}",
    "quick one before my match starts: {q}",
]
BRIT_T = [
    "what's your {n} at the moment, mate",
    "could you tell me your {n}, please",
    "what's your {n} looking like, then",
    "go on then, what's your {n}",
    "I'd love to know your {n}, cheers",
    "be a love and tell me your {n}",
    "what's your {n} these days, if you don't mind me asking",
]
BRIT_DOES = {
    "defense": ["how well armoured are you", "how much does your armour soak up"],
    "level": ["how far have you levelled up", "how much levelling have you done"],
    "cost": ["how dear are you to recruit", "what's your recruitment fee in gold, love"],
    "speed": ["how quick are you on your feet, mate", "how fast can you leg it"],
}
REGISTER_CYCLE = [
    "descriptive",
    "slang",
    "terse",
    "chatty",
    "british",
    "typo",
    "plain",
    "descriptive",
    "typo",
    "slang",
    "caps",
    "british",
]

# Roster questions that name a role (or two): verbs that say what the stat does, for the
# highest and the lowest ("which ranger ___").
ROLE_VERB = {
    "level": ("is the highest level", "is the lowest level"),
    "health": ("can take the most hits", "goes down the easiest"),
    "mana": ("has the deepest mana pool", "has the shallowest mana pool"),
    "attack": ("hits the hardest", "hits the softest"),
    "defense": ("has the thickest armor", "has the flimsiest armor"),
    "speed": ("runs the fastest", "runs the slowest"),
    "attack_speed": ("swings the fastest", "swings the slowest"),
    "crit_chance": ("crits the most often", "crits the least often"),
    "attack_range": ("can hit from the farthest", "has the shortest reach"),
    "ability_power": ("has the strongest spells", "has the weakest spells"),
    "health_regen": ("heals the fastest", "heals the slowest"),
    "cost": ("costs the most gold", "costs the least gold"),
}
PLURAL = {"crossbowman": "crossbowmen"}  # every other role takes an "s"
ROLE_T = [
    "which {role} has the {hl} {n}",
    "who's the {role} with the {hl} {n}",
    "out of all the {roles}, who has the {hl} {n}",
    "among the {roles}, who has the {hl} {n}",
    "i want the {role} with the {hl} {n}",
    "which {role} {vp}",
    "out of the {roles}, who {vp}",
]
ROLE_FACTION_T = [
    "which {adj} {role} {vp}",
    "{adj} {role} with the {hl} {n}?",
    "who is the {adj} {role} with the {hl} {n}",
]
ROLE_COUNT_T = [
    "top {k} {roles} by {n}",
    "bottom {k} {roles} by {n}",
    "list the {k} {roles} with the {hl} {n}",
    "which {k} {roles} have the {hl} {n}",
]
ROLE_GROUP_T = [
    "which {a} or {b} has the {hl} {n}",
    "out of the {a_s} and {b_s}, who has the {hl} {n}",
    "among {a_s} and {b_s}, who {vp}",
]


# ---------------------------------------------------------------- helpers
def norm_key(q):
    """Duplicate key: case, spacing and punctuation do not make a new question."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in q.lower()).split())


def fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def load():
    with open(os.path.join(DATA, "roster.json"), encoding="utf-8") as fh:
        roster = json.load(fh)
    patches = []
    pdir = os.path.join(DATA, "patches")
    for fn in sorted(os.listdir(pdir)):
        if fn.endswith(".json"):
            with open(os.path.join(pdir, fn), encoding="utf-8") as fh:
                patches.append(json.load(fh)["patch"])
    return roster, patches


def patch_phrase(rng, pid, slangy=False):
    """How a player writes a patch id: full, short, with 'patch' or 'the ... hotfix'."""
    short = pid.split("-", 1)[1]  # "W44" or "W45-hotfix"
    if short.endswith("-hotfix"):
        base = short[: -len("-hotfix")]
        forms = [pid, short, "the " + base + " hotfix", "patch " + short]
    else:
        forms = [pid, short, "patch " + short, "patch " + pid]
    p = rng.choice(forms)
    if slangy and rng.random() < 0.5:
        p = p.lower()
    return p


def join_list(rng, items):
    if len(items) == 1:
        return items[0]
    style = rng.random()
    if len(items) == 2:
        return rng.choice([" and ", " & ", " + ", "/", ", "]).join(items)
    if style < 0.5:
        return ", ".join(items[:-1]) + " and " + items[-1]
    return rng.choice([", ", "/"]).join(items)


def typo_word(rng, w):
    for _ in range(20):
        t = _typo_once(rng, w)
        if t.lower() != w.lower():
            return t
    return w[:-1]


def _typo_once(rng, w):
    i = rng.randrange(1, len(w) - 1)
    op = rng.randrange(4)
    if op == 0:  # swap
        return w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    if op == 1:  # drop
        return w[:i] + w[i + 1 :]
    if op == 2:  # double
        return w[:i] + w[i] + w[i:]
    near = {
        "a": "s",
        "e": "r",
        "i": "o",
        "o": "i",
        "s": "a",
        "t": "r",
        "r": "e",
        "n": "m",
        "h": "j",
        "l": "k",
    }
    c = w[i]
    return w[:i] + near.get(c, c) + w[i + 1 :]


def add_typos(rng, text, protected):
    words = text.split(" ")
    cand = [
        i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha() and w.lower() not in protected
    ]
    if not cand:
        return text, False
    n = 1 if len(cand) < 6 else rng.choice([1, 2])
    for i in rng.sample(cand, min(n, len(cand))):
        words[i] = typo_word(rng, words[i])
    return " ".join(words), True


def to_slang(rng, text):
    out = []
    for w in text.split(" "):
        low = w.lower()
        out.append(SLANG_WORDS.get(low, w) if rng.random() < 0.85 else w)
    t = " ".join(out).lower().rstrip("?!.")
    if rng.random() < 0.5:
        t += rng.choice(SLANG_POST)
    return t


def to_british(text):
    out = []
    for w in text.split(" "):
        core = w.rstrip("?!.,'s")
        tail = w[len(core) :]
        out.append(UK.get(core.lower(), core) + tail if core.lower() in UK else w)
    return " ".join(out)


def has_uk(text):
    return any(w.strip("?!.,'").lower() in UK for w in text.split(" "))


QWORDS = {
    "what",
    "what's",
    "whats",
    "how",
    "who",
    "who's",
    "whos",
    "whose",
    "which",
    "can",
    "could",
    "do",
    "does",
    "did",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "any",
    "from",
    "back",
    "during",
    "r",
    "u",
}


def is_question(text):
    w = text.lower().split()
    return bool(w) and (w[0] in QWORDS or text.endswith("?") or (len(w) > 1 and w[1] in QWORDS))


def finish(
    rng,
    text,
    style,
    protected,
    allow=("plain", "slang", "typo", "chatty", "caps", "british", "formal"),
):
    """Apply one register to a base question. style is the template's own register
    (plain, terse or descriptive)."""
    r = rng.random()
    if style == "terse":
        choices = [("terse", 0.6), ("typo", 0.15), ("caps", 0.1), ("slang", 0.15)]
    else:
        choices = [
            (style, 0.34),
            ("slang", 0.14),
            ("typo", 0.14),
            ("chatty", 0.12),
            ("caps", 0.06),
            ("british", 0.12),
            ("formal", 0.08),
        ]
    choices = [(k, p) for k, p in choices if k in allow or k == style]
    tot = sum(p for _, p in choices)
    acc = 0.0
    reg = choices[-1][0]
    for k, p in choices:
        acc += p / tot
        if r < acc:
            reg = k
            break
    t = text
    q = is_question(text)
    if reg == "british":
        if has_uk(t):
            t = to_british(t)
        else:
            t = t.rstrip("?") + rng.choice(BRIT_POST) + ("?" if q else "")
    elif reg == "slang":
        t = to_slang(rng, t)
    elif reg == "typo":
        t, ok = add_typos(rng, t.lower() if rng.random() < 0.6 else t, protected)
        if not ok:
            reg = style
    elif reg == "chatty":
        t = (
            rng.choice(CHATTY_PRE)
            + t.rstrip("?")
            + ("?" if q else ".")
            + (rng.choice(CHATTY_POST) if rng.random() < 0.6 else "")
        )
    elif reg == "caps":
        t = t.upper()
    elif reg == "formal":
        t = rng.choice(FORMAL_PRE) + t
        t = t[0].upper() + t[1:]
        t = t.replace(" i ", " I ")
        t = t.rstrip("?") + ("?" if q else ".")
    # casing / punctuation noise that does not change the register
    if reg in ("plain", "descriptive", "terse"):
        x = rng.random()
        if x < 0.35:
            t = t[0].upper() + t[1:]
        if rng.random() < 0.55 and not t.endswith("?"):
            t += rng.choice(["?", "?", "??", " ?", "!"]) if q else rng.choice(["!", ".", "!!"])
    return t, reg


# ---------------------------------------------------------------- generator
def main():
    rng = random.Random(SEED)
    roster, patches = load()
    {c["id"]: c for c in roster}
    first_count = {}
    for c in roster:
        k = fold(c["name"].split()[0]).lower()
        first_count[k] = first_count.get(k, 0) + 1
    name_words = set()
    for c in roster:
        for part in c["name"].replace("-", " ").split():
            name_words.add(part.lower())
            name_words.add(fold(part).lower())
    protected = name_words | {"hotfix", "patch"}

    seen = set()
    hand_rows = []
    hand = os.path.join(HERE, "handwritten.jsonl")
    if os.path.exists(hand):
        with open(hand, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    hand_rows.append(json.loads(line))
                    seen.add(norm_key(hand_rows[-1]["question"]))
    rows = []

    def emit(
        q, kind, reg, stats=(), patch=None, since=None, other=None, roster_q=None, speaker=None
    ):
        key = norm_key(q)
        if key in seen or not key:
            return False
        seen.add(key)
        if speaker is None:
            speaker = rng.choice(roster)["id"]
            while speaker == other:
                speaker = rng.choice(roster)["id"]
        rows.append(
            {
                "question": q,
                "kind": kind,
                "stats": list(stats),
                "patch": patch,
                "since": since,
                "other": other,
                "roster": roster_q,
                "register": reg,
                "source": "generated",
                "speaker": speaker,
            }
        )
        return True

    def tries(fn, n):
        made, guard = 0, 0
        while made < n and guard < n * 50:
            guard += 1
            if fn():
                made += 1

    def noun(s):
        return rng.choice(NOUNS[s])

    # ---- stats, one stat (9 per stat)
    single_t = [
        "what's your {n}",
        "what is your {n}",
        "{n}?",
        "tell me your {n}",
        "can you tell me your {n}",
        "i need your {n}",
        "your {n} please",
        "show me your {n}",
        "{n} pls",
        "what does your {n} look like",
        "how much {n} do you have",
        "what's your current {n}",
        "{n} check",
    ]
    terse_t = {"{n}?", "{n} pls", "{n} check"}
    for s in STATS:

        def one(s=s):
            if rng.random() < 0.35:
                base, style = rng.choice(DESCRIBE[s]), "descriptive"
            else:
                t = rng.choice(single_t)
                if t == "how much {n} do you have" and s in (
                    "level",
                    "cost",
                    "speed",
                    "attack_speed",
                    "crit_chance",
                    "attack_range",
                ):
                    t = "what's your {n}"
                base, style = t.format(n=noun(s)), ("terse" if t in terse_t else "plain")
            q, reg = finish(rng, base, style, protected)
            return emit(q, "stats", reg, [s])

        tries(one, 9)

    # ---- stats, several stats (52)
    multi_t = [
        "what's your {l}",
        "{l}?",
        "tell me your {l}",
        "i want your {l}",
        "show me {l}",
        "your {l} please",
    ]

    def multi():
        k = rng.choice([2, 2, 2, 3, 3, 4])
        ss = rng.sample(STATS, k)
        if rng.random() < 0.3 and k <= 3:
            parts = [
                rng.choice(DESCRIBE[s]) if rng.random() < 0.6 else "what's your " + noun(s)
                for s in ss
            ]
            base = " and ".join(parts) if k == 2 else ", ".join(parts[:-1]) + " and " + parts[-1]
            style = "descriptive"
        else:
            ns = [noun(s) for s in ss]
            if len(set(ns)) < len(ns):
                return False
            t = rng.choice(multi_t)
            base, style = t.format(l=join_list(rng, ns)), ("terse" if t == "{l}?" else "plain")
        q, reg = finish(rng, base, style, protected)
        return emit(q, "stats", reg, ss)

    tries(multi, 52)

    # ---- stats, as of a patch (34, a few with two stats)
    patch_t = [
        "what was your {n} in {p}",
        "{n} in {p}?",
        "what was your {n} as of {p}",
        "back in {p}, what was your {n}",
        "during {p} what was your {n}",
        "show me your {n} at {p}",
        "{n} as of {p}",
        "what did your {n} look like in {p}",
    ]
    patch_multi_t = [
        "what were your {l} in {p}",
        "{l} as of {p}?",
        "back in {p}, what were your {l}",
    ]

    def at_patch():
        pid = rng.choice(patches)
        p = patch_phrase(rng, pid)
        if rng.random() < 0.25:
            ss = rng.sample(STATS, 2)
            base = rng.choice(patch_multi_t).format(l=join_list(rng, [noun(s) for s in ss]), p=p)
        else:
            ss = [rng.choice(STATS)]
            base = rng.choice(patch_t).format(n=noun(ss[0]), p=p)
        style = (
            "terse"
            if base.endswith("?") and not base.startswith(("what", "back", "during", "show"))
            else "plain"
        )
        q, reg = finish(
            rng,
            base,
            style,
            protected | {p.lower()},
            allow=("plain", "typo", "chatty", "caps", "british", "slang"),
        )
        return emit(q, "stats", reg, ss, patch=pid)

    tries(at_patch, 34)

    # ---- all (32)
    def all_():
        if rng.random() < 0.25:
            pid = rng.choice(patches)
            base = rng.choice(ALL_PATCH).format(p=patch_phrase(rng, pid))
        else:
            pid, base = None, rng.choice(ALL_CORE)
        style = "terse" if len(base.split()) <= 3 else "plain"
        q, reg = finish(rng, base, style, protected)
        return emit(q, "all", reg, patch=pid)

    tries(all_, 32)

    # ---- changes (62)
    def changes():
        x = rng.random()
        stats, since, pid = [], None, None
        if x < 0.2:
            base = rng.choice(CHANGE_PLAIN)
        elif x < 0.35:
            since = rng.choice(patches[:-1])
            base = rng.choice(CHANGE_SINCE).format(p=patch_phrase(rng, since))
        elif x < 0.45:
            pid = rng.choice(patches)
            base = rng.choice(CHANGE_PATCH).format(p=patch_phrase(rng, pid))
        elif x < 0.65:
            s = rng.choice(STATS)
            stats = [s]
            base = rng.choice(CHANGE_STAT).format(n=noun(s))
        elif x < 0.75:
            s = rng.choice(STATS)
            stats, since = [s], rng.choice(patches[:-1])
            base = rng.choice(CHANGE_STAT_SINCE).format(n=noun(s), p=patch_phrase(rng, since))
        elif x < 0.82:
            s = rng.choice(STATS)
            stats, pid = [s], rng.choice(patches)
            base = rng.choice(CHANGE_STAT_PATCH).format(n=noun(s), p=patch_phrase(rng, pid))
        else:
            s = rng.choice(STATS)
            stats = [s]
            clause = rng.choice(CHANGE_CLAUSE[s])
            if rng.random() < 0.3:
                since = rng.choice(patches[:-1])
                base = (
                    clause + rng.choice([" than in ", " than back in "]) + patch_phrase(rng, since)
                )
            else:
                base = clause + rng.choice(THAN_BEFORE)
        q, reg = finish(rng, base, "plain", protected)
        return emit(q, "changes", reg, stats, patch=pid, since=since)

    tries(changes, 62)

    # ---- compare (46)
    def name_of(c):
        first = c["name"].split()[0]
        r = rng.random()
        if r < 0.3 and first_count[fold(first).lower()] == 1:
            return first
        if r < 0.4:
            return fold(c["name"])  # accents dropped, as on a plain keyboard
        return c["name"]

    def compare():
        other = rng.choice(roster)
        o = name_of(other)
        x = rng.random()
        if x < 0.45:
            s = rng.choice(STATS)
            stats = [s]
            base = rng.choice(COMPARE_CLAUSE[s]).format(o=o)
            style = "descriptive"
        elif x < 0.72:
            s = rng.choice(STATS)
            stats = [s]
            n = noun(s)
            base = rng.choice(
                [
                    "your {n} vs {o}'s",
                    "compare your {n} with {o}'s",
                    "is your {n} higher than {o}'s",
                    "how does your {n} stack up against {o}",
                    "who has more {n}, you or {o}",
                    "{n}: you or {o}",
                ]
            ).format(n=n, o=o)
            style = "plain"
        elif x < 0.82:
            stats = rng.sample(STATS, 2)
            base = rng.choice(
                [
                    "compare your {a} and {b} to {o}",
                    "you vs {o} on {a} and {b}",
                    "how do your {a} and {b} compare with {o}'s",
                ]
            ).format(a=noun(stats[0]), b=noun(stats[1]), o=o)
            style = "plain"
        else:
            stats = []
            base = rng.choice(
                [
                    "who would win, you or {o}",
                    "compare yourself with {o}",
                    "are you better than {o}",
                    "how do you measure up against {o}",
                    "you vs {o}",
                    "could you take {o} in a duel",
                    "is {o} a better pick than you",
                ]
            ).format(o=o)
            style = "plain"
        q, reg = finish(
            rng,
            base,
            style,
            protected,
            allow=("plain", "slang", "typo", "chatty", "british", "formal"),
        )
        speaker = rng.choice(roster)["id"]
        while speaker == other["id"]:
            speaker = rng.choice(roster)["id"]
        return emit(q, "compare", reg, stats, other=other["id"], speaker=speaker)

    tries(compare, 46)

    # ---- lore (40)
    def lore():
        sp = rng.choice(roster)
        x = rng.random()
        if x < 0.45:
            base = rng.choice(LORE_CORE)
        elif x < 0.7:
            base = rng.choice(LORE_REGION).format(r=sp["region"])
        elif x < 0.88:
            role = sp["role"].lower()
            base = rng.choice(LORE_ROLE).format(role=("an " if role[0] in "aeiou" else "a ") + role)
        else:
            base = rng.choice(LORE_FACTION).format(many=FACTION_WORDS[sp["faction"]]["many"][0])
        q, reg = finish(rng, base, "plain", protected | {w.lower() for w in sp["region"].split()})
        return emit(q, "lore", reg, speaker=sp["id"])

    tries(lore, 40)

    # ---- smalltalk (50)
    def small():
        x = rng.random()
        if x < 0.15:
            base = rng.choice(GREET)
        elif x < 0.25:
            base = rng.choice(FAREWELL)
        elif x < 0.75:
            base = rng.choice(SMALL_CORE)
            if rng.random() < 0.35:
                base = rng.choice(GREET) + " " + base
        elif x < 0.87:
            base = "are you faster than " + rng.choice(ANIMALS)
        else:
            base = rng.choice(
                ["could you beat ", "who would win, you or ", "are you scared of "]
            ) + rng.choice(MONSTERS)
        style = "terse" if len(base.split()) <= 2 else "plain"
        q, reg = finish(
            rng,
            base,
            style,
            protected,
            allow=("plain", "slang", "typo", "caps", "british", "formal"),
        )
        return emit(q, "smalltalk", reg)

    tries(small, 50)

    # ---- unknown stat (38)
    def unknown():
        if rng.random() < 0.3:
            base, style = rng.choice(UNKNOWN_DESCRIBE), "descriptive"
        else:
            u = rng.choice(UNKNOWN)
            t = rng.choice(
                [
                    "what's your {u}",
                    "{u}?",
                    "tell me your {u}",
                    "what's your {u} stat",
                    "do you have any {u}",
                    "what is your {u} at",
                    "{u} value pls",
                    "how good is your {u}",
                ]
            )
            base, style = t.format(u=u), ("terse" if t.startswith("{u}") else "plain")
        q, reg = finish(rng, base, style, protected)
        return emit(q, "unknown_stat", reg)

    tries(unknown, 38)

    # ---- roster (74): cycle stats so every stat appears, and factions
    factions = ["orcish", "elvish", "human", "dwarvish", None]
    plan = [(STATS[i % 12], factions[i % 5]) for i in range(74)]
    rng.shuffle(plan)

    for s, fac in plan:

        def roster_q(s=s, fac=fac):
            named_role = None  # the role's roster spelling, when the template names it
            lowest = rng.random() < 0.35
            count = None
            if rng.random() < 0.35:
                count = rng.choice([2, 3, 3, 4, 5, 5, 6, 7, 8, 10])
            n = rng.choice(ROSTER_NOUNS[s])
            hi_lo = (
                ("lowest" if lowest else "highest")
                if rng.random() < 0.6
                else ("least" if lowest else "most")
            )
            if s in ("level", "cost", "speed", "attack_speed", "crit_chance") and hi_lo in (
                "least",
                "most",
            ):
                hi_lo = "lowest" if lowest else "highest"
            k = (
                None
                if count is None
                else (str(count) if rng.random() < 0.6 else NUMBER_WORDS[count])
            )
            if fac:
                fw = FACTION_WORDS[fac]
                one, many, adj = (
                    rng.choice(fw["one"]),
                    rng.choice(fw["many"]),
                    rng.choice(fw["adj"]),
                )
                roles = sorted({c["role"] for c in roster if c["faction"] == fac})
                role_name = rng.choice(roles)
                role = role_name.lower()
                if count is None:
                    opts = [
                        "which {one} has the {hl} {n}",
                        "who has the {hl} {n} among the {many}",
                        "{adj} character with the {hl} {n}?",
                        "who's got the {hl} {n} of all the {many}",
                        "which {adj} {role} has the {hl} {n}",
                    ]
                    if s in SUPERLATIVE:
                        sup = SUPERLATIVE[s][1 if lowest else 0]
                        opts += [
                            "who is the {sup} {one}",
                            "{sup} {one}?",
                            "which {one} is the {sup}",
                        ]
                    else:
                        sup = ""
                    t = rng.choice(opts)
                    named_role = role_name if "{role}" in t else None
                    base = t.format(one=one, many=many, adj=adj, role=role, hl=hi_lo, n=n, sup=sup)
                else:
                    top = "bottom" if lowest else "top"
                    opts = [
                        "{top} {k} {many} by {n}",
                        "list the {top} {k} {many} by {n}",
                        "who are the {k} {adj} characters with the {hl} {n}",
                        "show me the {k} {adj} {role}s with the {hl} {n}",
                    ]
                    if s in SUPERLATIVE:
                        sup = SUPERLATIVE[s][1 if lowest else 0]
                        opts += ["the {k} {sup} {many}", "{k} {sup} {many}?"]
                    else:
                        sup = ""
                    t = rng.choice(opts)
                    named_role = role_name if "{role}" in t else None
                    base = t.format(
                        top=top, k=k, many=many, adj=adj, role=role, hl=hi_lo, n=n, sup=sup
                    )
            else:
                ev = rng.choice(EVERYONE)
                if count is None:
                    opts = [
                        "who has the {hl} {n} {ev}",
                        "which character has the {hl} {n}",
                        "who's got the {hl} {n} {ev}",
                    ]
                    if s in SUPERLATIVE:
                        sup = SUPERLATIVE[s][1 if lowest else 0]
                        opts += ["who is the {sup} character {ev}", "{sup} character?"]
                    else:
                        sup = ""
                    base = rng.choice(opts).format(hl=hi_lo, n=n, ev=ev, sup=sup)
                else:
                    top = "bottom" if lowest else "top"
                    opts = [
                        "{top} {k} characters by {n}",
                        "who are the {k} characters with the {hl} {n} {ev}",
                        "list the {top} {k} by {n} {ev}",
                    ]
                    base = rng.choice(opts).format(top=top, k=k, hl=hi_lo, n=n, ev=ev)
            style = "terse" if base.endswith("?") or len(base.split()) <= 4 else "plain"
            q, reg = finish(
                rng,
                base,
                style,
                protected,
                allow=("plain", "slang", "typo", "chatty", "british", "caps"),
            )
            return emit(
                q,
                "roster",
                reg,
                [s],
                roster_q={
                    "stat": s,
                    "faction": fac,
                    "role": named_role,
                    "lowest": lowest,
                    "count": count,
                },
            )

        tries(roster_q, 1)

    # ---- stats, one stat, second round: new phrasings, one stat after another, until every
    # stat has HELD_ONE_STAT_PER_STAT one-stat questions (no patch) in the held-out half.
    # Every question made is kept, in either half; the split only says when to stop.
    def held_out(q):
        return int(hashlib.sha256(q.lower().strip().encode("utf-8")).hexdigest(), 16) % 2 == 0

    held = dict.fromkeys(STATS, 0)
    for r in hand_rows + rows:
        if r["kind"] == "stats" and len(r["stats"]) == 1 and r["patch"] is None:
            held[r["stats"][0]] += held_out(r["question"])
    turn = [0]

    def any_noun(s):
        return rng.choice(NOUNS[s] + SHORT_NOUNS[s])

    def tidy(t, q=True):
        """Casing and end punctuation that do not change the register."""
        if rng.random() < 0.35:
            t = t[0].upper() + t[1:]
        if rng.random() < 0.6 and not t.endswith(("?", ":")):
            t += rng.choice(["?", "?", "??", " ?"]) if q else rng.choice(["!", "."])
        return t

    def one_more(s):
        reg = REGISTER_CYCLE[turn[0] % len(REGISTER_CYCLE)]
        turn[0] += 1
        if reg == "descriptive":
            q = tidy(rng.choice(DOES[s] + YES_NO[s]))
        elif reg == "slang":
            if rng.random() < 0.3:
                q = to_slang(rng, rng.choice(DOES[s]))
            else:
                q = rng.choice(SLANG_T).format(n=any_noun(s)).lower()
            if not any(w.strip("?!.,") in SLANG_WORDS.values() for w in q.split()):
                q += rng.choice(SLANG_POST)  # to_slang changed nothing: say it the slang way
            elif rng.random() < 0.4:
                q += rng.choice(SLANG_POST)
        elif reg == "terse":
            q = rng.choice(TERSE_T).format(n=any_noun(s))
            if rng.random() < 0.25:
                q = q.upper()
        elif reg == "chatty":
            inner = rng.choice(DOES[s]) if rng.random() < 0.5 else "what's your " + any_noun(s)
            q = rng.choice(CHATTY_T).format(q=inner) + "?"
            if rng.random() < 0.4:
                q += rng.choice(CHATTY_POST)
        elif reg == "british":
            if s in BRIT_DOES and rng.random() < 0.4:
                q = rng.choice(BRIT_DOES[s])
            else:
                q = rng.choice(BRIT_T).format(n=rng.choice(UK_NOUNS[s]))
            asks = any(w in ("what's", "how", "could") for w in q.lower().split())
            q += "?" if asks else rng.choice([".", "!", ""])
            if rng.random() < 0.5:
                q = q[0].upper() + q[1:]
        elif reg == "typo":
            base = (
                rng.choice(DOES[s])
                if rng.random() < 0.5
                else (rng.choice(PLAIN_T).format(n=rng.choice(NOUNS[s])))
            )
            q, ok = add_typos(rng, base, protected)
            if not ok:
                return False
            q = tidy(q)
        elif reg == "caps":
            base = (
                rng.choice(DOES[s])
                if rng.random() < 0.5
                else (rng.choice(PLAIN_T).format(n=rng.choice(NOUNS[s])))
            )
            q = base.upper() + rng.choice(["?", "??", ""])
        else:
            q = tidy(rng.choice(PLAIN_T).format(n=any_noun(s)))
        return emit(q, "stats", reg, [s])

    guard = 0
    while any(held[s] < HELD_ONE_STAT_PER_STAT for s in STATS) and guard < 20_000:
        for s in STATS:
            if held[s] >= HELD_ONE_STAT_PER_STAT:
                continue
            for _ in range(60):
                guard += 1
                if one_more(s) and held_out(rows[-1]["question"]):
                    held[s] += 1
                    break

    # ---- roster, naming a role (or two roles): every stat, every role, with and without
    # the faction, with counts
    role_faction = {c["role"]: c["faction"] for c in roster}
    role_cycle = sorted(role_faction)
    rng.shuffle(role_cycle)
    role_words = set()
    for r in role_faction:
        for w in [*r.lower().replace("-", " ").split(), r.lower()]:
            role_words |= {w, w + "s", PLURAL.get(w, w)}

    faction_words = {w for fw in FACTION_WORDS.values() for ws in fw.values() for w in ws}

    def role_word(name, plural=False):
        w = name.lower()
        if "-" in w and rng.random() < 0.3:
            w = w.replace("-", " ")
        if plural:
            w = PLURAL.get(w, w + "s")
        return w

    forms = ["role", "role_faction", "count", "group", "role"]
    role_plan = [
        (STATS[i % 12], forms[i % len(forms)], role_cycle[i % len(role_cycle)]) for i in range(60)
    ]
    rng.shuffle(role_plan)

    for s, form, rname in role_plan:

        def role_q(s=s, form=form, rname=rname):
            lowest = rng.random() < 0.4
            count, fac, role, adj = None, None, rname, ""
            a = b = role_word(rname)
            a_s = b_s = role_word(rname, plural=True)
            if form == "role":
                t = rng.choice(ROLE_T)
            elif form == "role_faction":
                fac = role_faction[rname]
                adj = rng.choice(FACTION_WORDS[fac]["adj"])
                t = rng.choice(ROLE_FACTION_T)
            elif form == "count":
                count = rng.choice([2, 3, 3, 4, 5])
                t = rng.choice(ROLE_COUNT_T)
                if t.startswith(("top", "bottom")):
                    lowest = t.startswith("bottom")
            else:
                other = rng.choice([r for r in role_cycle if r != rname])
                role = [rname, other]
                b, b_s = role_word(other), role_word(other, plural=True)
                t = rng.choice(ROLE_GROUP_T)
            hl = "lowest" if lowest else "highest"
            if rng.random() < 0.4 and s not in ("level", "cost", "speed", "attack_speed"):
                hl = "least" if lowest else "most"
            k = (
                None
                if count is None
                else (str(count) if rng.random() < 0.6 else NUMBER_WORDS[count])
            )
            base = t.format(
                role=a,
                roles=a_s,
                a=a,
                b=b,
                a_s=a_s,
                b_s=b_s,
                adj=adj,
                hl=hl,
                n=rng.choice(ROSTER_NOUNS[s]),
                vp=ROLE_VERB[s][1 if lowest else 0],
                k=k,
            )
            style = "terse" if base.endswith("?") or len(base.split()) <= 4 else "plain"
            q, reg = finish(
                rng,
                base,
                style,
                protected | role_words | faction_words,
                allow=("plain", "slang", "typo", "chatty", "british", "caps"),
            )
            return emit(
                q,
                "roster",
                reg,
                [s],
                roster_q={
                    "stat": s,
                    "faction": fac,
                    "role": role,
                    "lowest": lowest,
                    "count": count,
                },
            )

        tries(role_q, 1)

    # ---- third round (third_round.py): new templates and words for every kind, from a random
    # generator of its own, so that nothing above changes
    third_round.generate(random.Random(SEED + 3), roster, patches, protected, emit)

    with open(OUT, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} questions to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
