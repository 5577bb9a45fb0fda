"""Files institutions push into the lake: all rows or none, each problem named by line and column.

The tests share one copy of the test county per backend (pushes only add records of their
own files, whose rows carry keys unique to the test) and each has a lake of its own.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from tests.support import actor, places
from yigongti import analytics
from yigongti.analytics.lake import Lake
from yigongti.analytics.models import LakeFile
from yigongti.db import session_factory, unit_of_work
from yigongti.kernel import Forbidden, Invalid, NotFound, local, now
from yigongti.security import Actor, roles

MONTH = "2025-03"


def next_month() -> str:
    """The month after this one on the county's clocks."""
    today = local(now())
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


def visit(institution: uuid.UUID, key: str, **changes: str) -> dict[str, str]:
    """A good row of visits (an outpatient visit in MONTH); ``changes`` spoil it."""
    row = {
        "visit_id": key,
        "institution_id": str(institution),
        "month": MONTH,
        "resident_key": f"P-{key}",
        "kind": "outpatient",
        "started_at": "2025-03-05T09:12:00+08:00",
        "ended_at": "2025-03-05T09:30:00+08:00",
        "department": "03",
        "diagnosis_code": "J06.900",
        "total_fen": "4500",
        "referral": "",
        "referred_from_id": "",
    }
    return row | changes


def fee(institution: uuid.UUID, key: str, **changes: str) -> dict[str, str]:
    """A good row of fee lines (a drug line of an outpatient visit in MONTH)."""
    row = {
        "line_id": key,
        "visit_id": f"V-{key}",
        "institution_id": str(institution),
        "month": MONTH,
        "kind": "outpatient",
        "category": "drug",
        "amount_fen": "2600",
    }
    return row | changes


def csv_of(rows: list[dict[str, str]]) -> bytes:
    """The rows as a CSV file with a header line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def parquet_of(table: pa.Table) -> bytes:
    """The table as a Parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


@dataclass(frozen=True)
class County:
    """The shared database, the institutions tests push for, and a key prefix of the test."""

    engine: Engine
    lead: uuid.UUID
    center: uuid.UUID
    token: str

    def key(self, n: int) -> str:
        """A row key no other test uses."""
        return f"{self.token}-{n}"


@pytest.fixture
def county(module_engine: Engine) -> County:
    """The test county's lead hospital and township center, and a fresh key prefix."""
    with unit_of_work(module_engine) as session:
        at = places(session)
        return County(module_engine, at.lead.id, at.center.id, uuid.uuid4().hex[:10])


def push(
    county: County,
    lake: Lake,
    dataset: str,
    data: bytes,
    *,
    institution_id: uuid.UUID | Literal["lead"] | None = "lead",
    role: str = "system_admin",
    as_actor: Callable[[Actor], Actor] | None = None,
    filename: str = "push.csv",
) -> analytics.LoadResult:
    """Push a file as a demo account (system administrator unless told), in one unit of work."""
    with unit_of_work(county.engine) as session:
        who = actor(session, role)
        return analytics.load_lake_file(
            session,
            as_actor(who) if as_actor else who,
            lake,
            dataset=dataset,
            filename=filename,
            data=data,
            institution_id=county.lead if institution_id == "lead" else institution_id,
        )


def rows_in(lake: Lake, dataset: str) -> list[dict[str, object]]:
    """Every live row of a dataset."""
    return [r for path in lake.files(dataset) for r in pq.ParquetFile(path).read().to_pylist()]


def with_lake_load(who: Actor) -> Actor:
    """The actor, granted lake:load (no institution-bound role holds it by default)."""
    return dataclasses.replace(who, extra_permissions=frozenset({roles.LAKE_LOAD}))


# --- loading ------------------------------------------------------------------------------


def test_a_csv_loads_one_file_per_month_and_institution(county: County, lake: Lake) -> None:
    rows = [
        visit(county.lead, county.key(1)),
        visit(
            county.lead,
            county.key(2),
            kind="emergency",
            referral="up",
            referred_from_id=str(county.center).upper(),
        ),
        # 00:30 on 1 March in Beijing is 16:30 on 28 February in UTC: a March visit.
        visit(county.lead, county.key(4), started_at="2025-02-28T16:30:00Z", ended_at=""),
        visit(
            county.lead,
            county.key(3),
            month="2025-02",
            kind="inpatient",
            started_at="2025-01-30T10:00:00+08:00",
            ended_at="2025-02-02T01:00:00Z",
        ),
    ]
    result = push(county, lake, "visits", csv_of(rows))
    assert result.loaded and not result.duplicate
    file = result.file
    assert (file.rows, file.months, file.rejected_rows, file.report) == (
        4,
        ["2025-02", "2025-03"],
        0,
        [],
    )
    assert file.paths == [
        f"visits/month={m}/institution={county.lead}/upload-{file.sha256}.parquet"
        for m in ("2025-02", "2025-03")
    ]
    assert [e.path for e in lake.entries("visits")] == file.paths
    loaded = {r["visit_id"]: r for r in rows_in(lake, "visits")}
    first = loaded[county.key(1)]
    assert first["started_at"] == datetime(2025, 3, 5, 1, 12, tzinfo=UTC)
    assert (first["total_fen"], first["referral"], first["department"]) == (4500, None, "03")
    assert loaded[county.key(2)]["referred_from_id"] == str(county.center)
    assert loaded[county.key(3)]["ended_at"] == datetime(2025, 2, 2, 1, 0, tzinfo=UTC)


def test_a_parquet_file_loads_like_a_csv(county: County, lake: Lake) -> None:
    shanghai = pa.timestamp("ms", tz="Asia/Shanghai")
    started = datetime(2025, 3, 5, 1, 12, tzinfo=UTC)
    table = pa.table(
        {
            "visit_id": [county.key(1), county.key(2)],
            "institution_id": [str(county.lead)] * 2,
            "month": [MONTH] * 2,
            "resident_key": ["P1", "P2"],
            "kind": ["outpatient", "outpatient"],
            "started_at": pa.array([started, started], shanghai),
            "diagnosis_code": ["I10", "E11.900"],
            "total_fen": pa.array([3000, 5000], pa.int32()),
            "department": pa.array(["03", None]).dictionary_encode(),
        }
    )
    result = push(county, lake, "visits", parquet_of(table), filename="visits.parquet")
    assert result.loaded and result.file.rows == 2
    loaded = sorted(rows_in(lake, "visits"), key=lambda r: str(r["visit_id"]))
    assert [r["started_at"] for r in loaded] == [started, started]
    assert [r["total_fen"] for r in loaded] == [3000, 5000]
    assert [r["ended_at"] for r in loaded] == [None, None]


def test_a_csv_with_a_byte_order_mark_and_crlf_lines_loads(county: County, lake: Lake) -> None:
    data = csv_of([fee(county.lead, county.key(1))]).replace(b"\n", b"\r\n")
    result = push(county, lake, "fees", b"\xef\xbb\xbf" + data)
    assert result.loaded and result.file.rows == 1


def test_the_same_bytes_pushed_again_are_a_duplicate_not_counted_twice(
    county: County, lake: Lake
) -> None:
    data = csv_of([fee(county.lead, county.key(1)), fee(county.lead, county.key(2))])
    first = push(county, lake, "fees", data)
    before = lake.snapshot()
    again = push(county, lake, "fees", data, filename="resent.csv")
    assert again.duplicate and again.loaded
    assert again.file.id == first.file.id
    assert lake.snapshot() == before
    assert len(rows_in(lake, "fees")) == 2
    with unit_of_work(county.engine) as session:
        records = select(func.count()).where(LakeFile.sha256 == first.file.sha256)
        assert session.scalar(records) == 1


def test_finance_reports_and_out_of_county_stays_load_into_their_partitions(
    county: County, lake: Lake
) -> None:
    finance = f"institution_id,month,assets_fen,liabilities_fen\n{county.lead},{MONTH},900,100\n"
    assert push(county, lake, "finance", finance.encode()).loaded
    stay = (
        "settlement_id,month,resident_key,hospital_name,hospital_region,admitted_on,"
        f"discharged_on,amount_fen\n{county.key(1)},{MONTH},P9,某省医院,杭州市,2025-03-01,"
        "2025-03-09,150000\n"
    )
    result = push(
        county, lake, "outside_stays", stay.encode(), role="bureau_admin", institution_id=None
    )
    assert result.loaded
    assert result.file.paths == [f"outside_stays/month={MONTH}/upload-{result.file.sha256}.parquet"]
    with unit_of_work(county.engine) as session:
        assert result.file.institution_id == places(session).bureau.id


# --- rejecting ----------------------------------------------------------------------------

Case = Callable[[County], tuple[str, bytes, list[tuple[int | None, str, str]]]]


def _rows(dataset: str, *rows: dict[str, str]) -> tuple[str, bytes]:
    return dataset, csv_of(list(rows))


def _bad_header(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    row = visit(c.lead, c.key(1))
    row["visit_no"] = row.pop("visit_id")
    return (
        "visits",
        csv_of([row]),
        [(1, "visit_no", "未知列"), (1, "visit_id", "缺少必填列")],
    )


def _truncated_csv(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    data = csv_of([fee(c.lead, c.key(1)), fee(c.lead, c.key(2))])
    return "fees", data[:-7], [(3, "", "可能被截断")]


def _truncated_parquet(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    table = pa.table({"line_id": [c.key(1)], "amount_fen": [1]})
    return "fees", parquet_of(table)[:-20], [(None, "", "不是可读的 Parquet 文件")]


def _negative_amount(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    dataset, data = _rows("fees", fee(c.lead, c.key(1)), fee(c.lead, c.key(2), amount_fen="-300"))
    return dataset, data, [(3, "amount_fen", "金额不能为负数")]


def _non_numeric_amount(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    dataset, data = _rows("fees", fee(c.lead, c.key(1), amount_fen="12.50"))
    return dataset, data, [(2, "amount_fen", "不是整数")]


def _started_outside_month(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    early = visit(c.lead, c.key(1), started_at="2025-02-28T23:30:00+08:00", ended_at="")
    return *_rows("visits", early), [(2, "started_at", "就诊开始于 2025-02")]


def _discharged_outside_month(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    stay = visit(
        c.lead,
        c.key(1),
        kind="inpatient",
        started_at="2025-03-02T10:00:00+08:00",
        ended_at="2025-04-02T10:00:00+08:00",
    )
    return *_rows("visits", stay), [(2, "ended_at", "就诊出院于 2025-04")]


def _open_stay(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    stay = visit(c.lead, c.key(1), kind="inpatient", ended_at="")
    return *_rows("visits", stay), [(2, "ended_at", "住院就诊须填写出院时间")]


def _future_month(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    return *_rows("fees", fee(c.lead, c.key(1), month=next_month())), [
        (2, "month", "月份不能晚于本月")
    ]


def _ancient_month(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    return *_rows("fees", fee(c.lead, c.key(1), month="1999-12")), [
        (2, "month", "不能早于 2000-01")
    ]


def _malformed_month(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    return *_rows("fees", fee(c.lead, c.key(1), month="2025-3")), [(2, "month", "YYYY-MM")]


def _unknown_choice(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    return *_rows("fees", fee(c.lead, c.key(1), category="herbs")), [
        (2, "category", "取值须为 drug、exam")
    ]


def _missing_value(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    return *_rows("fees", fee(c.lead, c.key(1), kind=" ")), [(2, "kind", "必填项为空")]


def _other_institutions_rows(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    rows = (fee(c.lead, c.key(1)), fee(c.center, c.key(2)))
    return *_rows("fees", *rows), [(3, "institution_id", "本文件所属机构")]


def _key_twice(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    rows = (fee(c.lead, c.key(1)), fee(c.lead, c.key(2)), fee(c.lead, c.key(1)))
    return *_rows("fees", *rows), [(4, "line_id", "与第 2 行重复")]


def _time_without_offset(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    row = visit(c.lead, c.key(1), started_at="2025-03-05 09:12:00")
    return *_rows("visits", row), [(2, "started_at", "ISO 8601 并带时区")]


def _impossible_date(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    row = visit(c.lead, c.key(1), started_at="2025-02-30T09:12:00+08:00", ended_at="")
    return *_rows("visits", row), [(2, "started_at", "不是有效的时间")]


def _wrong_field_count(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    data = csv_of([fee(c.lead, c.key(1)), fee(c.lead, c.key(2))])
    lines = data.decode().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    return "fees", ("\n".join(lines) + "\n").encode(), [(3, "", "应有 7 个字段，实有 6 个")]


def _gbk(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    stay = (
        "settlement_id,month,resident_key,hospital_name,hospital_region,admitted_on,"
        f"discharged_on,amount_fen\n{c.key(1)},{MONTH},P1,浙江省人民医院,杭州市,2025-03-01,"
        "2025-03-05,1000\n"
    )
    return "outside_stays", stay.encode("gbk"), [(2, "", "不是 UTF-8 编码")]


def _parquet_of_wrong_type(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    table = pa.Table.from_pylist([fee(c.lead, c.key(1))]).set_column(
        6, "amount_fen", pa.array([26.0])
    )
    return "fees", parquet_of(table), [(None, "amount_fen", "列类型为 double")]


def _empty(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    return "fees", b"", [(None, "", "文件为空")]


def _header_only(c: County) -> tuple[str, bytes, list[tuple[int | None, str, str]]]:
    return (
        "fees",
        csv_of([fee(c.lead, c.key(1))]).splitlines(keepends=True)[0],
        [(None, "", "没有数据行")],
    )


BAD: dict[str, Case] = {
    "bad header": _bad_header,
    "truncated csv": _truncated_csv,
    "truncated parquet": _truncated_parquet,
    "negative amount": _negative_amount,
    "non-numeric amount": _non_numeric_amount,
    "visit started outside its month": _started_outside_month,
    "stay discharged outside its month": _discharged_outside_month,
    "stay not yet discharged": _open_stay,
    "future month": _future_month,
    "month before 2000": _ancient_month,
    "malformed month": _malformed_month,
    "value not among the choices": _unknown_choice,
    "required value blank": _missing_value,
    "another institution's rows": _other_institutions_rows,
    "key twice in the file": _key_twice,
    "time without offset": _time_without_offset,
    "impossible date": _impossible_date,
    "wrong number of fields": _wrong_field_count,
    "not utf-8": _gbk,
    "parquet column of the wrong type": _parquet_of_wrong_type,
    "empty file": _empty,
    "header only": _header_only,
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_file_is_rejected_whole_naming_line_column_and_reason(
    case: str, county: County, lake: Lake
) -> None:
    good = push(county, lake, "fees", csv_of([fee(county.lead, county.key(99))]))
    assert good.loaded
    before = {name: lake.files(name) for name in ("visits", "fees", "outside_stays")}
    dataset, data, expected = BAD[case](county)
    name = "push.parquet" if data[:4] == b"PAR1" else "push.csv"
    institution = None if dataset == "outside_stays" else county.lead
    result = push(county, lake, dataset, data, filename=name, institution_id=institution)
    file = result.file
    assert (file.status, file.rows, file.paths, file.months) == ("rejected", 0, [], [])
    found = [(e["line"], e["column"], e["reason_zh"]) for e in file.report]
    for line, column, reason in expected:
        assert any(
            (f_line, f_column) == (line, column) and reason in f_reason
            for f_line, f_column, f_reason in found
        ), f"expected ({line}, {column}, …{reason}…) in {found}"
    assert {name: lake.files(name) for name in before} == before
    with unit_of_work(county.engine) as session:
        assert session.get(LakeFile, file.id) is not None  # the rejection is on record


def test_a_negative_amount_reads_as_the_sender_needs_it(county: County, lake: Lake) -> None:
    _, data, _ = _negative_amount(county)
    (problem,) = push(county, lake, "fees", data).file.report
    error = analytics.RowError(**problem)
    assert error.message("zh") == "第 3 行 amount_fen：金额不能为负数"
    assert error.message("en") == "line 3, amount_fen: amount must not be negative"


def test_one_bad_row_among_good_ones_loads_nothing(county: County, lake: Lake) -> None:
    rows = [fee(county.lead, county.key(n)) for n in range(50)]
    rows[31]["amount_fen"] = "abc"
    result = push(county, lake, "fees", csv_of(rows))
    assert (result.file.status, result.file.rejected_rows) == ("rejected", 1)
    assert [e["line"] for e in result.file.report] == [33]
    assert lake.files("fees") == []


def test_the_report_keeps_a_thousand_problems_and_counts_every_bad_row(
    county: County, lake: Lake
) -> None:
    rows = [fee(county.lead, county.key(n), amount_fen="-1") for n in range(1_500)]
    result = push(county, lake, "fees", csv_of(rows))
    assert len(result.file.report) == 1_000
    assert result.file.rejected_rows == 1_500
    assert result.file.report[-1]["line"] == 1_001


def test_a_row_already_in_the_lake_rejects_the_file(county: County, lake: Lake) -> None:
    assert push(county, lake, "fees", csv_of([fee(county.lead, county.key(1))])).loaded
    before = lake.snapshot()
    again = [fee(county.lead, county.key(2)), fee(county.lead, county.key(1), amount_fen="99")]
    result = push(county, lake, "fees", csv_of(again))
    assert result.file.status == "rejected"
    assert [(e["line"], e["column"]) for e in result.file.report] == [(3, "line_id")]
    assert "已由先前的文件载入" in result.file.report[0]["reason_zh"]
    assert lake.snapshot() == before


def test_keys_are_per_institution(county: County, lake: Lake) -> None:
    assert push(county, lake, "fees", csv_of([fee(county.lead, county.key(1))])).loaded
    same_key = csv_of([fee(county.center, county.key(1))])
    assert push(county, lake, "fees", same_key, institution_id=county.center).loaded


def test_a_rejected_file_pushed_again_answers_its_report(county: County, lake: Lake) -> None:
    _, data, _ = _negative_amount(county)
    first = push(county, lake, "fees", data)
    again = push(county, lake, "fees", data)
    assert again.duplicate and again.file.id == first.file.id
    assert again.file.status == "rejected" and again.file.report == first.file.report


def test_two_pushes_of_the_same_rows_at_once_load_them_once(county: County, lake: Lake) -> None:
    files = [
        csv_of([fee(county.lead, county.key(1)), fee(county.lead, county.key(n))]) for n in (2, 3)
    ]
    results: list[analytics.LoadResult] = []
    threads = [
        threading.Thread(target=lambda d=data: results.append(push(county, lake, "fees", d)))
        for data in files
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.file.status for r in results) == ["loaded", "rejected"]
    assert len(rows_in(lake, "fees")) == 2


def test_a_push_whose_record_was_lost_after_the_lake_commit_is_recorded_when_sent_again(
    county: County, lake: Lake
) -> None:
    data = csv_of([fee(county.lead, county.key(1)), fee(county.lead, county.key(2))])
    session = session_factory(county.engine)()
    try:
        analytics.load_lake_file(
            session,
            actor(session, "system_admin"),
            lake,
            dataset="fees",
            filename="push.csv",
            data=data,
            institution_id=county.lead,
        )
        session.rollback()  # the process died after the lake's commit, before the database's
    finally:
        session.close()
    landed = lake.entries("fees")
    assert len(landed) == 1
    again = push(county, lake, "fees", data)
    assert again.loaded and again.duplicate
    assert (again.file.rows, again.file.paths, again.file.months) == (2, [landed[0].path], [MONTH])
    assert lake.entries("fees") == landed


# --- who may push -------------------------------------------------------------------------


def test_an_institutions_account_pushes_for_its_own_institution_only(
    county: County, lake: Lake
) -> None:
    doctor = with_lake_load
    own = csv_of([fee(county.center, county.key(1))])
    result = push(
        county,
        lake,
        "fees",
        own,
        role="township_doctor",
        as_actor=doctor,
        institution_id=county.center,
    )
    assert result.loaded
    other = csv_of([fee(county.lead, county.key(2))])
    with pytest.raises(Forbidden) as refused:
        push(county, lake, "fees", other, role="township_doctor", as_actor=doctor)
    assert refused.value.zh == "只能为本机构上传文件"
    assert len(lake.entries("fees")) == 1


def test_an_institutions_account_pushes_for_its_institution_by_default(
    county: County, lake: Lake
) -> None:
    with unit_of_work(county.engine) as session:
        result = analytics.load_lake_file(
            session,
            with_lake_load(actor(session, "township_doctor")),
            lake,
            dataset="fees",
            filename="push.csv",
            data=csv_of([fee(county.center, county.key(1))]),
        )
    assert result.loaded and result.file.institution_id == county.center


def test_an_unknown_institution_is_not_found(county: County, lake: Lake) -> None:
    stranger = uuid.uuid4()
    with pytest.raises(NotFound):
        push(county, lake, "fees", csv_of([fee(stranger, county.key(1))]), institution_id=stranger)


def test_only_pushable_datasets_are_accepted(county: County, lake: Lake) -> None:
    for dataset in ("bookings", "institutions", "nonsense"):
        with pytest.raises(Invalid) as refused:
            push(county, lake, dataset, b"x\n")
        assert "visits、fees、finance、outside_stays" in refused.value.zh


def test_pushing_needs_the_lake_load_permission(county: County, lake: Lake) -> None:
    with pytest.raises(Forbidden):
        push(county, lake, "fees", csv_of([fee(county.lead, county.key(1))]), role="county_doctor")
    assert lake.files("fees") == []


def test_the_files_list_shows_an_institution_its_own_files_newest_first(
    county: County, lake: Lake
) -> None:
    first = push(
        county,
        lake,
        "fees",
        csv_of([fee(county.center, county.key(1))]),
        institution_id=county.center,
    )
    second = push(
        county,
        lake,
        "fees",
        csv_of([fee(county.center, county.key(2))]),
        institution_id=county.center,
    )
    push(county, lake, "fees", csv_of([fee(county.lead, county.key(3))]))
    with unit_of_work(county.engine) as session:
        doctor = with_lake_load(actor(session, "township_doctor"))
        total, files = analytics.lake_files(
            session, doctor, analytics.LakeFileQuery(dataset="fees", limit=100)
        )
        assert {f.institution_id for f in files} == {county.center}
        ids = [f.id for f in files]
        assert ids.index(second.file.id) < ids.index(first.file.id)
        assert total == len(files)
        everyone = analytics.lake_files(
            session, actor(session, "system_admin"), analytics.LakeFileQuery(limit=1)
        )
        assert everyone[0] > total
        lead_file = session.scalar(
            select(LakeFile.id).where(LakeFile.institution_id == county.lead).limit(1)
        )
        assert lead_file is not None
        with pytest.raises(NotFound):
            analytics.lake_file(session, doctor, lead_file)
