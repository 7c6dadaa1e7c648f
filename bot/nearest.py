"""Scores of a question against banks of labelled example embeddings: each label's examples
stand in a run of rows, and a label scores by its nearest examples."""

from __future__ import annotations

import numpy as np


def label_groups(labels: list[str]) -> list[tuple[str, int, int]]:
    """(label, start, end) of each run of equal labels (the banks are built label by
    label)."""
    out: list[tuple[str, int, int]] = []
    for i, label in enumerate(labels):
        if out and out[-1][0] == label:
            out[-1] = (label, out[-1][1], i + 1)
        else:
            out.append((label, i, i + 1))
    return out

def best_by_label(sims: np.ndarray, groups: list[tuple[str, int, int]], top: int = 1,
          ) -> dict[str, float]:
    """Each label's score: the mean of its `top` nearest examples."""
    out: dict[str, float] = {}
    for label, start, end in groups:
        part = sims[start:end]
        if top == 1 or len(part) <= top:
            value = float(part.max()) if top == 1 else float(part.mean())
        else:
            value = float(np.partition(part, -top)[-top:].mean())
        out[label] = max(value, out.get(label, -1.0))
    return out
