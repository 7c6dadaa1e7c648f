"""The pieces each faction's characters are generated from (characters.generate): name
syllables, roles and their archetypes, regions, epithets and lore sentences."""

from __future__ import annotations

from dataclasses import dataclass

# Names that belong to other worlds; a generated name that equals one is dropped.
FOREIGN_NAMES = {
    "legolas", "gimli", "elrond", "arwen", "galadriel", "thorin", "thrall", "gandalf",
    "aragorn", "durotan", "grommash", "sylvanas", "tyrande", "illidan", "balin", "dwalin",
    "gloin", "oin", "thranduil", "celeborn", "haldir", "azog", "bolg", "gorbag", "shagrat",
}


@dataclass(frozen=True)
class FactionStyle:
    first_a: tuple[str, ...]
    first_b: tuple[str, ...]
    last_a: tuple[str, ...]
    last_b: tuple[str, ...]
    roles: tuple[tuple[str, str], ...]  # (role, archetype)
    regions: tuple[str, ...]
    epithets: tuple[str, ...]
    lore_origin: tuple[str, ...]
    lore_deed: tuple[str, ...]
    lore_trait: tuple[str, ...]
    lore_goal: tuple[str, ...]


STYLES = {
    "orcish": FactionStyle(
        first_a=("Gr", "Mog", "Zul", "Drak", "Ur", "Kro", "Thok", "Bal", "Gor", "Snar", "Vrog",
                 "Ruk", "Hag", "Dur", "Skar", "Nag", "Brug", "Yaz", "Krag", "Lug"),
        first_b=("ukk", "ra", "'gar", "'tha", "zag", "nak", "ush", "gra", "mok", "ka", "'zul",
                 "dra", "rim", "tor", "gash", "ok", "ga", "'rak"),
        last_a=("Iron", "Skull", "Bone", "Blood", "Ash", "Gore", "Black", "Red", "Stone", "Grim",
                "Rot", "War", "Storm", "Fang", "Dread", "Tusk"),
        last_b=("jaw", "splitter", "gnaw", "fist", "maw", "hide", "cleaver", "howl", "tusk",
                "breaker", "-Eye", "back", "crusher", "hewer"),
        roles=(("Berserker", "bruiser"), ("Shaman", "caster"), ("Warchief", "tank"),
               ("Raider", "skirmisher"), ("Beastmaster", "ranged"), ("Skullcrusher", "tank"),
               ("Bloodrager", "bruiser"), ("Spear-thrower", "ranged"), ("Witch-doctor", "support")),
        regions=("the Ashen Steppes", "Gorefang Pass", "the Red Wastes", "Skullhold",
                 "the Burning Marsh", "Thunder Crag"),
        epithets=("the Red", "Bonebreaker", "the Loud", "Old Tusk", "the Unbowed", "Half-Ear",
                  "Smasher", "the Hungry"),
        lore_origin=("Born in the war camps of {region}, {first} learned to fight before walking.",
                     "{first} came out of {region} with nothing but a broken axe and a grudge.",
                     "The drums of {region} still beat the name of {first}.",
                     "{first} was raised by the pit-fighters of {region}."),
        lore_deed=("{first} once held a bridge alone against forty riders.",
                   "{first} wears the tusks of a cave-boar killed bare-handed.",
                   "{first} split the gate of an enemy fort with one swing.",
                   "Three chiefs fell to {first} in the great clan-moot."),
        lore_trait=("{first} trusts no one who has never bled.",
                    "{first} laughs loudest when the odds are worst.",
                    "{first} counts every scar as a trophy.",
                    "{first} has no patience for talk."),
        lore_goal=("Now {first} seeks a foe worthy of the clan.",
                   "{first} means to be warchief before the next winter.",
                   "{first} hunts the elves who burned the old camp."),
    ),
    "elvish": FactionStyle(
        first_a=("Ae", "Thal", "Syl", "Cae", "Lor", "Ith", "Vae", "Nae", "Ela", "Fëa", "Ser",
                 "Mel", "Ara", "Yl", "Ilé", "Quen", "Liri", "Ori"),
        first_b=("lindra", "ion", "vanis", "wen", "diel", "thas", "riel", "mira", "dros",
                 "nael", "sora", "vell", "thien", "ondë", "lith", "wyn", "rae", "neth"),
        last_a=("Moon", "Star", "Silver", "Dawn", "Leaf", "River", "Mist", "Wind", "Sun",
                "Frost", "Night", "Thorn", "Willow", "Glimmer"),
        last_b=("whisper", "brook", "song", "bough", "glade", "shade", "weaver", "runner",
                "bloom", "fall", "veil", "light", "mere", "wing"),
        roles=(("Ranger", "ranged"), ("Loresinger", "support"), ("Moonblade", "skirmisher"),
               ("Druid", "caster"), ("Starcaller", "caster"), ("Warden", "tank"),
               ("Bladedancer", "bruiser"), ("Pathfinder", "ranged")),
        regions=("the Silverwood", "the Starlit Vale", "Lake Ondriel", "the Whispering Glades",
                 "the Moonspire", "the Evergreen Reach"),
        epithets=("the Fair", "Starborn", "the Quiet", "Leafsong", "the Elder", "Dawnbringer",
                  "the Wanderer"),
        lore_origin=("{first} was born beneath the oldest boughs of {region}.",
                     "For three hundred winters {first} has watched over {region}.",
                     "{first} learned the songs of {region} from the river itself.",
                     "The starlight of {region} first fell upon {first} in a gentle spring."),
        lore_deed=("{first} guided the lost caravans through the long winter.",
                   "{first} once turned back a wildfire with a single song.",
                   "{first} mapped the stars above the drowned cities.",
                   "{first} kept the moon-gate shut through a hundred nights of siege."),
        lore_trait=("{first} speaks softly and forgets nothing.",
                    "{first} measures time in seasons, not days.",
                    "{first} is patient as the old trees.",
                    "{first} trusts the forest more than any crown."),
        lore_goal=("Now {first} seeks the lost songs of the elder ones.",
                   "{first} watches the eastern roads for the return of the orc clans.",
                   "{first} hopes to see the silver leaves bloom once more."),
    ),
    "human": FactionStyle(
        first_a=("Ed", "Mar", "Tob", "Al", "Cor", "Wil", "Bren", "Hal", "Ros", "Ger", "Ma",
                 "Jor", "Lis", "Os", "Ray", "Sel"),
        first_b=("ric", "en", "in", "da", "wen", "ton", "mund", "ara", "ey", "ald", "ette",
                 "ias", "ren", "wick"),
        last_a=("Ash", "Brand", "Hal", "Cross", "Wester", "Marsh", "Thorn", "Black", "Hart",
                "Fair"),
        last_b=("ford", "well", "ridge", "wick", "by", "ley", "mont", "stead", "holt", "croft"),
        roles=(("Knight", "tank"), ("Cleric", "support"), ("Crossbowman", "ranged"),
               ("Battlemage", "caster"), ("Rogue", "skirmisher"), ("Sellsword", "bruiser")),
        regions=("Varnholt", "the River March", "Eastmere", "Kingsford", "the Salt Coast"),
        epithets=("the Bold", "Lucky", "the Grey", "Half-Crown"),
        lore_origin=("{first} grew up on the docks of {region}.",
                     "{first} left a farm in {region} to follow the banners."),
        lore_deed=("{first} survived the siege of the old keep.",
                   "{first} won a tourney purse and spent it in one night."),
        lore_trait=("{first} keeps every promise, eventually.",
                    "{first} never turns down a wager."),
        lore_goal=("{first} wants a lordship and a quiet life.",
                   "{first} fights for coin and, sometimes, for friends."),
    ),
    "dwarvish": FactionStyle(
        first_a=("Bar", "Dur", "Grim", "Kol", "Thar", "Bor", "Hild", "Dag", "Mor", "Run",
                 "Brom", "Tor", "Vig", "Sig", "Ulf", "Hal"),
        first_b=("dek", "na", "rik", "gar", "dis", "li", "vald", "mund", "helm", "ra", "bek",
                 "rok", "dra", "fast"),
        last_a=("Stone", "Iron", "Copper", "Anvil", "Deep", "Flint", "Coal", "Granite",
                "Silver", "Rune"),
        last_b=("beard", "hammer", "delve", "forge", "mantle", "brow", "shield", "vein",
                "heart", "braid"),
        roles=(("Runesmith", "caster"), ("Ironbreaker", "tank"), ("Miner", "bruiser"),
               ("Thunderer", "ranged"), ("Brewmaster", "support"), ("Slayer", "skirmisher")),
        regions=("the Greyteeth", "Khazrun Hold", "the Deepforge", "Copperfall",
                 "the Ember Halls"),
        epithets=("Oldbeard", "the Stubborn", "Hammerhand", "the Quiet Axe"),
        lore_origin=("{first} was born in the deep halls of {region}.",
                     "{first} first swung a hammer in the forges of {region}."),
        lore_deed=("{first} held the tunnel when the deep things came.",
                   "{first} carved the runes over the great gate."),
        lore_trait=("{first} never forgets a debt, or a slight.",
                    "{first} trusts stone more than people."),
        lore_goal=("{first} seeks the lost hold of the ancestors.",
                   "{first} means to forge a blade that will outlast the mountains."),
    ),
}
