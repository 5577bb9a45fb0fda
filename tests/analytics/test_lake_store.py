"""The lake on disk: readers see whole commits only; crashed writers leave nothing behind."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yigongti.analytics.lake import Lake
from yigongti.analytics.lake.schema import FINANCE, INSTITUTIONS
from yigongti.analytics.lake.store import MANIFEST

INSTITUTION = "0194a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b"


def finance(month: str, assets: int = 100) -> pa.Table:
    """One finance report of the institution (the smallest dataset)."""
    return pa.table(
        {
            "institution_id": [INSTITUTION],
            "month": [month],
            "assets_fen": [assets],
            "liabilities_fen": [10],
        }
    )


def write(lake: Lake, month: str, name: str, assets: int = 100) -> str:
    """Commit one finance file; its path."""
    with lake.transaction() as tx:
        return tx.write_table("finance", finance(month, assets), month, INSTITUTION, name).path


def files_on_disk(lake: Lake) -> set[str]:
    """Every file under the lake's dataset directories, hidden ones too."""
    return {
        p.relative_to(lake.root).as_posix()
        for p in lake.root.rglob("*")
        if p.is_file() and p.parts[len(lake.root.parts)] in {"finance", "institutions"}
    }


def test_a_new_lake_has_no_files(lake: Lake) -> None:
    assert lake.files("visits") == []
    assert lake.snapshot().generation == 0


def test_an_unknown_dataset_is_an_error_not_an_empty_list(lake: Lake) -> None:
    with pytest.raises(ValueError, match="unknown lake dataset 'visit'"):
        lake.files("visit")


def test_a_commit_makes_its_files_live_under_the_documented_layout(lake: Lake) -> None:
    path = write(lake, "2025-03", "export-a")
    assert path == f"finance/month=2025-03/institution={INSTITUTION}/export-a.parquet"
    assert lake.files("finance") == [lake.root / path]
    (entry,) = lake.entries("finance")
    assert (entry.rows, entry.month, entry.institution_id) == (1, "2025-03", INSTITUTION)
    table = pq.read_table(lake.root / path)
    assert table.schema.equals(FINANCE.arrow_schema())
    assert pq.ParquetFile(lake.root / path).metadata.row_group(0).column(0).compression == "ZSTD"
    manifest = json.loads((lake.root / MANIFEST).read_text())
    assert manifest["generation"] == 1
    assert [e["path"] for e in manifest["datasets"]["finance"]] == [path]


def test_staged_files_stay_hidden_until_the_commit(lake: Lake) -> None:
    with lake.transaction() as tx:
        tx.write_table("finance", finance("2025-03"), "2025-03", INSTITUTION, "export-a")
        assert Lake(lake.root).files("finance") == []
        (staged,) = files_on_disk(lake)
        assert Path(staged).name.startswith(".") and staged.endswith(".tmp")
    assert len(Lake(lake.root).files("finance")) == 1


def test_a_failed_writer_leaves_the_lake_as_it_was(lake: Lake) -> None:
    write(lake, "2025-02", "export-a")
    before, on_disk = lake.snapshot(), files_on_disk(lake)
    with pytest.raises(RuntimeError), lake.transaction() as tx:
        tx.write_table("finance", finance("2025-03"), "2025-03", INSTITUTION, "export-b")
        tx.remove(lake.entries("finance")[0])
        raise RuntimeError("the disk is full")
    assert lake.snapshot() == before
    assert files_on_disk(lake) == on_disk


def test_what_a_crashed_writer_left_is_ignored_then_swept_by_the_next_writer(lake: Lake) -> None:
    live = write(lake, "2025-02", "export-a")
    directory = lake.root / f"finance/month=2025-03/institution={INSTITUTION}"
    directory.mkdir(parents=True)
    staged = directory / ".export-b.parquet.1a2b3c4d.tmp"  # died while writing
    renamed = directory / "export-b.parquet"  # died after the rename, before the manifest
    for path in (staged, renamed):
        pq.write_table(finance("2025-03"), path)
    assert lake.files("finance") == [lake.root / live]
    write(lake, "2025-04", "export-c")
    assert not staged.exists() and not renamed.exists()
    assert {p.name for p in lake.files("finance")} == {"export-a.parquet", "export-c.parquet"}


def test_replacing_a_file_deletes_the_old_one_and_its_empty_directories(lake: Lake) -> None:
    old = write(lake, "2025-03", "export-a")
    with lake.transaction() as tx:
        tx.remove(tx.entries("finance")[0])
        tx.write_table("finance", finance("2025-04"), "2025-04", INSTITUTION, "export-b")
    assert not (lake.root / old).exists()
    assert not (lake.root / "finance/month=2025-03").exists()
    assert [e.month for e in lake.entries("finance")] == ["2025-04"]


def test_the_institutions_dimension_is_replaced_in_place(lake: Lake) -> None:
    rows = {c.name: ["x"] for c in INSTITUTIONS.columns}
    rows |= {"tier": ["county"], "ownership": ["public"]}
    for name in ("甲", "乙"):
        with lake.transaction() as tx:
            for entry in tx.entries("institutions"):
                tx.remove(entry)
            table = pa.table(rows | {"name": [name]})
            tx.write_table("institutions", table, None, None, "institutions")
    (path,) = lake.files("institutions")
    assert path == lake.root / "institutions/institutions.parquet"
    assert pq.read_table(path).column("name").to_pylist() == ["乙"]


def test_files_keep_the_datasets_contract(lake: Lake) -> None:
    with pytest.raises(ValueError, match="liabilities_fen"), lake.transaction() as tx:
        tx.write_table(
            "finance",
            finance("2025-03").drop_columns(["liabilities_fen"]),
            "2025-03",
            INSTITUTION,
            "export-a",
        )
    empty = finance("2025-03").set_column(2, "assets_fen", pa.array([None], pa.int64()))
    with pytest.raises(ValueError, match="assets_fen is required"), lake.transaction() as tx:
        tx.write_table("finance", empty, "2025-03", INSTITUTION, "export-a")
    with pytest.raises(ValueError, match="belong to an institution"), lake.transaction() as tx:
        tx.write_table("finance", finance("2025-03"), "2025-03", None, "export-a")
    assert lake.files("finance") == []


def test_writers_take_turns(lake: Lake) -> None:
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    threads = [threading.Thread(target=write, args=(lake, m, f"export-{m}")) for m in months]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.month for e in lake.entries("finance")) == months
    assert lake.snapshot().generation == len(months)


def test_a_reader_sees_each_month_whole_while_a_writer_replaces_it(lake: Lake) -> None:
    write(lake, "2025-03", "export-0")
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(len(lake.files("finance")))

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(1, 30):
        with lake.transaction() as tx:
            tx.remove(tx.entries("finance")[0])
            tx.write_table("finance", finance("2025-03", n), "2025-03", INSTITUTION, f"export-{n}")
    done.set()
    reader.join()
    assert seen and set(seen) == {1}
    assert pq.read_table(lake.files("finance")[0]).column("assets_fen").to_pylist() == [29]
