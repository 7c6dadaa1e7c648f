"""The stat schema: which numeric stats a character has, their types, units and ranges.

The schema is data (`schema.json`), not code, so a different game (see the Dota 2 adapter in the
tests) brings its own.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

Number = int | float


class SchemaError(ValueError):
    """A stat value or a schema file breaks the stat schema."""


def decimal_places(value: Number) -> int:
    """How many decimal places a number has, as written in the shortest exact form."""
    if isinstance(value, int):
        return 0
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return max(0, -int(exponent))


@dataclass(frozen=True)
class Stat:
    """One numeric stat: its type, unit, range and the words players use for it."""

    name: str
    type: str  # "int" or "float"
    unit: str
    minimum: float
    maximum: float
    label: str
    synonyms: tuple[str, ...] = ()
    decimals: int = 0

    def check(self, value: object) -> str | None:
        """Return why `value` is not a valid value of this stat, or None when it is."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a number, got {type(value).__name__} {value!r}"
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return f"{value!r} is not a finite number"
        if self.type == "int" and not (isinstance(value, int) or float(value).is_integer()):
            return f"expected a whole number, got {value!r}"
        if not self.minimum <= value <= self.maximum:
            return f"{value!r} is outside the range {self.minimum:g}..{self.maximum:g}"
        places = decimal_places(value)
        if self.type == "float" and places > self.decimals:
            return (f"{value!r} has {places} decimal places; {self.name} allows at most "
                    f"{self.decimals} (values are stored exactly, never rounded)")
        return None

    def coerce(self, value: Number) -> Number:
        """The canonical stored form of an already checked value (never rounded)."""
        return int(value) if self.type == "int" else float(value)

    def format(self, value: Number | None) -> str:
        """The value as it is written in stat cards and answers, without the unit."""
        if value is None:
            return "unknown"
        if self.type == "int":
            return str(int(value))
        if self.decimals:
            return f"{float(value):.{self.decimals}f}"
        return f"{float(value):g}"

    def format_with_unit(self, value: Number | None) -> str:
        text = self.format(value)
        if value is None or not self.unit:
            return text
        return f"{text}{self.unit}" if self.unit == "%" else f"{text} {self.unit}"


@dataclass(frozen=True)
class StatSchema:
    """The ordered set of stats every character has."""

    stats: tuple[Stat, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.stats]
        if len(set(names)) != len(names):
            raise SchemaError("stat names must be unique")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stats)

    @property
    def labels(self) -> tuple[str, ...]:
        """The stats' display labels ("Attack speed"), in order."""
        return tuple(s.label for s in self.stats)

    def get(self, name: str) -> Stat | None:
        return self._by_name().get(name)

    def __getitem__(self, name: str) -> Stat:
        stat = self.get(name)
        if stat is None:
            raise KeyError(name)
        return stat

    def __contains__(self, name: object) -> bool:
        return name in self._by_name()

    def _by_name(self) -> dict[str, Stat]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {s.name: s for s in self.stats}
            object.__setattr__(self, "_index", cached)
        return cached

    def to_json(self) -> dict:
        return {
            "stats": [
                {
                    "name": s.name, "type": s.type, "unit": s.unit, "min": s.minimum,
                    "max": s.maximum, "decimals": s.decimals, "label": s.label,
                    "synonyms": list(s.synonyms),
                }
                for s in self.stats
            ]
        }

    @classmethod
    def from_json(cls, data: dict) -> StatSchema:
        try:
            stats = tuple(
                Stat(
                    name=item["name"], type=item["type"], unit=item.get("unit", ""),
                    minimum=item["min"], maximum=item["max"], label=item.get("label", item["name"]),
                    synonyms=tuple(item.get("synonyms", ())), decimals=item.get("decimals", 0),
                )
                for item in data["stats"]
            )
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"malformed schema: missing or bad field {exc}") from exc
        for stat in stats:
            if stat.type not in ("int", "float"):
                raise SchemaError(f"stat {stat.name}: type must be int or float")
        return cls(stats)


def load_schema(path: Path) -> StatSchema:
    """Read a schema.json file."""
    return StatSchema.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
