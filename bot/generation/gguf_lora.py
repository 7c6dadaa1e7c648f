"""Faction adapters as GGUF LoRA files, for llama.cpp (bot.generation.llama).

    python -m bot.generation.gguf_lora    # convert every adapter the cache lacks (make setup)

`convert` reads a trained peft folder (adapter_config.json, adapter_model.safetensors) and writes
one GGUF LoRA file: per target module of layer N, `blk.N.<tensor>.weight.lora_a` (rank x in) and
`.lora_b` (out x rank) in f32 (the bf16 weights exactly; llama.cpp then multiplies them in f32),
and the scale as `adapter.lora.alpha` (llama.cpp applies alpha / rank, so an rsLoRA scale is
written as scale * rank). The query and key rows of B are permuted the way llama.cpp's own
converter lays out those weights. The files live in the model cache, named by the sha256 of
their source, so a retrained adapter is converted again and nothing stale is ever served:
`python -m training.train` converts at the end of training, `make setup` converts what is missing,
and start-up converts anything still missing (about a second each).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from bot.generation.base import GenerationError

ARCH = "llama"
_TENSORS = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_MODULE = re.compile(r"^model\.layers\.(?P<layer>\d+)\.(?P<proj>[a-z_]+\.[a-z_]+)$")


def source_sha256(adapter_dir: Path) -> str:
    """The sha256 of the adapter's config and weights: the converted file's name."""
    digest = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        digest.update((Path(adapter_dir) / name).read_bytes())
    return digest.hexdigest()


def _permute(rows, heads: int):
    """llama.cpp's row order for a query/key projection (its HF converter's `permute`)."""
    return (rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:])
            .swapaxes(1, 2).reshape(rows.shape))


def convert(adapter_dir: Path, out: Path, *, heads: int, kv_heads: int) -> Path:
    """Write the GGUF LoRA file of one peft adapter folder; returns its path.

    `heads`/`kv_heads` are the base model's attention head counts (`head_counts`).
    """
    import gguf
    import numpy as np

    from bot.generation.adapters import read_adapter

    adapter_dir = Path(adapter_dir)
    out = Path(out)
    modules = read_adapter(adapter_dir)
    scales = {round(scale, 9) for _, _, scale in modules.values()}
    if len(scales) != 1:
        raise GenerationError(f"{adapter_dir}: modules with different LoRA scales ({scales})")
    writer = gguf.GGUFWriter(str(out.with_suffix(".tmp")), ARCH)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    rank = None
    for module in sorted(modules):
        a, b, _ = modules[module]
        match = _MODULE.match(module.removeprefix("base_model.model."))
        if match is None or match["proj"] not in _TENSORS:
            raise GenerationError(f"{adapter_dir}: cannot place LoRA module {module!r} in GGUF")
        rank = a.shape[0]
        a_np = a.float().numpy().astype(np.float32)
        b_np = b.float().numpy().astype(np.float32)
        if match["proj"] == "self_attn.q_proj":
            b_np = _permute(b_np, heads)
        elif match["proj"] == "self_attn.k_proj":
            b_np = _permute(b_np, kv_heads)
        name = f"blk.{match['layer']}.{_TENSORS[match['proj']]}.weight"
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a_np))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b_np))
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(scales.pop()) * float(rank or 1))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    out.with_suffix(".tmp").replace(out)  # never a half-written adapter under the real name
    return out


def head_counts(base_gguf: Path) -> tuple[int, int]:
    """The attention head counts a base GGUF records (query heads, key/value heads)."""
    import gguf

    reader = gguf.GGUFReader(str(base_gguf))
    arch = str(reader.get_field("general.architecture").contents())
    heads = int(reader.get_field(f"{arch}.attention.head_count").contents())
    kv = reader.get_field(f"{arch}.attention.head_count_kv")
    return heads, int(kv.contents()) if kv is not None else heads


def converted_path(adapter_dir: Path, cache: Path) -> Path:
    """Where the adapter's GGUF lives in the cache: named by its source's hash."""
    return Path(cache) / "lora" / f"{Path(adapter_dir).name}-{source_sha256(adapter_dir)[:16]}.gguf"


def ensure_converted(adapter_dir: Path, base_gguf: Path, cache: Path) -> Path:
    """The adapter's GGUF for its present weights, converted now if the cache lacks it."""
    return _ensure(adapter_dir, base_gguf, cache)[0]


def _ensure(adapter_dir: Path, base_gguf: Path, cache: Path) -> tuple[Path, bool]:
    """The adapter's GGUF, and whether it was converted just now (the source hashed once)."""
    target = converted_path(adapter_dir, cache)
    if target.is_file():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    heads, kv_heads = head_counts(base_gguf)
    return convert(adapter_dir, target, heads=heads, kv_heads=kv_heads), True


def main(argv: list[str] | None = None) -> int:
    from bot.generation.adapters import discover_adapters
    from characters.config import get_config
    from training.base_model import find_source

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path,
                        help="adapter folders (default: every adapter in [training].adapters_dir)")
    parser.add_argument("--quiet", action="store_true", help="print only what was converted")
    args = parser.parse_args(argv)
    config = get_config()
    folders = args.folders
    if not folders:
        folders = list(discover_adapters(config.adapters_dir).values())
    source = find_source(config.training.base_model)
    if source.gguf_file is None:
        print("the base model is not a GGUF file; llama.cpp does not serve it", file=sys.stderr)
        return 0
    if not args.folders:
        from bot.generation.llama import available, f16_copy

        if available():  # the copy prompts are read on, made once
            f16_copy(source.folder / source.gguf_file, config.cache_dir)
    for folder in folders:
        try:
            path, fresh = _ensure(folder, source.folder / source.gguf_file, config.cache_dir)
        except (OSError, GenerationError) as exc:
            print(f"error: adapter {folder}: {exc}", file=sys.stderr)
            return 2
        if fresh or not args.quiet:
            print(f"{folder.name}: {'converted to' if fresh else 'current'} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
