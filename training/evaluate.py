"""Compare three setups on the held-out questions: base plain, base prompted with the voice rules,
and the LoRA adapter with the tiny prompt.

    python -m training.evaluate                      # both factions, every held-out question
    python -m training.evaluate --faction elvish --merge   # add one faction to the report
    python -m training.evaluate --faction elvish --setup lora --merge   # refresh one setup
    python -m training.evaluate --limit 4 --json     # a quick run, JSON on stdout
    python -m training.evaluate --faction orcish --limit 60 --out /tmp/eval
    python -m training.evaluate --engine native --out training/adapters/native
    python -m training.evaluate --engine llama.cpp --out training/adapters/llama_cpp

For each setup: the voice score (training.voice), number accuracy on the raw output (every asked
value appears and every number is a fact value; beside it, the stricter share where every number
also sits with its own stat), prompt length in tokens and seconds per answer (greedy decoding, at
most the bot's `max_new_tokens`, batches of 8, wall time divided by answers). Writes
eval_report.json, .md and .png into `--out` (default: the adapters folder).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from characters.cards import changes_in
from characters.config import REPO_ROOT, get_config
from characters.numbers import (
    invented_numbers,
    mentions_value,
    misattributed_numbers,
    wrong_direction,
)
from characters.voices import get_voice
from characters.world import World, get_world
from training.dialogue_data import Example, load_examples
from training.prompt import Message, build_messages
from training.voice import voice_report

SETUPS = ("base_plain", "base_prompted", "lora")
BATCH = 8
# What the shipped adapters must reach (the training issue); the chart draws the LoRA ones and
# tests/test_shipped_adapters.py checks the committed report against all of them.
TARGETS = {
    "lora_voice_min": 0.9, "lora_number_accuracy_min": 0.95, "base_plain_voice_max": 0.1,
    "lora_lead_over_prompted_min": 0.3, "prompt_shorter_min": 3.0,
}
@dataclass(frozen=True)
class Answer:
    """One generated answer and how it was judged."""

    setup: str
    example_id: str
    question: str
    answer: str
    voice: float
    numbers_ok: bool | None
    grounded: bool
    prompt_tokens: int
    attributed: bool = True
    told_right: bool | None = None  # a change answer: every change told the right way


def prompted_messages(world: World, example: Example) -> list[Message]:
    """The tiny prompt with the faction's voice rules (ACCENTS.md, as the voice folder's
    `style.json` writes them) and lexicon added to the system line."""
    messages = tiny_messages(world, example)
    voice = get_voice(example.faction)
    words = "; ".join(f"{e.word} = {e.gloss}" for e in voice.lexicon)
    rules = f"{voice.prompt_rules} Use these {example.faction} words: {words}."
    return [{"role": "system", "content": f"{messages[0]['content']} {rules}"}, *messages[1:]]


def tiny_messages(world: World, example: Example) -> list[Message]:
    """The prompt the bot serves with: system line, facts, question."""
    character = world.character(example.character_id)
    return build_messages(character, world.faction(example.faction), example.facts,
                          example.question)


def judge(setup: str, example: Example, answer: str, prompt_tokens: int) -> Answer:
    """Score one raw answer: voice, asked values present, no invented numbers, and (stricter,
    reported beside it) every number with its own stat."""
    grounded = not invented_numbers(answer, example.facts)
    numbers_ok = (grounded and all(mentions_value(answer, v) for v in example.asked.values())
                  if example.asked else None)
    world = get_world()
    attributed = not misattributed_numbers(answer, example.facts, world.schema.labels)
    moved = changes_in(example.facts) if example.kind == "changes" else ()
    told_right = not wrong_direction(answer, moved, world.meanings.change_words) \
        if moved else None
    return Answer(setup, example.id, example.question, answer,
                  voice_report(answer, example.faction)["score"], numbers_ok, grounded,
                  prompt_tokens, attributed, told_right)


def sample_heldout(faction: str, limit: int | None, seed: int = 0) -> list[Example]:
    """A fixed random sample of the held-out split (all of it when `limit` is None).

    Half the sample asks for stat values, so that number accuracy rests on enough questions.
    """
    examples = load_examples(faction, "heldout")
    if limit is None or limit >= len(examples):
        return examples
    rng = random.Random(seed)
    asking = [e for e in examples if e.asked]
    others = [e for e in examples if not e.asked]
    half = min(len(asking), (limit + 1) // 2)
    chosen = rng.sample(asking, half) + rng.sample(others, min(len(others), limit - half))
    return sorted(chosen, key=lambda e: e.id)


def generate(model, tokenizer, conversations: list[list[Message]],
             max_new_tokens: int) -> tuple[list[str], list[int], float]:
    """Greedy answers for a list of conversations, with prompt lengths and seconds per answer."""
    import torch

    texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
             for c in conversations]
    answers, lengths = [], []
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        batch = tokenizer(texts[start:start + BATCH], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(model.device)
        lengths += batch["attention_mask"].sum(dim=1).tolist()
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        width = batch["input_ids"].shape[1]
        answers += [tokenizer.decode(row[width:], skip_special_tokens=True).strip() for row in out]
    return answers, lengths, (time.perf_counter() - started) / max(1, len(texts))


def generate_on_engine(generator, adapter: str, conversations: list[list[Message]],
                       max_new_tokens: int) -> tuple[list[str], list[int], float]:
    """The same greedy answers through the bot's own generator (`--engine llama.cpp`): the
    answers players get, on the engine they get them from."""
    tokenizer = generator.tokenizer
    lengths = [len(tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=True,
                                                 return_dict=False)) for c in conversations]
    started = time.perf_counter()
    answers = [generator.generate(c, adapter, max_new_tokens).strip() for c in conversations]
    return answers, lengths, (time.perf_counter() - started) / max(1, len(conversations))


def sample(answer: Answer) -> dict[str, object]:
    """One judged answer as the report keeps it."""
    return {"id": answer.example_id, "question": answer.question, "answer": answer.answer,
            "voice": answer.voice, "numbers_ok": answer.numbers_ok,
            "attributed": answer.attributed, "grounded": answer.grounded,
            "told_right": answer.told_right}


def summarise(answers: list[Answer], seconds: float) -> dict[str, object]:
    checked = [a.numbers_ok for a in answers if a.numbers_ok is not None]
    strict = [a.numbers_ok and a.attributed for a in answers if a.numbers_ok is not None]
    told = [a.told_right for a in answers if a.told_right is not None]
    return {
        "answers": len(answers),
        "voice_score": round(sum(a.voice for a in answers) / len(answers), 3),
        "number_accuracy": round(sum(checked) / len(checked), 3) if checked else None,
        "number_accuracy_attributed": round(sum(strict) / len(strict), 3) if strict else None,
        "number_questions": len(checked),
        # change answers that tell no change the wrong way ("drop 43 to 47" does)
        "changes_none_told_wrong": round(sum(told) / len(told), 3) if told else None,
        "change_questions": len(told),
        "grounded_rate": round(sum(a.grounded for a in answers) / len(answers), 3),
        "prompt_tokens": round(sum(a.prompt_tokens for a in answers) / len(answers), 1),
        "seconds_per_answer": round(seconds, 3),
    }


def evaluate(factions: list[str], limit: int | None, adapters_dir: Path,
             setups: tuple[str, ...] = SETUPS, max_new_tokens: int | None = None,
             engine: str = "peft") -> dict[str, object]:
    """Run every setup on each faction's held-out sample; return the report.

    `max_new_tokens` defaults to the bot's cap, `[generation].max_new_tokens`, so that the
    answers judged are the answers players would get. `engine="peft"` is the fp32 reference
    (peft over the dequantized model, `generate`); "native" and "llama.cpp" run the LoRA setup
    only, through the bot's generator on that engine, to show that a served path keeps the
    quality.
    """
    world = get_world()
    max_new_tokens = max_new_tokens or get_config().generation.max_new_tokens
    if engine != "peft":
        return _evaluate_engine(world, factions, limit, adapters_dir, max_new_tokens, engine)
    import torch
    from peft import PeftModel

    from training.base_model import load_base_model

    base, tokenizer = load_base_model(get_config())
    tokenizer.padding_side = "left"
    model = None
    for faction in factions:
        path = adapters_dir / faction
        if model is None:
            model = PeftModel.from_pretrained(base, str(path), adapter_name=faction)
        else:
            model.load_adapter(str(path), adapter_name=faction)
    model.eval()
    report: dict[str, object] = {"limit_per_faction": limit, "max_new_tokens": max_new_tokens,
                                 "decoding": "greedy", "device": str(model.device),
                                 "threads": torch.get_num_threads(), "factions": {}}
    for faction in factions:
        examples = sample_heldout(faction, limit)
        result: dict[str, object] = {}
        samples = {}
        for setup in setups:
            build = prompted_messages if setup == "base_prompted" else tiny_messages
            conversations = [build(world, e) for e in examples]
            model.set_adapter(faction)
            if setup == "lora":
                texts, lengths, seconds = generate(model, tokenizer, conversations, max_new_tokens)
            else:
                with model.disable_adapter():
                    texts, lengths, seconds = generate(model, tokenizer, conversations,
                                                       max_new_tokens)
            judged = [judge(setup, e, t, n) for e, t, n in zip(examples, texts, lengths,
                                                                   strict=True)]
            result[setup] = summarise(judged, seconds)
            samples[setup] = [sample(a) for a in judged]
        result["samples"] = samples
        report["factions"][faction] = result
    return report


def _evaluate_engine(world: World, factions: list[str], limit: int | None, adapters_dir: Path,
                     max_new_tokens: int, engine: str) -> dict[str, object]:
    from bot.generation.local import LocalGenerator

    generator = LocalGenerator(adapters_dir=adapters_dir, engine=engine)
    report: dict[str, object] = {"limit_per_faction": limit, "max_new_tokens": max_new_tokens,
                                 "decoding": "greedy", "engine": generator.engine_name,
                                 "threads": get_config().generation.torch_threads,
                                 "factions": {}}
    try:
        for faction in factions:
            examples = sample_heldout(faction, limit)
            conversations = [tiny_messages(world, e) for e in examples]
            texts, lengths, seconds = generate_on_engine(generator, faction, conversations,
                                                         max_new_tokens)
            judged = [judge("lora", e, t, n) for e, t, n in zip(examples, texts, lengths,
                                                                strict=True)]
            report["factions"][faction] = {"lora": summarise(judged, seconds),
                                           "samples": {"lora": [sample(a) for a in judged]}}
    finally:
        generator.close()
    return report


def merge_reports(previous: dict, new: dict) -> dict:
    """`new` laid over `previous`: the setups evaluated now replace theirs (figures and answers),
    and every other faction and setup keeps its figures, so that `--setup lora --merge`
    refreshes one adapter's row of a committed report."""
    factions = dict(previous.get("factions", {}))
    for faction, result in new["factions"].items():
        old = factions.get(faction, {})
        samples = {**old.get("samples", {}), **result.get("samples", {})}
        factions[faction] = {**old, **result, "samples": samples}
    return {**previous, **new, "factions": factions}


def markdown(report: dict) -> str:
    """The report as a markdown table, one row per faction and setup."""
    lines = ["| faction | setup | voice score | number accuracy | with own stat "
             "| no change told the wrong way | grounded | prompt tokens | s/answer | answers |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for faction, result in report["factions"].items():
        for setup in SETUPS:
            if setup in result:
                r = result[setup]
                lines.append(f"| {faction} | {setup} | {r['voice_score']} | "
                             f"{r['number_accuracy']} ({r['number_questions']}) | "
                             f"{r.get('number_accuracy_attributed')} | "
                             f"{r.get('changes_none_told_wrong')} ({r.get('change_questions')}) | "
                             f"{r['grounded_rate']} | {r['prompt_tokens']} | "
                             f"{r['seconds_per_answer']} | {r['answers']} |")
    return "\n".join(lines) + "\n"


def bar_chart(report: dict, path: Path) -> None:
    """Voice score and number accuracy per setup, one panel per faction, with each bar's value
    and the LoRA targets as dashed lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    factions = list(report["factions"])
    fig, axes = plt.subplots(1, len(factions), figsize=(5 * len(factions), 3.8), squeeze=False)
    for ax, faction in zip(axes[0], factions, strict=True):
        result = report["factions"][faction]
        setups = [s for s in SETUPS if s in result]
        xs = range(len(setups))
        for offset, key, label, colour, target in (
                (-0.2, "voice_score", "voice score", "tab:blue", TARGETS["lora_voice_min"]),
                (0.2, "number_accuracy", "number accuracy", "tab:orange",
                 TARGETS["lora_number_accuracy_min"])):
            values = [result[s][key] or 0 for s in setups]
            bars = ax.bar([x + offset for x in xs], values, 0.4, label=label, color=colour)
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
            ax.axhline(target, color=colour, linestyle="--", linewidth=0.8)
        ax.set_xticks(list(xs), setups)
        ax.set_ylim(0, 1.15)
        ax.set_title(f"{faction} (dashed: LoRA targets)", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the voice adapters on held-out data.")
    parser.add_argument("--faction", action="append", help="only this faction (repeatable)")
    parser.add_argument("--limit", type=int, default=0,
                        help="held-out questions per faction (default 0: all of them)")
    parser.add_argument("--setup", action="append", choices=SETUPS, help="only this setup")
    parser.add_argument("--adapters-dir", type=Path, help="default: [training].adapters_dir")
    parser.add_argument("--out", type=Path, help="report folder (default: the adapters folder)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch")
    parser.add_argument("--engine", choices=("peft", "native", "llama.cpp"), default="peft",
                        help="peft: the fp32 reference, all three setups (default); native or "
                        "llama.cpp: the LoRA setup on one of the bot's served engines")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other factions (and setups) of an existing report in --out")
    args = parser.parse_args(argv)
    config = get_config().training
    adapters = args.adapters_dir or REPO_ROOT / config.adapters_dir
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    report = evaluate(args.faction or list(config.factions), args.limit or None, adapters,
                      tuple(args.setup or SETUPS), engine=args.engine)
    out = args.out or adapters
    out.mkdir(parents=True, exist_ok=True)
    if args.merge and (out / "eval_report.json").exists():
        report = merge_reports(json.loads((out / "eval_report.json").read_text()), report)
    (out / "eval_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "eval_report.md").write_text(markdown(report))
    bar_chart(report, out / "eval_report.png")
    print(json.dumps(report, indent=2) if args.json else markdown(report), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
