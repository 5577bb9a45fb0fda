"""Files institutions push into the lake (CSV or Parquet): read, check every row, load or reject.

A pushed file is all or nothing. Every row is checked against the dataset's documented schema
(schema.py) and the rules below; if any row is bad, the file is rejected with a report of
every problem (line, column, reason in Chinese and English) and nothing enters the lake.
Otherwise its rows are written, one file per month and institution, in one manifest commit.

A file is identified by the SHA-256 of its bytes: the same bytes pushed again find the first
push's record and add nothing. A row whose key is already in the lake (from an earlier file,
or exported) makes the file a duplicate push and it is rejected, so no row is counted twice.

Order of commits (lake, then database). The manifest commit comes first and the ``LakeFile``
row is written after it, in the caller's unit of work. If the process dies between the two,
the lake holds the file's rows with no database record of them; the sender sees an error and
pushes the same bytes again, and that push finds the files of this SHA-256 in the manifest and
records them instead of loading them twice. The opposite order would be worse: a database
record of rows the lake does not hold would answer every later push of the file "duplicate",
and the rows would never arrive.

Rules: see ``render_docs`` (docs/lake.md is its output).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yigongti.analytics.lake.schema import DATASETS, TS, Column, Dataset
from yigongti.analytics.lake.store import Lake, LakeEntry, LakeTransaction, split_by
from yigongti.analytics.models import LakeFile
from yigongti.kernel import invalid_field, local, now

MAX_REPORT = 1000  # report entries kept; every bad row is still counted
EARLIEST_MONTH = "2000-01"
UPLOADABLE = tuple(name for name, d in DATASETS.items() if d.uploadable)
PARQUET_MAGIC = b"PAR1"
_UUID_COLUMNS = frozenset({"institution_id", "referred_from_id"})
_WHOLE = re.compile(r"^[+-]?[0-9]{1,19}$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MOMENT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_INT64 = 2**63 - 1


@dataclass(frozen=True)
class RowError:
    """One problem of a pushed file: where (line and column) and why, in both languages.

    CSV lines count the header as line 1; Parquet rows count from 1. ``line`` is ``None``
    for a problem of the file as a whole (unreadable, truncated, wrong columns).
    """

    line: int | None
    column: str
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, object]:
        """The entry as stored in ``LakeFile.report`` and shown by the API."""
        return asdict(self)

    def message(self, lang: str = "zh") -> str:
        """``第 7 行 amount_fen：金额不能为负数`` / ``line 7, amount_fen: ...``."""
        if lang.startswith("zh"):
            where = "文件" if self.line is None else f"第 {self.line} 行"
            return f"{where} {self.column}：{self.reason_zh}".replace(" ：", "：")
        where = "file" if self.line is None else f"line {self.line}"
        return f"{where}, {self.column}: {self.reason_en}".replace(", :", ":")


@dataclass(frozen=True)
class LoadResult:
    """What a push did: the file's record, and whether the same bytes had been pushed before."""

    file: LakeFile
    duplicate: bool

    @property
    def loaded(self) -> bool:
        """Whether the file's rows are in the lake."""
        return self.file.status == "loaded"


class _Bad(Exception):
    """A value breaks a rule: the reason in both languages."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


class _FileRejected(Exception):
    """The file as a whole cannot be read (encoding, truncation, columns)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors[0].reason_en)
        self.errors = errors


def _file_error(zh: str, en: str, column: str = "", line: int | None = None) -> _FileRejected:
    return _FileRejected([RowError(line, column, zh, en)])


def uploadable_dataset(name: str) -> Dataset:
    """The dataset called ``name`` if institutions may push it; ``Invalid`` otherwise."""
    found = DATASETS.get(name)
    if found is None or not found.uploadable:
        allowed = ", ".join(UPLOADABLE)
        raise invalid_field(
            "dataset",
            f"Dataset {name!r} cannot be pushed; pushable datasets: {allowed}",
            f"数据集 {name} 不接受上传（可上传：{'、'.join(UPLOADABLE)}）",
        )
    return found


def _short(label: str) -> str:
    """A column's name without its parenthesised unit: ``金额（分）`` -> ``金额``."""
    return re.split(r"[（(]", label, maxsplit=1)[0].strip()


# --- values -------------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _Bad("应为文本", "must be text")


def _whole(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.match(value):
        number = int(value)
    else:
        raise _Bad("不是整数", "is not a whole number")
    if abs(number) > _INT64:
        raise _Bad("数值超出范围", "is out of range")
    return number


def _moment(value: object) -> datetime:
    if isinstance(value, str):
        if not _MOMENT.match(value):
            raise _Bad(
                "时间格式应为 ISO 8601 并带时区，如 2025-03-05T09:12:00+08:00 或 …Z",
                "time must be ISO 8601 with an offset, e.g. 2025-03-05T09:12:00+08:00 or ...Z",
            )
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Bad("不是有效的时间", "is not a valid time") from None
    if not isinstance(value, datetime):
        raise _Bad("应为时间", "must be a time")
    if value.tzinfo is None:
        raise _Bad("时间缺少时区", "time has no time zone")
    return value.astimezone(UTC)


def _day(value: object) -> date:
    if isinstance(value, str):
        if not _DAY.match(value):
            raise _Bad("日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _Bad("不是有效的日期", "is not a valid date") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise _Bad("应为日期", "must be a date")


_PARSERS: dict[pa.DataType, Callable[[object], object]] = {
    pa.string(): _text,
    pa.int64(): _whole,
    TS: _moment,
    pa.date32(): _day,
}


def _month_value(value: str, this_month: str) -> str:
    if not _MONTH.match(value):
        raise _Bad("月份格式应为 YYYY-MM", "month must be YYYY-MM")
    if value < EARLIEST_MONTH:
        raise _Bad("月份不能早于 2000-01", "month must not be before 2000-01")
    if value > this_month:
        raise _Bad(f"月份不能晚于本月（{this_month}）", f"month must not be after {this_month}")
    return value


def _uuid_value(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _Bad("不是有效的标识（UUID）", "is not a valid id (UUID)") from None


@dataclass
class _Checker:
    """Checks the values of one file against a dataset; collects every problem."""

    dataset: Dataset
    institution_id: str | None
    this_month: str = field(default_factory=lambda: local(now()).strftime("%Y-%m"))
    errors: list[RowError] = field(default_factory=list)
    bad_lines: set[int] = field(default_factory=set)

    def fail(self, line: int, column: str, zh: str, en: str) -> None:
        self.bad_lines.add(line)
        self.errors.append(RowError(line, column, zh, en))

    def value(self, line: int, column: Column, raw: object) -> object:
        """The parsed value of one cell, or ``None`` after recording why it is bad or empty."""
        if isinstance(raw, str):
            raw = raw.strip()
        if raw is None or raw == "":
            if column.required:
                self.fail(line, column.name, "必填项为空", "required value is missing")
            return None
        try:
            value = _PARSERS[column.type](raw)
            return self._rules(column, value)
        except _Bad as bad:
            self.fail(line, column.name, bad.zh, bad.en)
            return None

    def _rules(self, column: Column, value: object) -> object:
        if column.choices and value not in column.choices:
            raise _Bad(
                f"取值须为 {'、'.join(column.choices)} 之一",
                f"must be one of {', '.join(column.choices)}",
            )
        if column.non_negative and isinstance(value, int) and value < 0:
            zh, en = _short(column.zh), _short(column.en).lower()
            raise _Bad(f"{zh}不能为负数", f"{en} must not be negative")
        if column.name == "month":
            return _month_value(str(value), self.this_month)
        if column.name in _UUID_COLUMNS:
            value = _uuid_value(str(value))
        if column.name == "institution_id" and value != self.institution_id:
            raise _Bad(
                f"机构标识须为本文件所属机构（{self.institution_id}）",
                f"must be the file's institution ({self.institution_id})",
            )
        return value


def _visit_rules(check: _Checker, line: int, row: dict[str, object]) -> None:
    started, ended, kind, month = row["started_at"], row["ended_at"], row["kind"], row["month"]
    if not isinstance(started, datetime) or kind is None or month is None:
        return
    if isinstance(ended, datetime) and ended < started:
        check.fail(line, "ended_at", "结束时间早于开始时间", "ends before it started")
        return
    if kind == "inpatient" and ended is None:
        check.fail(
            line,
            "ended_at",
            "住院就诊须填写出院时间（未出院的住院不上传）",
            "an inpatient stay needs its discharge time (stays not yet ended are not pushed)",
        )
        return
    counted, column = (ended, "ended_at") if kind == "inpatient" else (started, "started_at")
    assert isinstance(counted, datetime)
    in_month = local(counted).strftime("%Y-%m")
    if in_month != month:
        what_zh = "出院" if kind == "inpatient" else "开始"
        what_en = "was discharged" if kind == "inpatient" else "started"
        check.fail(
            line,
            column,
            f"就诊{what_zh}于 {in_month}（北京时间），与 month {month} 不符",
            f"the visit {what_en} in {in_month} (Asia/Shanghai), not in month {month}",
        )


def _stay_rules(check: _Checker, line: int, row: dict[str, object]) -> None:
    admitted, discharged, month = row["admitted_on"], row["discharged_on"], row["month"]
    if not isinstance(admitted, date) or not isinstance(discharged, date) or month is None:
        return
    if discharged < admitted:
        check.fail(line, "discharged_on", "出院日期早于入院日期", "discharged before admitted")
    elif discharged.strftime("%Y-%m") != month:
        check.fail(
            line,
            "discharged_on",
            f"出院于 {discharged:%Y-%m}，与 month {month} 不符（住院计入出院月份）",
            f"discharged in {discharged:%Y-%m}, not in month {month} (stays count when they end)",
        )


_ROW_RULES: dict[str, Callable[[_Checker, int, dict[str, object]], None]] = {
    "visits": _visit_rules,
    "outside_stays": _stay_rules,
}


# --- reading the file ---------------------------------------------------------------------


@dataclass
class _Cells:
    """The rows of a file as raw cells by column, with the line of each row."""

    lines: list[int]
    columns: dict[str, list[object]]


def _check_header(dataset: Dataset, names: list[str], line: int | None) -> None:
    errors = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            errors.append(RowError(line, name, "列名重复", "column appears twice"))
        seen.add(name)
    unknown = [n for n in names if n not in dataset.names]
    missing = [c.name for c in dataset.columns if c.required and c.name not in seen]
    allowed = ", ".join(dataset.names)
    for name in unknown:
        zh, en = f"未知列（本数据集的列：{allowed}）", f"unknown column (the columns: {allowed})"
        errors.append(RowError(line, name, zh, en))
    for name in missing:
        errors.append(RowError(line, name, "缺少必填列", "required column is missing"))
    if errors:
        raise _FileRejected(errors)


def _read_csv(dataset: Dataset, data: bytes, errors: list[RowError]) -> _Cells:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            "文件不是 UTF-8 编码（如为 GBK，请另存为 UTF-8）",
            "the file is not UTF-8 (if it is GBK, save it as UTF-8)",
            line=line,
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _file_error("文件为空", "the file is empty")
    if not text.endswith("\n"):
        raise _file_error(
            "文件未以换行结束，可能被截断，请重新导出上传",
            "the file does not end with a newline: it may be truncated; export and push again",
            line=text.count("\n") + 1,
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
        _check_header(dataset, header, 1)
        cells = _Cells([], {name: [] for name in header})
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                errors.append(
                    RowError(
                        reader.line_num,
                        "",
                        f"应有 {len(header)} 个字段，实有 {len(row)} 个",
                        f"expected {len(header)} fields, found {len(row)}",
                    )
                )
                continue
            cells.lines.append(reader.line_num)
            for name, value in zip(header, row, strict=True):
                cells.columns[name].append(value)
    except csv.Error as exc:
        raise _file_error(
            f"CSV 格式错误：{exc}", f"malformed CSV: {exc}", line=reader.line_num
        ) from None
    return cells


def _parquet_compatible(given: pa.DataType, wanted: pa.DataType) -> bool:
    if pa.types.is_dictionary(given):
        given = given.value_type
    if pa.types.is_null(given) or pa.types.is_string(given) or pa.types.is_large_string(given):
        return True  # text is parsed as in a CSV
    if pa.types.is_integer(wanted):
        return pa.types.is_integer(given)
    if pa.types.is_timestamp(wanted):
        return pa.types.is_timestamp(given) and given.tz is not None
    if pa.types.is_date(wanted):
        return pa.types.is_date(given)
    return False


def _read_parquet(dataset: Dataset, data: bytes) -> _Cells:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise _file_error(
            f"不是可读的 Parquet 文件（可能被截断或损坏）：{exc}",
            f"not a readable Parquet file (truncated or damaged): {exc}",
        ) from None
    _check_header(dataset, table.column_names, None)
    errors = []
    for name in table.column_names:
        wanted = dataset.column(name).type
        given = table.schema.field(name).type
        if not _parquet_compatible(given, wanted):
            errors.append(
                RowError(
                    None,
                    name,
                    f"列类型为 {given}，应为 {wanted} 或文本",
                    f"column has type {given}; expected {wanted} or text",
                )
            )
    if errors:
        raise _FileRejected(errors)
    return _Cells(
        list(range(1, table.num_rows + 1)),
        {name: table.column(name).to_pylist() for name in table.column_names},
    )


def _read(dataset: Dataset, filename: str, data: bytes, errors: list[RowError]) -> _Cells:
    if data[:4] == PARQUET_MAGIC or filename.lower().endswith(".parquet"):
        return _read_parquet(dataset, data)
    return _read_csv(dataset, data, errors)


# --- checking the rows --------------------------------------------------------------------


@dataclass
class _Checked:
    """A file's rows, parsed and checked: a table of the dataset, or what is wrong."""

    table: pa.Table | None
    lines: list[int]
    errors: list[RowError]
    bad_rows: int


def _check_rows(
    dataset: Dataset, filename: str, data: bytes, institution_id: uuid.UUID | None
) -> _Checked:
    """Read a pushed file and check every row; nothing is written."""
    institution = str(institution_id) if institution_id else None
    check = _Checker(dataset, institution)
    try:
        cells = _read(dataset, filename, data, check.errors)
    except _FileRejected as rejected:
        return _Checked(None, [], rejected.errors, 0)
    check.bad_lines.update(e.line for e in check.errors if e.line is not None)
    if not cells.lines and not check.errors:
        return _Checked(None, [], [RowError(None, "", "文件没有数据行", "the file has no rows")], 0)
    parsed: dict[str, list[object]] = {c.name: [] for c in dataset.columns}
    first_line_of: dict[object, int] = {}
    rule = _ROW_RULES.get(dataset.name)
    for index, line in enumerate(cells.lines):
        row = {
            c.name: check.value(line, c, cells.columns[c.name][index])
            if c.name in cells.columns
            else None
            for c in dataset.columns
        }
        if rule is not None:
            rule(check, line, row)
        key = row[dataset.key]
        if key is not None:
            if key in first_line_of:
                check.fail(
                    line,
                    dataset.key,
                    f"与第 {first_line_of[key]} 行重复",
                    f"repeats line {first_line_of[key]}",
                )
            else:
                first_line_of[key] = line
        for name, value in row.items():
            parsed[name].append(value)
    if check.errors:
        errors = sorted(check.errors, key=lambda e: e.line or 0)  # stable: columns in order
        return _Checked(None, cells.lines, errors, len(check.bad_lines))
    table = pa.table(
        {c.name: pa.array(parsed[c.name], type=c.type) for c in dataset.columns},
        schema=dataset.arrow_schema(),
    )
    return _Checked(table, cells.lines, [], 0)


def _keys_in_lake(
    tx: LakeTransaction, dataset: Dataset, institution_id: uuid.UUID | None
) -> pa.Array:
    """The keys of the dataset's live rows that a pushed file must not repeat.

    Keys are unique per institution for datasets partitioned by institution (two HIS may
    both number their visits from 1), and across the lake otherwise.
    """
    scope = str(institution_id) if institution_id else None
    arrays = [pa.array([], pa.string())]
    for entry in tx.entries(dataset.name):
        if not dataset.by_institution or entry.institution_id == scope:
            keys = pq.ParquetFile(tx.lake.root / entry.path).read(columns=[dataset.key])
            arrays.extend(keys.column(dataset.key).chunks)
    return pa.concat_arrays(arrays)


def _repeated_keys(
    tx: LakeTransaction, checked: _Checked, dataset: Dataset, institution_id: uuid.UUID | None
) -> list[RowError]:
    assert checked.table is not None
    keys = checked.table.column(dataset.key)
    known = _keys_in_lake(tx, dataset, institution_id)
    seen = pc.is_in(keys, value_set=known).to_pylist()
    return [
        RowError(
            checked.lines[i],
            dataset.key,
            "该行已由先前的文件载入数据湖（重复上传）",
            "this row is already in the lake (pushed before)",
        )
        for i, flag in enumerate(seen)
        if flag
    ]


def _partitions(dataset: Dataset, table: pa.Table) -> Iterator[tuple[str, str | None, pa.Table]]:
    for month, of_month in split_by(table, "month"):
        if dataset.by_institution:
            for institution_id, part in split_by(of_month, "institution_id"):
                yield month, institution_id, part
        else:
            yield month, None, of_month


# --- recording ----------------------------------------------------------------------------


def _record(session: Session, file: LakeFile, *, landed: bool = False) -> LoadResult:
    """Insert the file's record; if a concurrent push of the same bytes won, answer with its.

    ``landed``: the file's rows were in the lake before this push (a duplicate push).
    """
    try:
        with session.begin_nested():
            session.add(file)
            session.flush()
    except IntegrityError:
        existing = _existing(session, file.dataset, file.sha256)
        if existing is None:
            raise
        return LoadResult(existing, duplicate=True)
    return LoadResult(file, duplicate=landed)


def _existing(session: Session, dataset: str, sha256: str) -> LakeFile | None:
    return session.scalar(
        select(LakeFile).where(LakeFile.dataset == dataset, LakeFile.sha256 == sha256)
    )


def _of_sha(entries: list[LakeEntry], sha256: str) -> list[LakeEntry]:
    return [e for e in entries if e.source == "upload" and e.sha256 == sha256]


def _landed(entries: list[LakeEntry], base: dict[str, object]) -> LakeFile:
    """The record of a file whose rows are in the lake already (its first record was lost)."""
    return LakeFile(
        **base,
        status="loaded",
        rows=sum(e.rows for e in entries),
        months=sorted({e.month for e in entries if e.month}),
        paths=sorted(e.path for e in entries),
    )


def load_file(
    session: Session,
    lake: Lake,
    loaded_by: str,
    *,
    dataset: str,
    filename: str,
    data: bytes,
    institution_id: uuid.UUID | None,
) -> LoadResult:
    """Load a pushed file into the lake, all or nothing, and record it (no permission checks).

    Returns the record of the file: ``loaded`` with its rows, months and paths, or
    ``rejected`` with the report; ``duplicate`` when the same bytes were pushed before (then
    nothing is written). The record is added to ``session``; the caller commits it.
    """
    ds = uploadable_dataset(dataset)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _existing(session, ds.name, sha256)
    if existing is not None:
        return LoadResult(existing, duplicate=True)
    base: dict[str, object] = {
        "dataset": ds.name,
        "sha256": sha256,
        "source": "upload",
        "filename": filename[:200],
        "institution_id": institution_id,
        "loaded_by": loaded_by,
        "loaded_at": now(),
    }
    landed = _of_sha(lake.entries(ds.name), sha256)
    if landed:
        return _record(session, _landed(landed, base), landed=True)
    checked = _check_rows(ds, filename, data, institution_id)
    if checked.table is None:
        return _record(session, _rejected(base, checked.errors, checked.bad_rows))
    with lake.transaction() as tx:
        landed = _of_sha(tx.entries(ds.name), sha256)
        if landed:  # the same bytes committed by a push that ran alongside this one
            file = _landed(landed, base)
        else:
            repeated = _repeated_keys(tx, checked, ds, institution_id)
            if repeated:
                file = _rejected(base, repeated, len(repeated))
            else:
                file = _write(tx, ds, checked.table, sha256, base)
    return _record(session, file, landed=bool(landed))


def _rejected(base: dict[str, object], errors: list[RowError], bad_rows: int) -> LakeFile:
    return LakeFile(
        **base,
        status="rejected",
        rows=0,
        rejected_rows=bad_rows,
        report=[e.as_dict() for e in errors[:MAX_REPORT]],
        months=[],
        paths=[],
    )


def _write(
    tx: LakeTransaction, ds: Dataset, table: pa.Table, sha256: str, base: dict[str, object]
) -> LakeFile:
    entries = [
        tx.write_table(
            ds.name, part, month, institution, f"upload-{sha256}", source="upload", sha256=sha256
        )
        for month, institution, part in _partitions(ds, table)
    ]
    return LakeFile(
        **base,
        status="loaded",
        rows=table.num_rows,
        rejected_rows=0,
        report=[],
        months=sorted({e.month for e in entries if e.month}),
        paths=sorted(e.path for e in entries),
    )


# --- the documentation HIS developers push against (docs/lake.md) -------------------------

EXAMPLE_INSTITUTION = "0194a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b"  # stands for the pushing institution
EXAMPLE_REFERRER = "0194a1b2-3c4d-7e5f-8a6b-000000000001"  # a township center that referred up
EXAMPLE_ROWS: dict[str, tuple[str, ...]] = {
    "visits": (
        f"V2025030001,{EXAMPLE_INSTITUTION},2025-03,P000123,outpatient,"
        "2025-03-05T09:12:00+08:00,2025-03-05T09:30:00+08:00,03,J06.900,4500,,",
        f"V2025030002,{EXAMPLE_INSTITUTION},2025-03,P000456,inpatient,"
        f"2025-02-27T10:00:00+08:00,2025-03-04T01:30:00Z,03,J18.900,812000,up,{EXAMPLE_REFERRER}",
    ),
    "fees": (
        f"F000001,V2025030001,{EXAMPLE_INSTITUTION},2025-03,outpatient,drug,2600",
        f"F000002,V2025030001,{EXAMPLE_INSTITUTION},2025-03,outpatient,service,1900",
    ),
    "finance": (f"{EXAMPLE_INSTITUTION},2025-03,1250000000,430000000",),
    "outside_stays": (
        "JS202503000017,2025-03,P000789,浙江大学医学院附属第一医院,浙江省杭州市,"
        "2025-03-02,2025-03-11,2365000",
    ),
}


def example_csv(dataset: str) -> str:
    """The documented example file of an uploadable dataset (header and rows)."""
    ds = DATASETS[dataset]
    return "\n".join((",".join(ds.names), *EXAMPLE_ROWS[dataset])) + "\n"


def _type_label(column: Column) -> str:
    if column.name == "month":
        return "month (YYYY-MM)"
    labels = {
        pa.string(): "text",
        pa.int64(): "integer",
        TS: "timestamp (ISO 8601 with offset)",
        pa.date32(): "date (YYYY-MM-DD)",
        pa.bool_(): "boolean",
    }
    return labels[column.type]


def _allowed(dataset: Dataset, column: Column) -> str:
    rules = []
    if column.choices:
        rules.append(", ".join(f"`{c}`" for c in column.choices))
    if column.non_negative:
        rules.append("≥ 0")
    if column.name == "institution_id" and dataset.uploadable:
        rules.append("UUID; the file's institution")
    elif column.name in _UUID_COLUMNS:
        rules.append("UUID")
    return "; ".join(rules)


def _column_table(dataset: Dataset) -> list[str]:
    lines = [
        "| column | type | required | 中文 | meaning | allowed values |",
        "|---|---|---|---|---|---|",
    ]
    for c in dataset.columns:
        required = "yes" if c.required else "no"
        name = f"`{c.name}` (key)" if c.name == dataset.key else f"`{c.name}`"
        lines.append(
            f"| {name} | {_type_label(c)} | {required} | {c.zh} | {c.en} | {_allowed(dataset, c)} |"
        )
    return lines


_INTRO = """\
# The data center's lake (数据湖)

<!-- Generated by render_docs() from the datasets in src/yigongti/analytics/lake/schema.py and
the rules in src/yigongti/analytics/lake/upload.py: edit those, not this file, then run
uv run python -c "import yigongti.analytics.lake as l; print(l.render_docs(), end='')" >docs/lake.md
-->

The data center computes every indicator from a lake of Parquet files. Two sources feed it:
the export of the platform's own database (visits, fee lines, bookings, institutions) and the
files institutions' HIS push (visits, fee lines, monthly finance reports, out-of-county
insurance settlements). No person is named in the lake: a resident appears as
`resident_key` (the platform's record id, or the HIS's own patient key), never by name, ID
number or phone.

## Layout

`<lake>/<dataset>/month=YYYY-MM/institution=<institution id>/<file>.parquet`; datasets
without an institution column leave out the institution level, and the institutions
dimension is one file, `<lake>/institutions/institutions.parquet`. Months are Asia/Shanghai
calendar months. Files named `export-*` come from the database and are replaced month by
month; files named `upload-<sha256>` come from a pushed file and are never rewritten.

`<lake>/_manifest.json` lists the live files of every dataset (path, rows, month,
institution, source). Read the lake through it (`Lake(root).files(dataset)`), never by
listing directories: a writer stages files under hidden names and makes them live in one
atomic replace of the manifest, so a reader of the manifest sees each change whole or not at
all. Writers take turns under the lock `<lake>/.lock`; files left by a writer that crashed
are not in the manifest and the next writer deletes them.

| dataset | 中文 | contents | by institution | pushed by HIS | key |
|---|---|---|---|---|---|
"""

_PUSHING = """\
## Pushing a file (HIS → data center)

```
POST /api/v1/lake/{dataset}/files?institution_id=<institution id>&filename=<file name>
Authorization: Bearer <token of an account that holds lake:load>
Content-Type: text/csv | application/vnd.apache.parquet | application/octet-stream

<the file's bytes>
```

```
curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: text/csv" \\
  --data-binary @visits-2025-03.csv \\
  "https://<server>/api/v1/lake/visits/files?institution_id=$INSTITUTION&filename=visits-2025-03.csv"
```

- `201 Created`: every row is in the lake; the answer is the file's record (rows, months,
  paths in the lake).
- `200 OK` with `"duplicate": true`: the same bytes were pushed before; nothing changed. A
  push that timed out can always be sent again.
- `422` (`application/problem+json`): the file is rejected and nothing of it is in the lake.
  `report` lists every problem as `{line, column, reason_zh, reason_en}` (the first 1,000;
  `rejected_rows` counts every bad row), `errors` the same as problem details, and `file_id`
  names the record (`GET /api/v1/lake/files/{id}`). Pushing the same bytes again answers the
  same report; fix the file and push it again.
- `403`: the account may not push, or not for that institution (accounts of an institution
  push for their own institution only); `404`: no such institution; `413`: the body is over
  the server's limit (`YGT_MAX_BODY_BYTES`, 1,000,000 bytes by default): push one month per
  file.

`GET /api/v1/lake/files` lists pushed files, newest first (`dataset`, `institution_id`,
`status`, `limit`, `offset`). On the server, `ygt lake load FILE --dataset visits
--institution <institution code>` pushes a file as the system administrator.

## Rules

A file is all or nothing: one bad row rejects the whole file.

The file:

- CSV: UTF-8 (a byte-order mark is accepted; GBK is not), comma-separated, quoted as in RFC
  4180, the first line a header of the column names below, in any order. Optional columns may
  be left out; an unknown column, a column named twice or a missing required column rejects
  the file. The file must end with a line break: a file cut off in transfer is refused.
  Blank lines are skipped and spaces around values ignored. CSV line numbers in reports count
  the header as line 1.
- Parquet: the same column names; each column of the listed type or text (parsed as in a
  CSV); timestamps must carry a time zone (UTC-adjusted). An unreadable or truncated file is
  refused. Parquet rows in reports count from 1.
- A file is known by the SHA-256 of its bytes: the same bytes are loaded once.

Every row:

- Required values present; integers as digits (no decimals, no separators); timestamps ISO
  8601 with an offset or `Z` (`2025-03-05T09:12:00+08:00`, `2025-03-05T01:12:00Z`); dates
  `YYYY-MM-DD`; listed values only; amounts not negative.
- `month` is `YYYY-MM`, not before 2000-01 and not after the current month (Asia/Shanghai).
- `institution_id` is the file's institution (the `institution_id` of the push).
- visits: a visit counts in the month it started (Asia/Shanghai time); an inpatient stay in
  the month it ended (discharge), so `ended_at` must fall in `month`; a stay not yet ended is
  not pushed until it has. `ended_at` is not before `started_at`.
- outside_stays: `discharged_on` falls in `month` and is not before `admitted_on`.
- The key column is unique in the file and not in the lake yet: per institution for datasets
  by institution (two HIS may both number visits from 1), county-wide for the others. A row
  already loaded from an earlier file makes the file a duplicate push; it is rejected rather
  than counted twice.

## Datasets HIS may push
"""

_EXPORT = """\
## The export of the platform's database

`ygt lake export` (or `POST /api/v1/lake/export`, permission lake:export) reads the database
in bulk and writes the months that changed since the last run:

- `institutions`: rewritten when any institution changed.
- `visits` from encounters: the Asia/Shanghai month the visit started; inpatient stays in the
  month they ended, and stays not yet discharged are left out until they are.
  `resident_key` is the resident's record id; `department` the department's code (the NHC
  catalogue code, the same at every institution).
- `fees` from fee lines: each line in its visit's month, with its visit's kind; `line_id` is
  the line's id.
- `bookings`: the month of the booking's day; `wait_seconds` is check-in to call in whole
  seconds when both happened (empty if the call is recorded before the check-in: a clock
  error, not a wait).

Each run computes, in the database, a fingerprint of every month of each dataset (row count,
largest and summed ids, sums of amounts, of timestamps and of code lengths, counts of
optional values) and rewrites only the months whose fingerprint moved since the watermark of
the last run, replacing that month's export files in one manifest commit; months without
rows any more lose their files. Pushed files are never touched. A correction that keeps every
count and sum (a diagnosis code replaced by another of the same length, a visit moved to
another department, amounts swapped between two lines of a month) is not seen: run
`ygt lake export --full` after such corrections to rewrite every month.

## Datasets from the export only
"""


def render_docs() -> str:
    """docs/lake.md: the lake's layout, the push API and its rules, every dataset's columns."""
    lines = [_INTRO.rstrip("\n")]
    for ds in DATASETS.values():
        by_inst = "yes" if ds.by_institution else "no"
        pushed = "yes" if ds.uploadable else "no"
        lines.append(f"| `{ds.name}` | {ds.zh} | {ds.en} | {by_inst} | {pushed} | `{ds.key}` |")
    lines += ["", _PUSHING.rstrip("\n")]
    for ds in DATASETS.values():
        if ds.uploadable:
            lines += ["", f"### `{ds.name}`: {ds.zh} ({ds.en})", "", *_column_table(ds)]
            lines += ["", "Example:", "", "```csv", example_csv(ds.name).rstrip("\n"), "```"]
    lines += ["", _EXPORT.rstrip("\n")]
    for ds in DATASETS.values():
        if not ds.uploadable:
            lines += ["", f"### `{ds.name}`: {ds.zh} ({ds.en})", "", *_column_table(ds)]
    return "\n".join(lines) + "\n"
