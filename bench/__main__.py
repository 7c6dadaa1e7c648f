"""Run the benchmarks and print their figures.

    python -m bench                 # every bench/bench_*.py
    python -m bench resolve import  # only those whose name contains one of the words

Each module has `run() -> dict[str, object]`; its figures go to bench/results/<name>.json.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if argv:
        names = [n for n in names if any(word in n for word in argv)]
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        figures = importlib.import_module(f"bench.{name}").run()
        figures["bench_wall_s"] = round(time.perf_counter() - started, 2)
        for key, value in figures.items():
            print(f"  {key:<48} {value}")
        (results_dir / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
