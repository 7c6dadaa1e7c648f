"""The understanding set's third round of generated questions (stdlib only).

Called by generate_set.py after its first two rounds, with a random generator of its own, so
that the earlier rounds' questions stay byte for byte the same. Every template and word here is
new: none of the earlier rounds' template strings is reused. It reads only what generate_set.py
hands it (the roster, the patch ids and the words typos must not touch).
"""

import unicodedata

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

# ---------------------------------------------------------------- stat words
# Nouns for each stat (American spelling).
NOUN = {
    "level": ["hero level", "level number", "xp level", "character lvl"],
    "health": ["vitality", "health points", "hp pool", "life points", "max hit points"],
    "mana": ["mana capacity", "mana points", "max mp", "magic reserve", "mana tank"],
    "attack": ["attack power", "physical damage", "damage per hit", "base attack", "atk power"],
    "defense": ["armor points", "defense stat", "armor score", "defensive rating"],
    "speed": ["walking speed", "travel speed", "footspeed", "movement rate", "mvmt speed"],
    "attack_speed": [
        "attack tempo",
        "swing rate",
        "attacks/sec",
        "attack frequency",
        "strikes per second",
    ],
    "crit_chance": [
        "chance to crit",
        "crit percentage",
        "critical strike chance",
        "crit chance %",
        "critical rate",
    ],
    "attack_range": ["attack distance", "striking distance", "max range", "weapon reach"],
    "ability_power": [
        "spell strength",
        "magic damage",
        "ability dmg",
        "spellcasting power",
        "ability strength",
    ],
    "health_regen": [
        "regeneration",
        "hp recovery",
        "health recovery rate",
        "regen per second",
        "hp regen/s",
    ],
    "cost": ["recruit price", "unlock price", "hiring cost", "price in gold"],
}
# British forms, where they differ.
UK_NOUN = {
    "defense": ["defence", "armour points", "armour score", "defence stat"],
    "level": ["character level"],
    "cost": ["recruitment price", "hiring fee in gold"],
}
# Stats for which "how much {n}" reads badly.
NOT_AMOUNT = {
    "level",
    "speed",
    "attack_speed",
    "crit_chance",
    "attack_range",
    "health_regen",
    "cost",
}

# One stat, said by what it does.
WHAT_IT_DOES = {
    "level": ["how much experience have you built up", "how many levels have you earned"],
    "health": [
        "how much damage can you absorb before you fall over",
        "how much punishment can you soak up before you go down",
    ],
    "mana": [
        "how much magic do you have stored up",
        "how long can you keep casting before you're drained",
    ],
    "attack": ["how much damage does a basic hit of yours do", "how hard does your weapon hit"],
    "defense": [
        "how much does your armor protect you",
        "how hard are you to hurt through all that armor",
    ],
    "speed": ["how quickly do you get around the map", "how fast are you on foot"],
    "attack_speed": [
        "how many attacks do you get in per second",
        "how fast can you chain your attacks together",
    ],
    "crit_chance": [
        "how often do your attacks land a critical",
        "what's the chance that a hit of yours is a critical one",
    ],
    "attack_range": [
        "how far away can you be and still hit",
        "how much distance can your attacks cover",
    ],
    "ability_power": ["how much damage do your spells do", "how strong is your spellcasting"],
    "health_regen": [
        "how much health do you get back every second",
        "how quickly do your wounds heal on their own",
    ],
    "cost": [
        "how much gold do i need to get you",
        "what would it cost to add you to my team",
    ],
}

ONE_T = {
    "plain": [
        "what's your {n} sitting at",
        "what {n} do you have",
        "so what's your {n}",
        "what's your {n} currently",
        "tell me what your {n} is",
        "give me your {n}, please",
        "what's the number on your {n}",
        "i'm curious about your {n}",
    ],
    "amount": ["how much {n} have you got", "how much {n} are you working with"],
    "terse": ["{n} plz", "{n}?!", "{n} stat?", "need {n}", "{n} number pls", "ur {n} pls"],
    "slang": [
        "bruh whats ya {n}",
        "lemme see that {n} real quick",
        "yo {n} check?",
        "whats the {n} situation fam",
        "gimme ya {n} bro",
        "ngl i need ur {n}",
    ],
    "british": [
        "what's your {n} then, mate",
        "right, what's your {n} like",
        "reckon you could tell me your {n}",
        "sorry to bother you, what's your {n}",
        "tell us your {n}, would you",
    ],
    "sarcastic": [
        "oh sure, everyone says you're great. what's your {n} then",
        "let me guess, your {n} is amazing too? go on, what is it",
        "wow, {n} must be your best stat, right? what is it actually",
        "bet your {n} is nothing special. what is it",
    ],
    "formal": [
        "Would you be so kind as to state your {n}?",
        "May I enquire as to your {n}?",
        "I should like to know your {n}, if you would.",
    ],
}
CHATTY_T = [
    "so i'm theorycrafting a new build and the one thing i'm missing is this: {q}",
    "my guild keeps asking me this and i never know the answer, {q}",
    "okay random question while i wait for the queue, {q}",
    "i just unlocked you yesterday and i'm still learning, {q}",
    "been maining you for a week now and loving it, but {q}",
]
ONE_CYCLE = [
    "plain",
    "terse",
    "slang",
    "chatty",
    "british",
    "sarcastic",
    "formal",
    "descriptive",
    "typo",
    "caps",
]

MULTI_T = {
    "plain": [
        "can i get your {l}",
        "what do your {l} look like",
        "give me {l}, please",
        "list your {l}",
        "quick rundown of your {l}?",
    ],
    "terse": ["{l} pls", "{l} numbers?"],
    "slang": ["yo drop ya {l}", "lemme get them {l} numbers"],
    "british": ["what's your {l} like, mate", "go on, tell us your {l}"],
}

AT_PATCH_T = [
    "what was your {n} back in {p}",
    "your {n} during {p}?",
    "in {p}, what did your {n} read",
    "{n} at {p}, please",
    "remind me of your {n} in {p}",
    "what {n} did you have as of {p}",
]
AT_PATCH_AMOUNT_T = ["how much {n} did you have in {p}"]
AT_PATCH_MULTI_T = ["what were your {a} and {b} back in {p}", "{a} + {b} in {p}?"]

ALL_T = [
    "lemme see the whole sheet",
    "every number on your card please",
    "what's on your stat card",
    "all your attributes please",
    "the full breakdown of your stats",
    "complete stats pls",
    "run me through all your stats",
    "entire stat block?",
    "your stats, all of them",
    "what do your numbers look like across the board",
    "everything on your sheet, go",
    "gimme the full stat spread",
    "I'd like your complete set of numbers, please.",
    "right then, let's see your full stat sheet, mate",
]
ALL_PATCH_T = [
    "your full card as it was in {p}",
    "all your numbers from {p}",
    "every stat you had during {p}",
    "show the complete sheet for {p}",
]

# ---------------------------------------------------------------- changes
CH_NOSTAT = [
    "did they nerf you",
    "how did the last patch treat you",
    "are you any stronger than last week",
    "stronger than last week or nah",
    "did the devs do you dirty this week",
    "did you catch any buffs lately",
    "how hard did they nerf you",
    "did the balance team touch you",
    "were you buffed or nerfed in the latest update",
    "are you weaker now than you were last week",
    "did the last update help you or hurt you",
    "what did the patch notes do to you",
    "any love from the devs recently",
    "have you been changed at all lately",
    "did you get hit with the nerf hammer",
    "are you better or worse after the last patch",
    "did they gut you again",
]
CH_SARCASTIC = [
    "oh great, nerfed again i suppose? what did they take",
    "let me guess, the devs buffed you again?",
    "wow, another week, another nerf for you, huh? what was it this time",
]
CH_SINCE = [
    "what's changed for you since {p}",
    "any nerfs since {p}",
    "how have you been tweaked since {p}",
    "since {p}, what's different about you",
    "changes since {p}?",
    "have the devs touched you since {p}",
    "are you stronger now than in {p}",
    "are you weaker than you were in {p}",
]
CH_PATCH = [
    "did {p} nerf you",
    "were you buffed in {p}",
    "what did you get in {p}",
    "did {p} do anything for you",
    "how did you come out of {p}",
    "what changed about you in {p}",
]
CH_STAT = [
    "did they nerf your {n}",
    "has your {n} been buffed lately",
    "did your {n} drop last patch",
    "is your {n} lower than last week",
    "did the devs bump your {n}",
    "{n} nerfed?",
    "was your {n} touched this week",
    "did your {n} get better or worse",
]
CH_STAT_SINCE = [
    "has your {n} gone down since {p}",
    "{n} changes since {p}?",
    "is your {n} higher now than in {p}",
    "what's happened to your {n} since {p}",
]
CH_STAT_PATCH = [
    "did {p} touch your {n}",
    "did your {n} change in {p}",
    "was your {n} nerfed in {p}",
]
# "than before" with no character: a change in one stat.
CH_CLAUSE = {
    "health": ["can you take more hits than last week"],
    "mana": ["is your mana pool deeper than before"],
    "attack": ["do you hit any harder than last patch"],
    "defense": ["are you tougher than you were last week"],
    "speed": ["are you quicker than you were last week"],
    "attack_speed": ["do you attack any faster than last patch"],
    "crit_chance": ["do you crit more than you used to"],
    "attack_range": ["can you reach further than last week"],
    "ability_power": ["do your spells hit harder than last patch"],
    "health_regen": ["do you heal up faster than before"],
    "cost": ["are you pricier than you used to be"],
}

# ---------------------------------------------------------------- compare
CMP_STAT_T = [
    "is your {n} better than {o}'s",
    "who's got the bigger {n}, you or {o}",
    "{o} or you, higher {n}?",
    "do you beat {o} on {n}",
    "rate your {n} against {o}'s",
    "whose {n} is higher, yours or {o}'s",
]
CMP_CLAUSE = {
    "level": ["who's the higher level, you or {o}"],
    "health": ["can you take more hits than {o}"],
    "mana": ["do you have a deeper mana pool than {o}"],
    "attack": ["does {o} hit harder than you"],
    "defense": ["are you tougher than {o}"],
    "speed": ["do you run faster than {o}", "can {o} outrun you"],
    "attack_speed": ["who attacks quicker, you or {o}"],
    "crit_chance": ["does {o} crit more than you"],
    "attack_range": ["who's got more reach, you or {o}"],
    "ability_power": ["do your spells hit harder than {o}'s"],
    "health_regen": ["does {o} regen faster than you"],
    "cost": ["are you pricier than {o}", "is {o} cheaper to hire than you"],
}
CMP_TWO_T = ["{a} and {b}: you vs {o}", "who wins on {a} and {b}, you or {o}"]
CMP_NOSTAT_T = [
    "would you beat {o} one on one",
    "are you a better pick than {o}",
    "should i pick you or {o}",
    "{o} vs you, who wins",
    "how do you stack up next to {o}",
    "is {o} stronger than you",
    "are you weaker than {o}",
]
# (template, the stats it names)
CMP_SARCASTIC_T = [
    ("oh sure, you'd totally beat {o}, right?", []),
    ("yeah right, like you're faster than {o}", ["speed"]),
    ("yeah right, like you hit harder than {o}", ["attack"]),
    ("sure, and i bet you're tougher than {o} too", ["defense"]),
    ("oh please, {o} would wipe the floor with you", []),
]

# ---------------------------------------------------------------- lore and small talk
LORE_T = [
    "what's your origin story",
    "where's home for you",
    "who raised you",
    "what are you fighting for",
    "what was life like before you took up arms",
    "tell me about the place you grew up",
    "who were your parents",
    "how did your journey begin",
    "what do people say about you back home",
    "what's the legend about you",
]
LORE_REGION_T = [
    "describe {r} for me",
    "how long did you live in {r}",
    "what's {r} known for",
    "is {r} your home",
]
LORE_ROLE_T = ["what made you {a}", "how long have you been {a}", "who taught you to be {a}"]
LORE_FACTION_T = ["what are the {many} like", "where do the {many} come from"]
LORE_SARCASTIC = ["oh do go on, tell me your tragic backstory", "let me guess, a sad origin story?"]

SMALL_T = [
    "heyo",
    "howdy",
    "oi",
    "evening all",
    "good day to you",
    "what's good",
    "catch you later",
    "i'm off to bed",
    "peace out",
    "ttyl",
    "ty",
    "much appreciated",
    "what do you eat for breakfast",
    "do you enjoy a good fight",
    "do you like cats",
    "thoughts on goblins?",
    "what's the best tavern around here",
    "honestly you're pretty cool",
    "you're so overrated",
    "i think you're underrated",
    "what do you think of dwarves",
    "do you get along with the elves",
    "do you dream",
    "are you a morning person",
    "would you rather fight or feast",
    "do you ever get bored",
    "could you outrun a wolf",
    "are you stronger than a troll",
    "could you wrestle a bear",
    "what's your opinion on pineapple on pizza",
    "do you believe in ghosts",
    "cats or dogs?",
    "tea or coffee?",
    "is the ale around here any good",
    "you're kind of mid ngl",
]
SMALL_BRITISH = [
    "cheers for that",
    "what's your favourite song",
    "fancy a pint",
    "lovely weather we're having, innit",
    "ta very much",
]
SMALL_SARCASTIC = [
    "wow, you're SO scary",
    "oh great, you again",
    "truly the greatest hero of all time, clearly",
]

# ---------------------------------------------------------------- stats the game lacks
UNKNOWN = [
    "mana regen",
    "mana regeneration rate",
    "armor penetration",
    "armor pen",
    "lifesteal",
    "life steal",
    "dodge",
    "dodge rate",
    "luck",
    "stamina",
    "block chance",
    "chance to block",
    "crit damage",
    "critical damage",
    "spell penetration",
    "bleed chance",
    "stun resistance",
    "poise",
    "ability haste",
    "energy shield",
    "magic defense",
]
UNKNOWN_T = [
    "what's your {u} like",
    "do you get any {u}",
    "{u} stat?",
    "what's your {u} rating",
    "is your {u} any good",
    "got any {u}?",
    "how's your {u}",
]
UNKNOWN_DOES = [
    "how often do you dodge attacks",
    "how fast does your mana refill",
    "how often can you block a hit",
    "how much armor do your attacks ignore",
    "how long can you sprint before you get tired",
    "how lucky do you get in a fight",
    "how good is your eyesight",
    "how much extra damage do your crits do",
    "how long does it take you to respawn",
    "how much of the damage you deal do you heal back",
]
UNKNOWN_SARCASTIC = [
    "oh wow, i bet your dodge is off the charts",
    "sure, your lifesteal is probably incredible, right?",
]

# ---------------------------------------------------------------- roster
ROSTER_NOUN = {
    "level": ["level", "character level"],
    "health": ["vitality", "health points", "max hp"],
    "mana": ["mana capacity", "mana points", "max mp"],
    "attack": ["attack power", "physical damage", "base attack"],
    "defense": ["armor points", "defense stat"],
    "speed": ["walking speed", "movement rate", "travel speed"],
    "attack_speed": ["attack tempo", "swing rate", "attack frequency"],
    "crit_chance": ["crit percentage", "critical strike chance", "chance to crit"],
    "attack_range": ["attack distance", "max range", "weapon reach"],
    "ability_power": ["spell strength", "magic damage", "ability strength"],
    "health_regen": ["regeneration", "hp recovery", "regen per second"],
    "cost": ["recruit price", "hiring cost", "unlock price"],
}
# Amounts, where "most"/"least" reads well.
AMOUNT = {"health", "mana", "attack", "defense", "ability_power", "health_regen"}
# (high, low) single-word superlatives.
SUP = {
    "speed": ("quickest", "slowest"),
    "cost": ("priciest", "cheapest"),
    "level": ("most experienced", "least experienced"),
}
FACTION = {
    "orcish": {"one": "orc", "many": ["orcs", "orc characters"], "adj": ["orcish", "orc"]},
    "elvish": {"one": "elf", "many": ["elves", "elf characters"], "adj": ["elvish", "elven"]},
    "human": {"one": "human", "many": ["humans", "human characters"], "adj": ["human"]},
    "dwarvish": {
        "one": "dwarf",
        "many": ["dwarves", "dwarf characters"],
        "adj": ["dwarven", "dwarvish"],
    },
}
ROSTER_ALL_T = [
    "who in the game has the {hl} {n}",
    "name the character with the {hl} {n}",
    "which hero has the {hl} {n} right now",
    "across every faction, who has the {hl} {n}",
]
ROSTER_ALL_SUP_T = ["who's the {sup} hero on the roster", "the {sup} character, who is it"]
ROSTER_ALL_COUNT_T = [
    "the {k} characters with the {hl} {n}",
    "name {k} heroes with the {hl} {n}",
    "{top} {k} across the roster for {n}",
]
ROSTER_FAC_T = [
    "{many}: who has the {hl} {n}",
    "out of every {one}, who has the {hl} {n}",
    "the {adj} hero with the {hl} {n}?",
    "which of the {many} has the {hl} {n}",
]
ROSTER_FAC_SUP_T = ["the {sup} {one} in the game?", "who's the {sup} of the {many}"]
ROSTER_FAC_COUNT_T = [
    "give me the {k} {many} with the {hl} {n}",
    "rank the {top} {k} {many} for {n}",
    "who are the {k} {adj} heroes with the {hl} {n}",
    "show the {top} {k} of the {many} by {n}",
]
ROSTER_ROLE_T = [
    "which {role} has the {hl} {n} of them all",
    "{roles}: who's got the {hl} {n}",
    "name the {role} with the {hl} {n}",
]
ROSTER_ROLE_FAC_T = [
    "among {adj} {roles}, who has the {hl} {n}",
    "the {adj} {role} with the {hl} {n}?",
]
ROSTER_ROLE_COUNT_T = ["the {k} {roles} with the {hl} {n}", "{roles} ranked by {n}, {top} {k}"]
ROSTER_GROUP_T = [
    "who has the {hl} {n} among {a_s} and {b_s}",
    "{a_s} and {b_s} together: who has the {hl} {n}",
]
PLURAL = {"crossbowman": "crossbowmen"}
NUMBER = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 8: "eight", 10: "ten"}
SLANG_TAIL = [" fam", " bruh", " no cap", " tbh", " asap"]
BRIT_TAIL = [", ta", " please, mate", ", cheers mate"]
CHATTY_HEAD = [
    "ok so i'm building a team for ranked, ",
    "settling a debate in our discord: ",
    "need this for my guild tonight, ",
]
CHATTY_TAIL = [" ty!", " appreciate it", " thanks a ton"]
UK_SPELL = {"armor": "armour", "defense": "defence", "favorite": "favourite", "color": "colour"}


# ---------------------------------------------------------------- helpers
def fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def typo(rng, text, protected):
    """One or two misspelt words (two letters swapped, or one doubled), never a protected word
    and never a word under five letters, so the misspelling cannot land on another real word."""
    words = text.split(" ")
    cand = [
        i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.lower() not in protected
    ]
    if not cand:
        return text, False
    for i in rng.sample(cand, 1 if len(cand) < 5 else 2):
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        if rng.random() < 0.5 and w[j] != w[j + 1]:
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        else:
            words[i] = w[: j + 1] + w[j] + w[j + 1 :]
    return " ".join(words), True


def uk_spell(text):
    return " ".join(UK_SPELL.get(w, w) for w in text.split(" "))


def join(rng, items):
    if len(items) == 2:
        return rng.choice([" and ", " plus ", " & ", " n "]).join(items)
    return ", ".join(items[:-1]) + rng.choice([" and ", ", "]) + items[-1]


def patch_words(rng, pid):
    """How a player names a patch: "W44", "w44", "week 44", "the W44 patch", "the hotfix"."""
    short = pid.split("-", 1)[1]
    week = short[1:3]
    if short.endswith("-hotfix"):
        forms = [pid, "the hotfix", f"the W{week} hotfix", f"the week {week} hotfix", short]
    else:
        forms = [pid, short, short.lower(), f"week {week}", f"the {short} patch", f"patch {short}"]
    return rng.choice(forms)


def a_an(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


# ---------------------------------------------------------------- the round
def generate(rng, roster, patches, protected, emit):
    """Emit the third round's questions through generate_set.py's emit (which skips any
    question already in the set)."""
    ids = [c["id"] for c in roster]
    first_count = {}
    for c in roster:
        k = fold(c["name"].split()[0]).lower()
        first_count[k] = first_count.get(k, 0) + 1
    role_faction = {c["role"]: c["faction"] for c in roster}
    roles = sorted(role_faction)
    role_words = set()
    for r in roles:
        for w in [*r.lower().replace("-", " ").split(), r.lower()]:
            role_words |= {w, w + "s", PLURAL.get(w, w)}
    faction_words = {
        w
        for f in FACTION.values()
        for v in f.values()
        for x in ([v] if isinstance(v, str) else v)
        for w in x.split()
    } | {"human", "humans"}
    region_words = {w.lower() for c in roster for w in c["region"].split()}
    guard = protected | role_words | faction_words | region_words | {"week", "hotfix", "patch"}

    def speaker(not_id=None):
        s = rng.choice(ids)
        while s == not_id:
            s = rng.choice(ids)
        return s

    def tries(fn, n):
        made, left = 0, n * 50
        while made < n and left:
            left -= 1
            made += bool(fn())

    def noun(s, uk=False):
        if uk and s in UK_NOUN:
            return rng.choice(UK_NOUN[s])
        return rng.choice(NOUN[s])

    def punct(t):
        if rng.random() < 0.3:
            t = t[0].upper() + t[1:]
        if not t.endswith(("?", ".", "!")) and rng.random() < 0.6:
            t += rng.choice(["?", "?", "??"])
        return t

    # ---- one stat: each stat walks the register cycle from its own starting point
    def one_stat(s, reg):
        if reg == "descriptive":
            q = punct(rng.choice(WHAT_IT_DOES[s]))
        elif reg in ("plain", "typo", "caps"):
            ts = ONE_T["plain"] + ([] if s in NOT_AMOUNT else ONE_T["amount"])
            base = rng.choice(ts).format(n=noun(s))
            if reg != "plain" and rng.random() < 0.5:
                base = rng.choice(WHAT_IT_DOES[s])
            if reg == "typo":
                base, ok = typo(rng, base, guard)
                if not ok:
                    return False
                q = punct(base)
            elif reg == "caps":
                q = base.upper() + rng.choice(["?", "??", "?!", ""])
            else:
                q = punct(base)
        elif reg == "chatty":
            inner = rng.choice(WHAT_IT_DOES[s]) if rng.random() < 0.5 else f"what's your {noun(s)}"
            q = rng.choice(CHATTY_T).format(q=inner) + "?"
        elif reg == "british":
            q = rng.choice(ONE_T["british"]).format(n=noun(s, uk=True)) + "?"
        else:
            q = rng.choice(ONE_T[reg]).format(n=noun(s))
            if reg == "slang":
                q = q.lower()
        return emit(q, "stats", reg, [s], speaker=speaker())

    for i, s in enumerate(STATS):
        for j in range(9):
            reg = ONE_CYCLE[(i + j) % len(ONE_CYCLE)]
            tries(lambda s=s, reg=reg: one_stat(s, reg), 1)

    # ---- several stats
    def multi():
        ss = rng.sample(STATS, rng.choice([2, 2, 3]))
        reg = rng.choice(["plain", "terse", "slang", "british", "descriptive", "typo"])
        if reg == "descriptive":
            parts = [rng.choice(WHAT_IT_DOES[s]) for s in ss]
            q = punct(parts[0] + ", and " + parts[1] if len(parts) == 2 else " and ".join(parts))
        else:
            ns = [noun(s, uk=reg == "british") for s in ss]
            q = rng.choice(MULTI_T.get(reg, MULTI_T["plain"])).format(l=join(rng, ns))
            if reg == "typo":
                q, ok = typo(rng, q, guard)
                if not ok:
                    return False
            q = punct(q) if reg in ("plain", "typo") else q
        return emit(q, "stats", reg, ss, speaker=speaker())

    tries(multi, 40)

    # ---- as of a patch
    def at_patch():
        pid = rng.choice(patches)
        p = patch_words(rng, pid)
        if rng.random() < 0.25:
            ss = rng.sample(STATS, 2)
            q = rng.choice(AT_PATCH_MULTI_T).format(a=noun(ss[0]), b=noun(ss[1]), p=p)
        else:
            ss = [rng.choice(STATS)]
            ts = AT_PATCH_T + ([] if ss[0] in NOT_AMOUNT else AT_PATCH_AMOUNT_T)
            q = rng.choice(ts).format(n=noun(ss[0]), p=p)
        reg = "plain"
        if rng.random() < 0.3:
            q, ok = typo(rng, q, guard | {p.lower()})
            reg = "typo" if ok else reg
        return emit(punct(q), "stats", reg, ss, patch=pid, speaker=speaker())

    tries(at_patch, 30)

    # ---- all the stats
    def all_stats():
        pid = None
        if rng.random() < 0.3:
            pid = rng.choice(patches)
            q = rng.choice(ALL_PATCH_T).format(p=patch_words(rng, pid))
            reg = "plain"
        else:
            q = rng.choice(ALL_T)
            reg = "british" if "mate" in q else "formal" if q[0] == "I" else "plain"
            if reg == "plain" and rng.random() < 0.3:
                q, reg = rng.choice([(q.upper(), "caps"), (q + rng.choice(SLANG_TAIL), "slang")])
        return emit(q, "all", reg, patch=pid, speaker=speaker())

    tries(all_stats, 26)

    # ---- changes
    def changes():
        x = rng.random()
        stats, pid, since, reg = [], None, None, "plain"
        if x < 0.25:
            q = rng.choice(CH_NOSTAT)
        elif x < 0.3:
            q, reg = rng.choice(CH_SARCASTIC), "sarcastic"
        elif x < 0.45:
            since = rng.choice(patches[:-1])
            q = rng.choice(CH_SINCE).format(p=patch_words(rng, since))
        elif x < 0.55:
            pid = rng.choice(patches)
            q = rng.choice(CH_PATCH).format(p=patch_words(rng, pid))
        elif x < 0.72:
            s = rng.choice(STATS)
            stats = [s]
            t = rng.choice(CH_STAT)
            q, reg = t.format(n=noun(s)), ("terse" if t.startswith("{n}") else reg)
        elif x < 0.82:
            s = rng.choice(STATS)
            stats, since = [s], rng.choice(patches[:-1])
            t = rng.choice(CH_STAT_SINCE)
            q = t.format(n=noun(s), p=patch_words(rng, since))
            reg = "terse" if t.startswith("{n}") else reg
        elif x < 0.9:
            s = rng.choice(STATS)
            stats, pid = [s], rng.choice(patches)
            q = rng.choice(CH_STAT_PATCH).format(n=noun(s), p=patch_words(rng, pid))
        else:
            s = rng.choice(sorted(CH_CLAUSE))
            stats = [s]
            q = rng.choice(CH_CLAUSE[s])
        if reg == "plain":
            y = rng.random()
            if y < 0.2:
                q, ok = typo(rng, q, guard)
                reg = "typo" if ok else reg
            elif y < 0.35:
                q, reg = q.lower().rstrip("?") + rng.choice(SLANG_TAIL), "slang"
            elif y < 0.45 and pid is None and since is None:
                q = rng.choice(CHATTY_HEAD) + q + "?" + rng.choice(CHATTY_TAIL)
                reg = "chatty"
            elif y < 0.55 and any(w in UK_SPELL for w in q.split(" ")):
                q, reg = uk_spell(q), "british"
        if reg in ("plain", "typo", "terse"):
            q = punct(q)
        return emit(q, "changes", reg, stats, patch=pid, since=since, speaker=speaker())

    tries(changes, 72)

    # ---- compare with a real character
    def name_of(c, slang=False):
        first = c["name"].split()[0]
        r = rng.random()
        if r < 0.3 and first_count[fold(first).lower()] == 1:
            n = fold(first) if rng.random() < 0.5 else first
        elif r < 0.45:
            n = fold(c["name"])
        else:
            n = c["name"]
        return n.lower() if slang else n

    def compare():
        other = rng.choice(roster)
        reg = rng.choice(["plain", "plain", "descriptive", "slang", "typo", "british", "sarcastic"])
        o = name_of(other, slang=reg == "slang")
        x = rng.random()
        if reg == "sarcastic":
            t, stats = rng.choice(CMP_SARCASTIC_T)
            q = t.format(o=o)
        elif reg == "descriptive":
            s = rng.choice(STATS)
            stats = [s]
            q = rng.choice(CMP_CLAUSE[s]).format(o=o)
        elif x < 0.55:
            s = rng.choice(STATS)
            stats = [s]
            q = rng.choice(CMP_STAT_T).format(n=noun(s, uk=reg == "british"), o=o)
        elif x < 0.7:
            stats = rng.sample(STATS, 2)
            a, b = (noun(s, uk=reg == "british") for s in stats)
            q = rng.choice(CMP_TWO_T).format(a=a, b=b, o=o)
        else:
            stats = []
            q = rng.choice(CMP_NOSTAT_T).format(o=o)
        if reg == "slang":
            q = q.lower() + rng.choice(SLANG_TAIL)
        elif reg == "british":
            q = uk_spell(q).rstrip("?") + rng.choice(BRIT_TAIL) + "?"
        elif reg == "typo":
            q, ok = typo(rng, q, guard)
            if not ok:
                return False
        if reg in ("plain", "typo", "descriptive"):
            q = punct(q)
        return emit(q, "compare", reg, stats, other=other["id"], speaker=speaker(other["id"]))

    tries(compare, 42)

    # ---- lore
    def lore():
        sp = rng.choice(roster)
        x = rng.random()
        reg = "plain"
        if x < 0.4:
            q = rng.choice(LORE_T)
        elif x < 0.6:
            q = rng.choice(LORE_REGION_T).format(r=sp["region"])
        elif x < 0.78:
            q = rng.choice(LORE_ROLE_T).format(a=a_an(sp["role"].lower()))
        elif x < 0.92:
            q = rng.choice(LORE_FACTION_T).format(many=FACTION[sp["faction"]]["many"][0])
        else:
            q, reg = rng.choice(LORE_SARCASTIC), "sarcastic"
        if reg == "plain":
            y = rng.random()
            if y < 0.2:
                q, ok = typo(rng, q, guard)
                reg = "typo" if ok else reg
            elif y < 0.3:
                q, reg = q.lower() + rng.choice(SLANG_TAIL), "slang"
            elif y < 0.4 and q.startswith(("who", "what", "where", "how", "is")):
                q, reg = "Pray, " + q + "?", "formal"
        if reg in ("plain", "typo"):
            q = punct(q)
        return emit(q, "lore", reg, speaker=sp["id"])

    tries(lore, 32)

    # ---- small talk and opinions
    def small():
        x = rng.random()
        if x < 0.12:
            q, reg = rng.choice(SMALL_BRITISH), "british"
        elif x < 0.2:
            q, reg = rng.choice(SMALL_SARCASTIC), "sarcastic"
        else:
            q = rng.choice(SMALL_T)
            reg = "terse" if len(q.split()) <= 2 else "plain"
            y = rng.random()
            if y < 0.15:
                q, ok = typo(rng, q, guard)
                reg = "typo" if ok else reg
            elif y < 0.25:
                q, reg = q.upper(), "caps"
        return emit(q, "smalltalk", reg, speaker=speaker())

    tries(small, 44)

    # ---- stats the game does not have
    def unknown():
        x = rng.random()
        if x < 0.3:
            q, reg = punct(rng.choice(UNKNOWN_DOES)), "descriptive"
        elif x < 0.36:
            q, reg = rng.choice(UNKNOWN_SARCASTIC), "sarcastic"
        else:
            t, u = rng.choice(UNKNOWN_T), rng.choice(UNKNOWN)
            if u == "luck" and "any" in t:
                return False  # "do you get any luck" reads as small talk
            q = t.format(u=u)
            reg = "terse" if t.startswith("{u}") or t.startswith("got") else "plain"
            y = rng.random()
            if y < 0.2:
                q, ok = typo(rng, q, guard)
                reg = "typo" if ok else reg
            elif y < 0.35:
                q, reg = q.lower().rstrip("?") + rng.choice(SLANG_TAIL), "slang"
        return emit(q, "unknown_stat", reg, speaker=speaker())

    tries(unknown, 42)

    # ---- roster: every stat, every faction, roles, groups, counts, lowest
    def word(role, plural=False):
        w = role.lower()
        if "-" in w and rng.random() < 0.4:
            w = w.replace("-", " ")
        return PLURAL.get(w, w + "s") if plural else w

    forms = ["all", "faction", "faction", "role", "role_faction", "count", "group"]
    plan = [(STATS[i % 12], forms[i % len(forms)]) for i in range(66)]
    rng.shuffle(plan)

    def roster_q(s, form):
        lowest = rng.random() < 0.4
        count = fac = role = None
        hl = "lowest" if lowest else "highest"
        if s in AMOUNT and rng.random() < 0.4:
            hl = "least" if lowest else "most"
        top = "bottom" if lowest else "top"
        n = rng.choice(ROSTER_NOUN[s])
        use_sup = s in SUP and rng.random() < 0.5
        sup = SUP[s][1 if lowest else 0] if s in SUP else ""
        counted = form == "count" or (form in ("all", "faction") and rng.random() < 0.3)
        if counted:
            count = rng.choice([2, 3, 3, 4, 5, 5, 6, 8, 10])
        k = None if count is None else (str(count) if rng.random() < 0.6 else NUMBER[count])
        if form in ("faction", "role_faction") or (form == "count" and rng.random() < 0.5):
            fac = rng.choice(sorted(FACTION))
        if form == "all" or (form == "count" and fac is None):
            if counted:
                t = rng.choice(ROSTER_ALL_COUNT_T)
            else:
                t = rng.choice(ROSTER_ALL_SUP_T if use_sup else ROSTER_ALL_T)
            q = t.format(hl=hl, n=n, sup=sup, k=k, top=top)
        elif form == "faction" or form == "count":
            fw = FACTION[fac]
            many, adj = rng.choice(fw["many"]), rng.choice(fw["adj"])
            if counted:
                t = rng.choice(ROSTER_FAC_COUNT_T)
            else:
                t = rng.choice(ROSTER_FAC_SUP_T if use_sup else ROSTER_FAC_T)
            q = t.format(one=fw["one"], many=many, adj=adj, hl=hl, n=n, sup=sup, k=k, top=top)
        elif form in ("role", "role_faction"):
            pool = [r for r in roles if fac is None or role_faction[r] == fac]
            role = rng.choice(pool)
            adj = rng.choice(FACTION[fac]["adj"]) if fac else ""
            if rng.random() < 0.3 and fac is None:
                count = rng.choice([2, 3, 4, 5])
                k = str(count) if rng.random() < 0.6 else NUMBER[count]
                t = rng.choice(ROSTER_ROLE_COUNT_T)
            else:
                t = rng.choice(ROSTER_ROLE_FAC_T if fac else ROSTER_ROLE_T)
            q = t.format(role=word(role), roles=word(role, True), adj=adj, hl=hl, n=n, k=k, top=top)
        else:
            a, b = rng.sample(roles, 2)
            role = [a, b]
            q = rng.choice(ROSTER_GROUP_T).format(
                a=word(a), b=word(b), a_s=word(a, True), b_s=word(b, True), hl=hl, n=n
            )
        reg = "terse" if len(q.split()) <= 4 else "plain"
        y = rng.random()
        if y < 0.18:
            q, ok = typo(rng, q, guard)
            reg = "typo" if ok else reg
        elif y < 0.3:
            q, reg = q.lower().rstrip("?") + rng.choice(SLANG_TAIL), "slang"
        elif y < 0.4:
            q, reg = (
                rng.choice(CHATTY_HEAD) + q.rstrip("?") + "?" + rng.choice(CHATTY_TAIL),
                "chatty",
            )
        elif y < 0.48 and any(w in UK_SPELL for w in q.split(" ")):
            q, reg = uk_spell(q), "british"
        elif y < 0.48:
            q, reg = q.rstrip("?") + rng.choice(BRIT_TAIL) + "?", "british"
        elif y < 0.53:
            q, reg = q.upper(), "caps"
        if reg in ("plain", "terse", "typo"):
            q = punct(q)
        ro = {"stat": s, "faction": fac, "role": role, "lowest": lowest, "count": count}
        return emit(q, "roster", reg, [s], roster_q=ro, speaker=speaker())

    for s, form in plan:
        tries(lambda s=s, form=form: roster_q(s, form), 1)
