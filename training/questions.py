"""What players ask: the English question templates the dialogue data is built from.

The questions are shared by every faction; only the answers carry a voice, and those live in
`characters/dialogue/<faction>.voice.json`.
"""

from __future__ import annotations

ONE_STAT = (
    "What is your {syn}?", "What's your {syn}?", "How much {syn} do you have?",
    "Tell me your {syn}.", "{Syn}?", "what's ur {syn}", "What {syn} do you have right now?",
    "How high is your {syn}?", "Give me your current {syn}.", "I need your {syn} for my build.",
    "Is your {syn} any good?", "What's {first}'s {syn} this patch?", "Quick question: your {syn}?",
    "How is your {syn} looking?", "Remind me of your {syn}.", "{first}, what's your {syn}?",
    "your {syn}?", "Current {syn}, please.", "How good is your {syn} these days?",
    "Can you tell me your {syn}?",
)

#: Questions that name a stat without a synonym slot (the dialogue data also draws on the
#: phrasings of characters/data/meanings.json, the bot's own paraphrase families).
STAT_PHRASES = {
    "level": ("How experienced are you?", "What level are you?"),
    "attack": ("How hard do you hit?", "How strong is your attack?"),
    "defense": ("How tough are you?", "How much armour do you have?"),
    "speed": ("How fast are you?", "How quick do you move?"),
    "attack_speed": ("How fast do you swing?", "How many attacks per second?"),
    "crit_chance": ("How often do you crit?", "What are your odds of a critical hit?"),
    "attack_range": ("How far can you reach?", "What's your reach?"),
    "health": ("How much can you take before you fall?", "How many hit points have you got?"),
    "health_regen": ("How fast do you heal?", "How quickly do you regenerate?"),
    "cost": ("How much do you cost?", "What's your price in gold?"),
    "mana": ("How much magic have you got?", "How deep is your mana pool?"),
    "ability_power": ("How strong is your magic?", "How powerful are your spells?"),
}

MULTI_STAT = (
    "What are your {a} and {b}?", "Tell me your {a} and {b}.", "Give me {a} and {b}.",
    "{A} and {b}?", "I need your {a} and your {b}.", "What about {a} and {b}?",
    "Compare your {a} with your {b}.", "{first}, tell me your {a} and {b} please.",
)

ALL_STATS = (
    "What are your stats?", "List your stats.", "Show me your numbers.",
    "Give me your stat card.", "How strong are you overall?", "What are your numbers this patch?",
    "stats?", "Tell me everything about your stats.",
)

CHANGES = (
    "What changed since the last patch?", "What changed since {from_patch}?",
    "Were you buffed or nerfed?", "Any changes for you this patch?", "Did your stats change?",
    "What's new with you since {from_patch}?", "Did the patch change you?",
    "buffed or nerfed?", "How did the last patch treat you?",
    "Anything different since {from_patch}?", "Did they nerf you?", "Did the devs buff you?",
    "Are you stronger than last week?", "Are you weaker now than before?",
    "What did the balance team do to you?", "Did your numbers move this week?",
    "got nerfed again?", "How have you changed since {from_patch}?",
    "Anything new for you in the latest update?", "Were you touched in the patch notes?",
)

LORE = (
    "Tell me about yourself.", "Who are you?", "What's your story?", "Where are you from?",
    "What are you known for?", "Tell me your legend.", "What's your background?",
    "Why do you fight?", "What's your history?", "What should I know about you?",
)

UNKNOWN_THINGS = (
    "stealth", "luck", "charisma", "block chance", "lifesteal", "magic resist", "dodge chance",
    "carry weight", "stamina", "fishing skill", "armour penetration", "cooldown reduction",
    "height", "age", "kill count", "win rate", "spell vamp", "gold per minute",
)

UNKNOWN = (
    "What's your {thing}?", "How much {thing} do you have?", "Tell me your {thing}.",
    "{Thing}?", "What is your {thing} this patch?", "How high is your {thing}?",
)

DIALOGUE = {
    "greeting": (
        "Hello!", "Hi there.", "Greetings, {first}.", "hey", "Good morning!", "Hail, {first}!",
        "Nice to meet you.", "Yo {first}", "Hello, who am I talking to?",
    ),
    "boast": (
        "Brag a little.", "Why are you the best?", "What makes you strong?", "Impress me.",
        "Boast for me!", "Why should I pick you?", "What's your greatest deed?",
    ),
    "taunt": (
        "Taunt me.", "Insult me.", "I bet I could beat you.", "You look weak.",
        "Trash talk the enemy.", "Say something to scare my opponent.", "You're overrated.",
    ),
    "farewell": ("Bye!", "Goodbye, {first}.", "See you later.", "I have to go.", "Farewell."),
    "lore_talk": (
        "Tell me about your people.", "What is your homeland like?",
        "Tell me something about your faction.", "What do your people believe?",
        "What's life like where you live?",
    ),
}

#: Questions about the whole roster. {sup} is a superlative of the stat from meanings.json
#: ("fastest", "cheapest"), {noun}/{plural} a faction or role word, {n} a count.
ROSTER = (
    "Who is the {sup} {noun}?", "Which {noun} is the {sup}?", "{Sup} {noun}?",
    "Who's the {sup} {noun} right now?", "Top {n} {plural} by {syn}", "top {n} {plural} {syn}",
    "Who has the highest {syn} among the {plural}?", "Rank the {plural} by {syn}.",
    "Which {plural} have the best {syn}?", "Name the {sup} {noun} this patch.",
    "Out of all the {plural}, who is the {sup}?", "who is {sup}?", "Who has the {sup_plain}?",
    "Show me the {n} {sup} {plural}.",
)
ROSTER_NOUNS = {
    "orcish": ("orc", "orcs"), "elvish": ("elf", "elves"), "human": ("human", "humans"),
    "dwarvish": ("dwarf", "dwarves"), "": ("character", "characters"),
}
