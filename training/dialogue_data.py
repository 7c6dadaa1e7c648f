"""Dialogue data for each voiced faction: a hand-written core of lines, grown with templates.

    python -m training.dialogue_data                    # write characters/dialogue/<f>.jsonl
    python -m training.dialogue_data --faction orcish   # one faction
    python -m training.dialogue_data --check            # exit 1 when the files on disk differ
    python -m training.dialogue_data --out /tmp/d       # write somewhere else, e.g. to compare
    python -m training.dialogue_data --faction human --layout 2   # move to a facts layout

Each voice's core lines live in its voice folder, `characters/voices/<faction>/lines.json`
(with the grammar its lore is retold in, `style.json`). The questions come
from `training/questions.py`, the facts from `characters.cards` (exactly what retrieval returns),
and every stat value is drawn at random. A fifth of each faction's characters, and a quarter of
every stat's values, are kept for the held-out split, so that no held-out character or value is
ever seen in training. Writes `<f>.jsonl` (train), `<f>.heldout.jsonl` and `<f>.variety.json`.

`layouts.json` says which facts layout (`characters.cards.FACTS_LAYOUTS`) each faction's data is
written in; a faction it does not name gets the newest. The trained adapter records its layout,
and the bot serves it that one, so a faction moves to a new layout when it is retrained.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from characters.cards import FACTS_LAYOUTS, NEWEST_FACTS_LAYOUT
from characters.config import REPO_ROOT
from characters.numbers import invented_numbers
from characters.schema import Number
from characters.voices import NoVoiceError, get_voice, voiced_factions
from characters.world import Character, World, get_world
from training.dialogue_kinds import MAKERS, Builder, Voice

DIALOGUE_DIR = REPO_ROOT / "characters" / "dialogue"
LAYOUTS_FILE = DIALOGUE_DIR / "layouts.json"
TRAIN_EXAMPLES = 1600
HELDOUT_EXAMPLES = 240
HELDOUT_CHARACTER_SHARE = 0.2
SEED = 2026
# Several stats weigh most after one stat: naming every line of the card is what the adapters
# missed most (the evaluation's number accuracy; README, "Evaluation").
KIND_WEIGHTS = {
    "one_stat": 24, "multi_stat": 22, "changes": 14, "lore": 9, "smalltalk": 5, "unknown": 8,
    "roster": 7, "greeting": 4, "boast": 4, "taunt": 4, "farewell": 3, "lore_talk": 3,
}


class DialogueError(ValueError):
    """A voice file is missing or a generated example breaks a rule of the data."""


@dataclass(frozen=True)
class Example:
    """One training or held-out conversation, with what it was made from."""

    id: str
    faction: str
    split: str
    kind: str
    template: str
    character_id: str
    facts: str
    question: str
    answer: str
    asked: dict[str, Number] = field(default_factory=dict)
    values: dict[str, Number] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Example:
        return cls(**json.loads(line))


def data_path(faction: str, split: str = "train", folder: Path = DIALOGUE_DIR) -> Path:
    """Where a faction's split lives: `<f>.jsonl` for train, `<f>.heldout.jsonl` for held-out."""
    return folder / (f"{faction}.jsonl" if split == "train" else f"{faction}.{split}.jsonl")


def load_voice(faction: str, voices: Path | None = None) -> Voice:
    """The hand-written core lines of a faction's voice."""
    try:
        return get_voice(faction, voices).lines
    except NoVoiceError as exc:
        raise DialogueError(str(exc)) from exc


def load_examples(faction: str, split: str = "train", folder: Path = DIALOGUE_DIR) -> list[Example]:
    """Read one split of a faction's dialogue data."""
    path = data_path(faction, split, folder)
    if not path.exists():
        raise DialogueError(f"{path}: missing (run `python -m training.dialogue_data`)")
    return [Example.from_json(line) for line in path.read_text(encoding="utf-8").splitlines()]


def data_hash(faction: str, folder: Path = DIALOGUE_DIR) -> str:
    """sha256 of the training split as stored on disk."""
    return hashlib.sha256(data_path(faction, "train", folder).read_bytes()).hexdigest()


def split_characters(world: World, faction: str) -> tuple[list[Character], list[Character]]:
    """A faction's characters, split into (train, held-out) by a fixed seed."""
    members = sorted((c for c in world.characters if c.faction == faction), key=lambda c: c.id)
    random.Random(f"{SEED}-{faction}").shuffle(members)
    cut = max(1, round(len(members) * HELDOUT_CHARACTER_SHARE))
    return sorted(members[cut:], key=lambda c: c.id), sorted(members[:cut], key=lambda c: c.id)


def value_ranges(world: World) -> dict[str, tuple[float, float]]:
    """The range of each stat in the shipped patches, widened by a fifth, within the schema."""
    seen: dict[str, list[float]] = {s.name: [] for s in world.schema.stats}
    for path in world.patch_files():
        for entry in json.loads(path.read_text(encoding="utf-8"))["characters"]:
            for name, value in entry.get("stats", {}).items():
                if name in seen and value is not None:
                    seen[name].append(float(value))
    ranges = {}
    for stat in world.schema.stats:
        lo, hi = (min(seen[stat.name]), max(seen[stat.name])) if seen[stat.name] else (
            stat.minimum, stat.maximum)
        pad = (hi - lo) * 0.2
        ranges[stat.name] = (max(stat.minimum, lo - pad), min(stat.maximum, hi + pad))
    return ranges


def _layouts(path: Path) -> dict[str, int]:
    """`layouts.json`: faction -> the facts layout its data is written in ({} when absent)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError as exc:
        raise DialogueError(f"{path}: not valid JSON ({exc})") from exc


def data_layout(faction: str, path: Path = LAYOUTS_FILE) -> int:
    """The facts layout a faction's data is written in (`layouts.json`; the newest if unnamed)."""
    layout = _layouts(path).get(faction, NEWEST_FACTS_LAYOUT)
    if layout not in FACTS_LAYOUTS:
        raise DialogueError(f"{path}: {faction!r} has layout {layout!r}; known: {FACTS_LAYOUTS}")
    return layout


def set_layout(factions: list[str], layout: int, path: Path = LAYOUTS_FILE) -> None:
    """Record that these factions' data is written in `layout` from now on."""
    layouts = _layouts(path)
    layouts.update({f: layout for f in factions})
    path.write_text(json.dumps(dict(sorted(layouts.items())), indent=2) + "\n")


def build_split(world: World, faction: str, split: str, count: int,
                voices: Path | None = None, layout: int = NEWEST_FACTS_LAYOUT) -> list[Example]:
    """`count` examples of one split, deterministic for a given world, voice folder and facts
    layout."""
    train_chars, heldout_chars = split_characters(world, faction)
    if not train_chars or not heldout_chars:
        raise DialogueError(f"faction {faction!r} has too few characters to split")
    heldout = split == "heldout"
    rosters = {f.id: tuple(split_characters(world, f.id)[heldout]) for f in world.factions}
    builder = Builder(world, faction, load_voice(faction, voices), heldout, value_ranges(world),
                      rosters, get_voice(faction, voices).lore_grammar, layout)
    rng = random.Random(f"{SEED}-{faction}-{split}")
    kinds = list(KIND_WEIGHTS)
    examples = []
    for i in range(count):
        kind = rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds])[0]
        char = rng.choice(builder.characters)
        facts, question, answer, asked, template = MAKERS[kind](builder, rng, char)
        if invented_numbers(answer, facts):
            raise DialogueError(f"{faction} {split} #{i} ({template}): number not in facts")
        values = {n: v for n, v in _card_values(world, facts).items()}
        examples.append(Example(f"{faction}-{split}-{i:05d}", faction, split, kind,
                                f"{kind}/{template}", char.id, facts, question, answer,
                                asked, values))
    return examples


def _card_values(world: World, facts: str) -> dict[str, str]:
    """The stat values written in a facts block, by stat name, as written."""
    by_label = {s.label: s.name for s in world.schema.stats}
    found = {}
    for line in facts.splitlines():
        label, _, value = line.partition(": ")
        if label in by_label and value != "unknown":
            found[by_label[label]] = value
    return found


def variety(examples: list[Example]) -> dict[str, object]:
    """How varied the answers are: distinct n-gram ratios, distinct answers, templates used."""
    figures: dict[str, object] = {"examples": len(examples)}
    tokens = [re.findall(r"[\w']+|[^\w\s]", e.answer.lower()) for e in examples]
    for n in (1, 2, 3):
        grams = [tuple(t[i:i + n]) for t in tokens for i in range(len(t) - n + 1)]
        figures[f"distinct_{n}"] = round(len(set(grams)) / max(1, len(grams)), 4)
        figures[f"unique_{n}grams"] = len(set(grams))
    figures["distinct_answers"] = len({e.answer for e in examples})
    figures["distinct_questions"] = len({e.question for e in examples})
    figures["templates_used"] = len({e.template for e in examples})
    figures["kinds"] = {k: sum(e.kind == k for e in examples) for k in KIND_WEIGHTS}
    figures["mean_answer_words"] = round(sum(map(len, tokens)) / max(1, len(tokens)), 1)
    return figures


def write_faction(world: World, faction: str, folder: Path = DIALOGUE_DIR,
                  voices: Path | None = None) -> dict[str, object]:
    """Generate and write a faction's train and held-out splits; return their variety."""
    layout = data_layout(faction)
    report: dict[str, object] = {"facts_layout": layout}
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", TRAIN_EXAMPLES), ("heldout", HELDOUT_EXAMPLES)):
        examples = build_split(world, faction, split, count, voices, layout)
        text = "".join(e.to_json() + "\n" for e in examples)
        data_path(faction, split, folder).write_text(text, encoding="utf-8")
        report[split] = variety(examples)
    (folder / f"{faction}.variety.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the per-faction dialogue data.")
    parser.add_argument("--faction", action="append", help="only this faction (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the files on disk differ from what would be written")
    parser.add_argument("--out", type=Path, default=DIALOGUE_DIR,
                        help="folder to write (default: characters/dialogue)")
    parser.add_argument("--layout", type=int, choices=FACTS_LAYOUTS,
                        help="write these factions in this facts layout from now on "
                             "(their adapters must then be retrained)")
    args = parser.parse_args(argv)
    world = get_world()
    factions = args.faction or voiced_factions()
    if args.layout is not None and not args.check:
        set_layout(factions, args.layout)
    for faction in factions:
        if args.check:
            for split, count in (("train", TRAIN_EXAMPLES), ("heldout", HELDOUT_EXAMPLES)):
                path = data_path(faction, split, args.out)
                built = build_split(world, faction, split, count,
                                    layout=data_layout(faction))
                text = "".join(e.to_json() + "\n" for e in built).encode()
                if not path.exists() or path.read_bytes() != text:
                    print(f"{faction}: {path.name} is stale", file=sys.stderr)
                    return 1
            continue
        report = write_faction(world, faction, args.out)
        t, h = report["train"], report["heldout"]
        print(f"{faction}: {t['examples']} train, {h['examples']} held-out; "
              f"distinct-2 {t['distinct_2']}, templates {t['templates_used']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
