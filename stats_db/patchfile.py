"""Reading patch files: JSON (as in DESIGN.md) and CSV, into the raw form that validation checks.

CSV: optional `# key: value` lines first (patch, released, kind, notes), then a header row
`id,<stat>,<stat>,...` (roster columns name, faction, role, region, lore, aliases allowed for new
characters), then one row per character. An empty cell is "not set" in a delta and unknown in a
full patch; `null` or `unknown` is unknown in both. Header values given on the command line win.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from characters.world import ROSTER_FIELDS
from stats_db.validate import PatchError

META_RE = re.compile(r"^#\s*(patch|released|kind|notes)\s*:\s*(.*)$")
INT_RE = re.compile(r"^[+-]?\d+$")
UNKNOWN_WORDS = ("null", "unknown", "none")


@dataclass(frozen=True)
class ParsedFile:
    """A patch file decoded into a raw dict, with a location per entry ("entry 3", "line 7")."""

    raw: object | None
    locations: tuple[str, ...]
    errors: tuple[PatchError, ...]


def _fail(source: str, where: str, reason: str) -> ParsedFile:
    return ParsedFile(None, (), (PatchError(source, where, "", reason),))


def decode_patch_bytes(data: bytes, source: str, max_bytes: int) -> tuple[str | None, ParsedFile]:
    """The file's text, or a failed ParsedFile for an empty, oversized, binary or non-UTF-8 file."""
    if len(data) > max_bytes:
        return None, _fail(source, "file", f"file is {len(data)} bytes, over the limit of "
                                            f"{max_bytes} bytes")
    if not data.strip():
        return None, _fail(source, "file", "file is empty")
    if b"\x00" in data:
        return None, _fail(source, "file", "file is binary (it holds NUL bytes), not a patch")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, _fail(source, "file", f"file is not UTF-8 text (bad byte at offset "
                                            f"{exc.start})")
    return text, ParsedFile(None, (), ())


def parse_json_text(text: str, source: str) -> ParsedFile:
    """Parse a JSON patch file's text."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = "truncated JSON" if exc.pos >= len(text.rstrip()) else "malformed JSON"
        return _fail(source, f"line {exc.lineno}", f"{reason}: {exc.msg} (column {exc.colno})")
    entries = raw.get("characters") if isinstance(raw, dict) else None
    n = len(entries) if isinstance(entries, list) else 0
    return ParsedFile(raw, tuple(f"entry {i + 1}" for i in range(n)), ())


def _csv_value(cell: str, kind: str) -> object:
    cell = cell.strip()
    if cell.lower() in UNKNOWN_WORDS:
        return None
    if INT_RE.match(cell):
        return int(cell)
    try:
        return float(cell)
    except ValueError:
        return cell  # validation reports it as the wrong type


def parse_csv_text(text: str, source: str, meta: Mapping[str, str] | None = None) -> ParsedFile:
    """Parse a CSV patch file's text (see the module docstring for the format)."""
    lines = text.splitlines()
    header: dict[str, str] = {}
    first = 0
    while first < len(lines) and (lines[first].startswith("#") or not lines[first].strip()):
        match = META_RE.match(lines[first].strip())
        if match:
            header[match.group(1)] = match.group(2).strip()
        first += 1
    header.update({k: v for k, v in (meta or {}).items() if v})
    if first >= len(lines):
        return _fail(source, f"line {first}", "no header row (expected id,<stat>,...)")
    rows = list(csv.reader(io.StringIO("\n".join(lines[first:]))))
    columns = [c.strip() for c in rows[0]]
    if not columns or columns[0] != "id":
        return _fail(source, f"line {first + 1}", f"the header row must start with 'id', got "
                                                  f"{rows[0][:1]!r}")
    kind = header.get("kind", "delta")
    raw: dict[str, object] = {**header, "kind": kind, "characters": []}
    locations: list[str] = []
    errors: list[PatchError] = []
    for offset, row in enumerate(rows[1:], start=first + 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            errors.append(PatchError(source, f"line {offset}", "", f"expected {len(columns)} "
                                     f"cells, got {len(row)} (truncated or malformed row)"))
            continue
        entry: dict[str, object] = {"id": row[0].strip()}
        stats: dict[str, object] = {}
        for name, cell in zip(columns[1:], row[1:], strict=True):
            if name in ROSTER_FIELDS:
                if cell.strip():
                    entry[name] = cell.strip()
            elif name == "aliases":
                if cell.strip():
                    entry["aliases"] = [a.strip() for a in cell.split(";") if a.strip()]
            elif cell.strip() or kind == "full":
                stats[name] = _csv_value(cell, kind) if cell.strip() else None
        entry["stats"] = stats
        raw["characters"].append(entry)  # type: ignore[union-attr]
        locations.append(f"line {offset}")
    return ParsedFile(raw, tuple(locations), tuple(errors))


def parse_patch_bytes(data: bytes, source: str, max_bytes: int,
                      meta: Mapping[str, str] | None = None) -> ParsedFile:
    """Decode and parse a patch file's bytes; CSV when the name ends in .csv, else JSON."""
    text, failed = decode_patch_bytes(data, source, max_bytes)
    if text is None:
        return failed
    if source.lower().endswith(".csv"):
        return parse_csv_text(text, source, meta)
    return parse_json_text(text, source)


def read_patch_file(
    path: Path, max_bytes: int, meta: Mapping[str, str] | None = None
) -> ParsedFile:
    """Read and parse one patch file from disk."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return _fail(source, "file", f"file is {size} bytes, over the limit of {max_bytes} "
                                         "bytes")
        data = path.read_bytes()
    except OSError as exc:
        return _fail(source, "file", f"cannot read file: {exc.strerror or exc}")
    return parse_patch_bytes(data, source, max_bytes, meta)
