"""The LanceDB retrieval index: one stat-card row per character at the current patch, plus lore.

Rows are keyed `stats:<id>` and `lore:<id>:<n>`; each holds its text, the text's content hash
(so only changed cards are re-embedded), the faction, the structured stat columns `stat_<name>`
and the vector. Each imported patch tags the table version it produced, so "as of patch P" is a
checkout of tag P.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa

from characters.cards import render_lore_card, render_stat_card
from characters.schema import StatSchema
from characters.world import Character, World

TABLE = "cards"
BASE_COLUMNS = ("key", "kind", "character_id", "name", "faction", "role", "patch", "text",
                "content_hash")
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
DEFAULT_KEEP = dt.timedelta(days=7)  # LanceDB's own default retention


def text_hash(text: str) -> str:
    """The content hash of a card's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def stat_column(name: str) -> str:
    return f"stat_{name}"


def arrow_schema(schema: StatSchema, dim: int) -> pa.Schema:
    """The table's columns for a stat schema and a vector size."""
    fields = [pa.field(name, pa.string()) for name in BASE_COLUMNS]
    fields += [pa.field(stat_column(s.name), pa.float64()) for s in schema.stats]
    fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
    return pa.schema(fields)


def lore_chunks(lore: str, max_chars: int) -> list[str]:
    """Lore split at sentence ends into chunks of at most about `max_chars` characters."""
    chunks: list[str] = []
    current = ""
    for sentence in SENTENCE_RE.split(lore.strip()):
        if current and len(current) + 1 + len(sentence) > max_chars:
            chunks.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        chunks.append(current)
    return chunks or [""]


def build_rows(
    world: World, characters: Mapping[str, Character], stats: Mapping[str, Mapping],
    changed_in: Mapping[str, str], lore_chunk_chars: int,
) -> dict[str, dict]:
    """The rows the index should hold (without vectors), keyed by row key. Pure."""
    rows: dict[str, dict] = {}
    for cid in sorted(stats):
        character = characters.get(cid)
        if character is None:
            continue
        faction = world.faction(character.faction)
        values = {n: stats[cid].get(n) for n in world.schema.names}
        card = render_stat_card(character, faction, values, changed_in[cid], world.schema)
        row = {"key": f"stats:{cid}", "kind": "stats", "character_id": cid,
               "name": character.name, "faction": character.faction, "role": character.role,
               "patch": changed_in[cid], "text": card, "content_hash": text_hash(card)}
        row.update({stat_column(n): None if v is None else float(v) for n, v in values.items()})
        rows[row["key"]] = row
        header = render_lore_card(character, faction).split("\n", 1)[0]
        for i, chunk in enumerate(lore_chunks(character.lore, lore_chunk_chars)):
            text = f"{header}\n{chunk}"
            lore = {"key": f"lore:{cid}:{i}", "kind": "lore", "character_id": cid,
                    "name": character.name, "faction": character.faction,
                    "role": character.role, "patch": "", "text": text,
                    "content_hash": text_hash(text)}
            lore.update({stat_column(n): None for n in world.schema.names})
            rows[lore["key"]] = lore
    return rows


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class LanceIndex:
    """The `cards` table in a LanceDB folder; one connection per thread."""

    def __init__(self, path: Path, schema: StatSchema, dim: int) -> None:
        self.path = Path(path)
        self.schema = schema
        self.dim = dim
        self._local = threading.local()

    def _db(self):
        db = getattr(self._local, "db", None)
        if db is None:
            import lancedb

            db = lancedb.connect(self.path, read_consistency_interval=dt.timedelta(0))
            self._local.db = db
        return db

    def table(self, create: bool = False):
        """The table (latest version), or None when it does not exist and `create` is false."""
        table = getattr(self._local, "table", None)
        if table is not None:
            return table
        db = self._db()
        if TABLE in db.list_tables().tables:
            table = db.open_table(TABLE)
        elif create:
            from lancedb.index import BTree

            table = db.create_table(TABLE, schema=arrow_schema(self.schema, self.dim),
                                    exist_ok=True)
            table.create_index("key", config=BTree(), replace=True)
            table.create_index("character_id", config=BTree(), replace=True)
        else:
            return None
        self._local.table = table
        return table

    def outdated_layout(self) -> bool:
        """Whether the table predates the current columns (it is then rebuilt from SQLite)."""
        table = self.table()
        return table is not None and table.schema != arrow_schema(self.schema, self.dim)

    def hashes(self) -> dict[str, str]:
        """key -> content hash of every row."""
        table = self.table()
        if table is None:
            return {}
        data = table.search().select(["key", "content_hash"]).limit(None).to_arrow().to_pydict()
        return dict(zip(data["key"], data["content_hash"], strict=True))

    def count(self) -> int:
        table = self.table()
        return 0 if table is None else table.count_rows()

    def upsert(self, rows: list[dict], delete_keys: Iterable[str] = ()) -> None:
        """Write changed rows and delete stale keys in one `merge_insert` commit."""
        table = self.table(create=True)
        delete_keys = sorted(delete_keys)
        if not rows:
            if delete_keys:
                table.delete(f"key IN ({', '.join(_quote(k) for k in delete_keys)})")
            return
        data = pa.Table.from_pylist(rows, schema=table.schema)
        builder = (table.merge_insert("key").when_matched_update_all()
                   .when_not_matched_insert_all())
        if delete_keys:
            builder = builder.when_not_matched_by_source_delete(
                f"key IN ({', '.join(_quote(k) for k in delete_keys)})")
        builder.execute(data)

    def refresh_fts(self, keep: dt.timedelta = DEFAULT_KEEP) -> None:
        """Make the full-text index cover every row (create it, or fold new rows in)."""
        from lancedb.index import FTS

        table = self.table(create=True)
        if "text_idx" not in {ix.name for ix in table.list_indices()}:
            table.create_index("text", config=FTS(), replace=True)
        # Folds new rows into every index (FTS and the scalar ones). Its prune step must never
        # reach a tagged version: Lance refuses the whole optimize if it would.
        table.optimize(cleanup_older_than=self.safe_retention(keep))

    def fragments(self) -> int:
        """How many data fragments the latest version has (each write adds one)."""
        table = self.table()
        return 0 if table is None else table.stats()["fragment_stats"]["num_fragments"]

    def optimize_due(self, every: int) -> bool:
        """Whether an import should optimize now: there is no full-text index yet, or the
        table has more than `every` fragments (about `every` writes since the last
        compaction). `every` <= 1 optimizes after each write."""
        table = self.table()
        if table is None:
            return False
        if "text_idx" not in {ix.name for ix in table.list_indices()}:
            return True
        if every <= 1:
            return self.unindexed_fts_rows() > 0 or self.fragments() > 1
        return self.fragments() > every

    def unindexed_fts_rows(self) -> int:
        """Rows the full-text index does not cover yet (0 once refreshed)."""
        table = self.table()
        if table is None:
            return 0
        if "text_idx" not in {ix.name for ix in table.list_indices()}:
            return table.count_rows()
        return table.index_stats("text_idx").num_unindexed_rows

    def tag(self, name: str) -> None:
        """Tag the latest version with a patch id (moving the tag if it exists)."""
        table = self.table(create=True)
        if name in table.tags.list():
            table.tags.update(name, table.version)
        else:
            table.tags.create(name, table.version)

    def tags(self) -> dict[str, int]:
        table = self.table()
        if table is None:
            return {}
        return {name: info["version"] for name, info in table.tags.list().items()}

    def drop(self) -> None:
        db = self._db()
        if TABLE in db.list_tables().tables:
            db.drop_table(TABLE)
        self._local.table = None
        self._local.__dict__.pop("at_version", None)

    def _table_at(self, tag: str | None):
        """The table as it is now, or as of a patch's tag (None when not created); a checked-out
        version is immutable, so each thread keeps the ones it has opened."""
        table = self.table()
        if table is None or tag is None:
            return table
        version = self.tags().get(tag)
        if version is None:
            raise KeyError(f"the index has no tag {tag!r}")
        opened = self._local.__dict__.setdefault("at_version", {})
        found = opened.get(version)
        if found is None:
            if len(opened) >= 32:
                opened.clear()
            found = self._db().open_table(TABLE)
            found.checkout(version)
            opened[version] = found
        return found

    def search(self, vector, text: str, k: int, character_id: str | None = None,
               tag: str | None = None) -> list[dict]:
        """Hybrid search (vector plus full text, fused by rank with RRF), optionally filtered."""
        from lancedb.rerankers import RRFReranker

        table = self._table_at(tag)
        if table is None:
            return []
        query = table.search(query_type="hybrid").vector(vector).text(text)
        if character_id:
            query = query.where(f"character_id = {_quote(character_id)}", prefilter=True)
        cols = ["key", "kind", "character_id", "text"]
        return [{c: r.get(c) for c in (*cols, "_relevance_score")}
                for r in query.rerank(RRFReranker()).limit(k).to_list()]

    def stat_row(self, character_id: str, tag: str) -> dict | None:
        """A character's stat row (its `stat_<name>` columns) as of a patch's tag, or None."""
        table = self._table_at(tag)
        if table is None:
            return None
        cols = ["character_id", "patch", *(stat_column(n) for n in self.schema.names)]
        rows = (table.search().where(f"key = {_quote('stats:' + character_id)}")
                .select(cols).limit(1).to_list())
        return rows[0] if rows else None

    def ranking(self, stat: str, k: int, lowest: bool = False, faction: str | None = None,
                roles: Iterable[str] = (), tag: str | None = None) -> list[dict]:
        """The top `k` stat rows by one stat column, filtered by faction and roles, in one
        query: LanceDB filters, orders (ties by name) and limits."""
        from lancedb.query import ColumnOrdering

        table = self._table_at(tag)
        if table is None:
            return []
        column = stat_column(stat)
        where = ["kind = 'stats'", f"{column} IS NOT NULL"]
        if faction:
            where.append(f"faction = {_quote(faction)}")
        roles = sorted(roles)
        if roles:
            where.append(f"role IN ({', '.join(_quote(r) for r in roles)})")
        order = [ColumnOrdering(column_name=column, ascending=lowest),
                 ColumnOrdering(column_name="name")]
        query = (table.search().where(" AND ".join(where))
                 .select(["character_id", "name", "faction", "role", column])
                 .order_by(order).limit(k))
        return [{**r, "value": r[column]} for r in query.to_list()]

    def vector_search(self, vector, k: int, character_id: str | None = None,
                      tag: str | None = None) -> list[dict]:
        """Vector-only search, for questions with no searchable words."""
        table = self._table_at(tag)
        if table is None:
            return []
        query = table.search(vector, query_type="vector")
        if character_id:
            query = query.where(f"character_id = {_quote(character_id)}", prefilter=True)
        return query.limit(k).to_list()

    # --- rollback and upkeep (additive: restore, untag, optimize) ---------------------------

    def restore(self, tag: str) -> int:
        """Make the latest version equal the version a tag names (LanceDB `restore`)."""
        table = self.table(create=True)
        table.restore(tag)
        table.checkout_latest()
        return table.version

    def untag(self, name: str) -> None:
        """Delete a patch's tag (a no-op when it has none)."""
        table = self.table()
        if table is not None and name in table.tags.list():
            table.tags.delete(name)

    def versions(self) -> int:
        """How many table versions are on disk."""
        table = self.table()
        return 0 if table is None else len(table.list_versions())

    def safe_retention(self, keep: dt.timedelta,
                       margin: dt.timedelta = dt.timedelta(minutes=1)) -> dt.timedelta:
        """`keep`, lengthened so that no tagged version is old enough to be pruned.

        LanceDB's Python `optimize` cannot pass Lance's `error_if_tagged_old_versions=False`,
        so a prune window that reaches a tagged version fails the whole call. Every patch is
        tagged, so only the versions before the oldest tag can go.
        """
        table = self.table()
        tagged = {info["version"] for info in table.tags.list().values()} if table else set()
        if not tagged:
            return keep
        oldest = min(v["timestamp"] for v in table.list_versions() if v["version"] in tagged)
        if oldest.tzinfo is not None:
            oldest = oldest.astimezone(dt.UTC).replace(tzinfo=None)
        # Lance gives naive timestamps; take the larger age of the local and the UTC reading.
        now_local, now_utc = dt.datetime.now(), dt.datetime.now(dt.UTC).replace(tzinfo=None)
        age = max(now_local - oldest, now_utc - oldest)
        return max(keep, age + margin)

    def optimize(self, keep: dt.timedelta,
                 margin: dt.timedelta = dt.timedelta(minutes=1)) -> dict:
        """Compact files, fold new rows into the indexes, and prune versions older than `keep`
        that no tag names (every patch's tag stays readable)."""
        table = self.table()
        if table is None:
            return {"versions_before": 0, "versions_after": 0}
        before = len(table.list_versions())
        table.optimize(cleanup_older_than=self.safe_retention(keep, margin))
        return {"versions_before": before, "versions_after": len(table.list_versions())}
