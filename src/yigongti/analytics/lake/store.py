"""The lake on disk: Parquet files under a root directory and a manifest naming the live ones.

Readers see snapshots. ``<root>/_manifest.json`` lists, per dataset, the files that make up the
lake now (path relative to the root, rows, month, institution); a reader lists files from one
manifest and never looks at the directory tree, so it sees every file of a commit or none.

Writers work in a transaction that holds an exclusive ``fcntl`` lock on ``<root>/.lock`` from
start to end, so one writer at a time stages and commits:

1. At the start, files left by a writer that crashed are swept: hidden staged files
   (``.<name>.tmp``) and Parquet files the manifest does not list (staged, renamed, but never
   committed). No other writer can be mid-way, as the lock says.
2. New files are written under hidden temporary names in their final directory (hidden, so
   engines that scan directories, Hive-style, skip them too).
3. Commit: the staged files are synced to disk, renamed to their final names and their
   directories synced; then a new manifest is written to a temporary file, synced, and
   ``os.replace``-d over the old one (atomic on POSIX). That rename is the commit point: a
   crash before it leaves the old manifest and orphans that the next writer sweeps; a crash
   after it, a committed lake.
4. Files the commit replaced or removed are deleted and emptied directories pruned.

A reader that listed files before a commit and opens a replaced one after it finds it gone
(the query fails and is run again on the new snapshot); a reader that has it open keeps
reading it, as POSIX keeps unlinked files readable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yigongti.analytics.lake.schema import DATASETS, Dataset
from yigongti.kernel import now

MANIFEST = "_manifest.json"
LOCK = ".lock"
FORMAT = 1
COMPRESSION = "zstd"
TMP_SUFFIX = ".tmp"
SYNC_THREADS = 16


@dataclass(frozen=True)
class LakeEntry:
    """One live file of the lake, as the manifest records it.

    ``path`` is relative to the lake root (POSIX separators). ``month`` is empty for the
    ``institutions`` dimension, ``institution_id`` for datasets not partitioned by institution.
    ``source`` is ``export`` or ``upload``; ``sha256`` the pushed file's hash for uploads.
    """

    dataset: str
    path: str
    rows: int
    month: str | None = None
    institution_id: str | None = None
    source: str = "export"
    sha256: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The lake as one manifest describes it: a consistent set of files across datasets."""

    root: Path
    generation: int
    entries_by_dataset: dict[str, tuple[LakeEntry, ...]]

    def entries(self, dataset: str) -> list[LakeEntry]:
        """The live files of ``dataset`` with what the manifest records of each."""
        return list(self.entries_by_dataset.get(_known(dataset).name, ()))

    def files(self, dataset: str) -> list[Path]:
        """Absolute paths of the live files of ``dataset``; [] when it has none yet."""
        return [self.root / e.path for e in self.entries(dataset)]

    def rows(self, dataset: str) -> int:
        """Rows in the live files of ``dataset``."""
        return sum(e.rows for e in self.entries(dataset))


def _known(dataset: str) -> Dataset:
    try:
        return DATASETS[dataset]
    except KeyError:
        raise ValueError(
            f"unknown lake dataset {dataset!r}; the lake has {', '.join(DATASETS)}"
        ) from None


def partition_dir(dataset: Dataset, month: str | None, institution_id: str | None) -> str:
    """The directory (relative to the root) of a dataset's files of one month and institution."""
    if dataset.name == "institutions":
        return dataset.name
    if not month:
        raise ValueError(f"{dataset.name} files belong to a month")
    parts = [dataset.name, f"month={month}"]
    if dataset.by_institution:
        if not institution_id:
            raise ValueError(f"{dataset.name} files belong to an institution")
        parts.append(f"institution={institution_id}")
    return "/".join(parts)


def conform(dataset: Dataset, table: pa.Table) -> pa.Table:
    """``table`` with exactly the dataset's columns, in order and of its types.

    Raises ``ValueError`` when a column is missing or a required one holds empty values:
    files in the lake always keep the contract readers rely on.
    """
    missing = [n for n in dataset.names if n not in table.column_names]
    if missing:
        raise ValueError(f"{dataset.name}: columns missing: {', '.join(missing)}")
    for column in dataset.columns:
        if column.required and table.column(column.name).null_count:
            raise ValueError(f"{dataset.name}.{column.name} is required but has empty values")
    schema = dataset.arrow_schema()
    return table if table.schema.equals(schema) else table.select(list(dataset.names)).cast(schema)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_all(paths: list[Path]) -> None:
    """Sync files (or directories) to disk before the manifest may name them.

    In parallel: one after the other, a month's thousand small files wait a thousand journal
    commits (seconds); together the filesystem groups them into a few.
    """
    if len(paths) == 1:
        _fsync(paths[0])
    elif paths:
        with ThreadPoolExecutor(SYNC_THREADS) as pool:
            list(pool.map(_fsync, paths))


class Lake:
    """The lake under ``root``: snapshots for readers, transactions for writers."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def snapshot(self) -> Snapshot:
        """The lake as its current manifest describes it (an empty lake has no manifest)."""
        path = self.root / MANIFEST
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Snapshot(self.root, 0, {})
        by_dataset = {
            name: tuple(LakeEntry(**e) for e in entries)
            for name, entries in document["datasets"].items()
        }
        return Snapshot(self.root, int(document["generation"]), by_dataset)

    def files(self, dataset: str) -> list[Path]:
        """Absolute paths of the live Parquet files of ``dataset`` ([] when none yet).

        The list comes from one manifest: it holds every file of the last commit and nothing
        staged. Pass it as is to DuckDB's ``read_parquet`` or Spark's ``read.parquet``.
        """
        return self.snapshot().files(dataset)

    def entries(self, dataset: str) -> list[LakeEntry]:
        """The live files of ``dataset`` with rows, month, institution and source."""
        return self.snapshot().entries(dataset)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LakeTransaction]:
        """A write transaction: stage files, remove entries, commit when the block ends.

        The lake's lock is held throughout, so writers queue here. When the block raises,
        staged files are deleted and the manifest stays as it was.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                tx = LakeTransaction(self, self.snapshot())
                tx.sweep()
                try:
                    yield tx
                except BaseException:
                    tx.discard()
                    raise
                if not tx.committed:
                    tx.commit()
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


@dataclass
class _Staged:
    entry: LakeEntry
    temporary: Path


@dataclass
class LakeTransaction:
    """One writer's changes to the lake, made visible together by ``commit``."""

    lake: Lake
    base: Snapshot
    staged: list[_Staged] = field(default_factory=list)
    staged_paths: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    committed: bool = False

    def entries(self, dataset: str) -> list[LakeEntry]:
        """The live files of ``dataset`` as of the start of this transaction."""
        return self.base.entries(dataset)

    def write_table(
        self,
        dataset: str,
        table: pa.Table,
        month: str | None,
        institution_id: str | None,
        name: str,
        *,
        source: str = "export",
        sha256: str | None = None,
    ) -> LakeEntry:
        """Stage ``table`` as ``<partition>/<name>.parquet``; it goes live at commit.

        The table is conformed to the dataset's Arrow schema and written zstd-compressed. A
        staged path equal to a live one replaces that file at commit (the ``institutions``
        dimension); every other name must be new.
        """
        ds = _known(dataset)
        table = conform(ds, table)
        relative = f"{partition_dir(ds, month, institution_id)}/{name}.parquet"
        if relative in self.staged_paths:
            raise ValueError(f"{relative} is staged twice in one transaction")
        self.staged_paths.add(relative)
        final = self.lake.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")
        pq.write_table(table, temporary, compression=COMPRESSION)
        entry = LakeEntry(
            dataset=ds.name,
            path=relative,
            rows=table.num_rows,
            month=month or None,
            institution_id=institution_id if ds.by_institution else None,
            source=source,
            sha256=sha256,
        )
        self.staged.append(_Staged(entry, temporary))
        return entry

    def remove(self, entry: LakeEntry) -> None:
        """Take ``entry`` out of the lake at commit (its file is deleted after it)."""
        self.removed.add(entry.path)

    def sweep(self) -> list[Path]:
        """Delete what crashed writers left: staged temporaries and unlisted Parquet files."""
        live = {e.path for entries in self.base.entries_by_dataset.values() for e in entries}
        swept = []
        for name in DATASETS:
            top = self.lake.root / name
            if not top.is_dir():
                continue
            for path in top.rglob("*"):
                relative = path.relative_to(self.lake.root).as_posix()
                stale_tmp = path.name.startswith(".") and path.name.endswith(TMP_SUFFIX)
                unlisted = path.suffix == ".parquet" and relative not in live
                if path.is_file() and (stale_tmp or unlisted):
                    path.unlink()
                    swept.append(path)
        return swept

    def discard(self) -> None:
        """Forget the staged files (the transaction failed before its commit)."""
        for staged in self.staged:
            staged.temporary.unlink(missing_ok=True)
        self.staged.clear()
        self.staged_paths.clear()
        self.removed.clear()

    def commit(self) -> Snapshot:
        """Make the staged files live and the removed ones gone, in one manifest replace."""
        if self.committed:
            raise RuntimeError("the lake transaction is already committed")
        self.committed = True
        if not self.staged and not self.removed:
            return self.base
        root = self.lake.root
        _sync_all([s.temporary for s in self.staged])
        for staged in self.staged:
            os.replace(staged.temporary, root / staged.entry.path)
        _sync_all(sorted({(root / s.entry.path).parent for s in self.staged}))
        added = {s.entry.path for s in self.staged}
        by_dataset: dict[str, list[LakeEntry]] = {}
        for name, entries in self.base.entries_by_dataset.items():
            kept = [e for e in entries if e.path not in self.removed and e.path not in added]
            by_dataset[name] = kept
        for staged in self.staged:
            by_dataset.setdefault(staged.entry.dataset, []).append(staged.entry)
        snapshot = self._write_manifest(by_dataset)
        for relative in self.removed - added:
            self._delete(root / relative)
        return snapshot

    def _write_manifest(self, by_dataset: dict[str, list[LakeEntry]]) -> Snapshot:
        ordered = {
            name: sorted(by_dataset[name], key=lambda e: e.path)
            for name in DATASETS
            if by_dataset.get(name)
        }
        generation = self.base.generation + 1
        document: dict[str, Any] = {
            "format": FORMAT,
            "generation": generation,
            "committed_at": now().isoformat(),
            "datasets": {name: [asdict(e) for e in entries] for name, entries in ordered.items()},
        }
        root = self.lake.root
        temporary = root / f".{MANIFEST}{TMP_SUFFIX}"
        with open(temporary, "w", encoding="utf-8") as sink:
            json.dump(document, sink, ensure_ascii=False, indent=1)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, root / MANIFEST)
        _fsync(root)
        return Snapshot(root, generation, {k: tuple(v) for k, v in ordered.items()})

    def _delete(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        # Prune directories the removal emptied, up to the dataset's own directory.
        directory = path.parent
        while directory != self.lake.root and directory.parent != self.lake.root:
            try:
                directory.rmdir()
            except OSError:
                break
            directory = directory.parent


def split_by(table: pa.Table, column: str) -> Iterator[tuple[str, pa.Table]]:
    """The rows of ``table`` grouped by the value of ``column`` (a non-empty string column)."""
    if table.num_rows == 0:
        return
    table = table.sort_by(column)
    values = table.column(column).combine_chunks()
    changed = pc.not_equal(values.slice(1), values.slice(0, len(values) - 1))
    starts = [0, *(np.flatnonzero(changed.to_numpy(zero_copy_only=False)) + 1).tolist()]
    ends = [*starts[1:], table.num_rows]
    for start, end in zip(starts, ends, strict=True):
        yield values[start].as_py(), table.slice(start, end - start)
