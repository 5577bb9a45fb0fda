"""The ``ygt`` command: demo, serve, migrate, synth, user, audit, lake."""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from yigongti.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="yigongti: the county medical community platform (医共体信息平台).", no_args_is_help=True
)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
console = Console()
DEMO_YEAR = 2025  # the calendar year of the demo county's visits and bookings

DataDir = Annotated[
    Path | None, typer.Option(help="Data directory (default: $YGT_DATA_DIR or ./ygt-data)")
]


def _settings(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        os.environ["YGT_DATA_DIR"] = str(data_dir)
        get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _engine(settings: Settings) -> Engine:
    from yigongti.db import make_engine

    return make_engine(settings.effective_database_url)


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Create or upgrade the database schema."""
    from yigongti.db.migrate import upgrade

    settings = _settings(data_dir)
    upgrade(_engine(settings))
    console.print(f"[green]Schema is up to date[/] ({_safe_url(settings)})")


def _safe_url(settings: Settings) -> str:
    url = settings.effective_database_url
    return url.split("@")[-1] if "@" in url else url


def _county_exists(engine: Engine) -> bool:
    from sqlalchemy import select

    from yigongti.db import unit_of_work
    from yigongti.registry.models import Institution

    with unit_of_work(engine) as session:
        return session.scalar(select(Institution.id).limit(1)) is not None


def _build(engine: Engine, residents: int, seed: int, year: int) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from yigongti.synth import build_county

    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        started = time.perf_counter()
        summary = build_county(engine, residents=residents, seed=seed, year=year, progress=progress)
    seconds = time.perf_counter() - started
    console.print(
        f"Built the county in {seconds:.0f} s: {summary.residents:,} residents, "
        f"{summary.institutions} institutions, {summary.encounters:,} encounters, "
        f"{summary.fee_lines:,} fee lines, {summary.schedules:,} schedules, "
        f"{summary.bookings:,} bookings, {summary.observations:,} observations, "
        f"{summary.diagnostic_reports:,} reports, {summary.immunizations:,} immunizations, "
        f"{summary.medication_requests:,} prescriptions, "
        f"{summary.service_requests:,} service requests; primary-care visit share "
        f"{summary.primary_care_share:.1%}, drug share {summary.drug_share:.1%}"
    )


@app.command()
def synth(
    residents: Annotated[int, typer.Option(min=10, help="Number of residents")] = 20_000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed builds the same county")
    ] = 1,
    year: Annotated[int, typer.Option(help="Calendar year of the encounters")] = 2025,
    data_dir: DataDir = None,
) -> None:
    """Build the synthetic county into an empty database (migrating it first)."""
    from yigongti.db.migrate import upgrade

    settings = _settings(data_dir)
    engine = _engine(settings)
    upgrade(engine)
    if _county_exists(engine):
        console.print("[red]The database already holds a county; use an empty database.[/]")
        raise typer.Exit(1)
    _build(engine, residents, seed, year)


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Demo data directory")] = Path("ygt-data"),
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8000,
    residents: Annotated[int, typer.Option(min=100, help="Residents of the demo county")] = 20_000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when ready")
    ] = True,
) -> None:
    """Build (or reuse) the demo county with an account per role, then serve it."""
    from yigongti.db import unit_of_work
    from yigongti.db.migrate import upgrade
    from yigongti.demo import create_demo_accounts, read_accounts, write_accounts

    os.environ.pop("YGT_DATABASE_URL", None)  # the demo always lives in its own data dir
    settings = _settings(data_dir)
    engine = _engine(settings)
    upgrade(engine)
    if _county_exists(engine):
        console.print(f"Reusing the demo county in {settings.data_dir}")
    else:
        _build(engine, residents, seed=1, year=DEMO_YEAR)
    accounts_file = settings.data_dir / "demo-accounts.json"
    with unit_of_work(engine) as session:
        created = create_demo_accounts(session)
    from yigongti.web.jobs import run_jobs_once

    opened = run_jobs_once(engine)["sessions_opened"]
    console.print(f"Opened {opened:,} clinic sessions for the coming days")
    from yigongti.demo import fill_data_center

    filling = console.status("Filling the data center (export, finance, settlement, indicators)")
    with filling, unit_of_work(engine) as session:
        console.print(fill_data_center(session, settings.lake_dir, year=DEMO_YEAR))
    known = {a.username: a for a in read_accounts(accounts_file)}
    known.update({a.username: a for a in created})
    accounts = list(known.values())
    write_accounts(accounts_file, accounts)
    from rich.table import Table

    from yigongti.security import roles

    table = Table(
        title=f"Demo accounts (also in {accounts_file})",
        caption="* machine account: client_id and client_secret of the client credentials grant",
    )
    for column in ("role", "username", "password"):
        table.add_column(column)
    for account in accounts:
        machine = "*" if account.role in roles.MACHINE_ROLES else ""
        table.add_row(account.role + machine, account.username, account.password)
    console.print(table)
    if serve_after:
        console.print(f"Serving at http://127.0.0.1:{port}  (API docs: /api/v1/docs)")
        _serve(port=port, workers=1, host="127.0.0.1")


def _serve(port: int, workers: int, host: str, jobs_every: int = 60) -> None:
    # Workers build their own app from the environment: the job interval travels there.
    os.environ["YGT_JOB_INTERVAL_SECONDS"] = str(jobs_every)
    os.environ["YGT_AUDIT_CHAIN_IN_BACKGROUND"] = "true"
    os.environ["YGT_WARM_ROUTES_AT_START"] = "true"
    get_settings.cache_clear()

    from yigongti.web.workers import serve as serve_http

    try:
        code = serve_http(host, port, workers)
    except OSError as exc:  # the address is taken, or not ours to bind
        console.print(f"[red]Cannot listen on {host}:{port}: {exc.strerror or exc}[/]")
        raise typer.Exit(1) from None
    if code:
        raise typer.Exit(code)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    jobs_every: Annotated[
        int, typer.Option(min=0, help="Seconds between scheduled jobs (0: none in this server)")
    ] = 60,
    data_dir: DataDir = None,
) -> None:
    """Serve an existing database ($YGT_DATABASE_URL or the data dir) without demo data."""
    from yigongti.db.migrate import is_migrated

    settings = _settings(data_dir)
    if not is_migrated(_engine(settings)):
        console.print("[red]The database has no schema yet: run `ygt migrate` first.[/]")
        raise typer.Exit(1)
    _serve(port=port, workers=workers, host=host, jobs_every=jobs_every)


@user_app.command("create")
def user_create(
    role: Annotated[str, typer.Option(help="Role code, e.g. township_doctor or integration")],
    username: Annotated[
        str | None, typer.Option(help="Login name (an integration account's client id)")
    ] = None,
    institution_code: Annotated[
        str | None, typer.Option(help="Institution code of the account")
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI")] = None,
    password: Annotated[str | None, typer.Option(help="Password (prompted when absent)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account (the operator acts as system administrator).

    An ``integration`` account is a machine's (an institution's HIS, LIS or PACS): its client id
    defaults to ``his-<institution code>`` and a secret is generated and printed once.
    """
    from sqlalchemy import select

    from yigongti.db import unit_of_work
    from yigongti.kernel import DomainError
    from yigongti.registry.models import Institution
    from yigongti.security import create_user, new_client_secret, roles, system_actor

    settings = _settings(data_dir)
    machine = role in roles.MACHINE_ROLES
    if username is None and not (machine and institution_code):
        raise typer.BadParameter("--username is required (except for integration accounts)")
    username = username or f"his-{institution_code}".lower()
    secret = password or (new_client_secret() if machine else getpass.getpass("Password: "))
    try:
        with unit_of_work(_engine(settings)) as session:
            institution_id = None
            if institution_code:
                institution_id = session.scalar(
                    select(Institution.id).where(Institution.code == institution_code)
                )
                if institution_id is None:
                    raise typer.BadParameter(f"no institution with code {institution_code}")
            create_user(
                session,
                system_actor(),
                username=username,
                password=secret,
                role=role,
                display_name=display_name or username,
                institution_id=institution_id,
            )
    except DomainError as exc:
        console.print(f"[red]{exc.en}[/] / {exc.zh}")
        raise typer.Exit(2) from exc
    console.print(f"[green]Created {username} ({role})[/]")
    if machine and password is None:
        console.print(f"client_id:     {username}\nclient_secret: {secret}")
        console.print("The secret is stored hashed and shown only now; keep it in the HIS.")


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None) -> None:
    """Recompute the audit chain; name every changed, deleted or inserted row (exit 1 if any)."""
    from yigongti.db import unit_of_work
    from yigongti.security import chain_pending, count_events, count_pending, verify_chain

    settings = _settings(data_dir)
    engine = _engine(settings)
    # Entries a stopped chainer left waiting are chained first, so none escapes the check.
    chained = chain_pending(engine)
    if chained:
        console.print(f"Chained {chained} audit entries that were waiting")
    with unit_of_work(engine) as session:
        total = count_events(session)
        waiting = count_pending(session)
        breaks = list(verify_chain(session))
    if waiting:
        console.print(f"[yellow]{waiting} audit entries committed meanwhile wait to be chained[/]")
    for found in breaks:
        console.print(f"[red]{found}[/]")
    if breaks:
        console.print(f"[red]Audit chain broken in {len(breaks)} place(s) among {total} rows[/]")
        raise typer.Exit(1)
    console.print(f"[green]Audit chain intact: {total} rows[/]")


lake_app = typer.Typer(help="The data center's lake (数据湖).", no_args_is_help=True)
app.add_typer(lake_app, name="lake")


@lake_app.command("export")
def lake_export(
    full: Annotated[bool, typer.Option(help="Rewrite every month, changed or not")] = False,
    data_dir: DataDir = None,
) -> None:
    """Export the database into the lake: the months that changed since the last export."""
    from yigongti.analytics import Lake, run_export
    from yigongti.db import unit_of_work
    from yigongti.security import system_actor

    settings = _settings(data_dir)
    engine = _engine(settings)
    with unit_of_work(engine) as session:
        report = run_export(session, system_actor(), Lake(settings.lake_dir), full=full)
    for part in report.datasets:
        console.print(
            f"{part.dataset:<13} {len(part.rewritten):>3} months written, "
            f"{len(part.unchanged):>3} unchanged, {len(part.removed)} removed: "
            f"{part.rows:,} rows in {part.files:,} files"
        )
    console.print(f"[green]{report.rows:,} rows written to the lake at {settings.lake_dir}[/]")


@lake_app.command("load")
def lake_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or Parquet")],
    dataset: Annotated[str, typer.Option(help="visits, fees, finance or outside_stays")],
    institution: Annotated[
        str | None, typer.Option(help="Code of the institution the file is from")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Push an institution's file into the lake, as the system administrator (all or nothing)."""
    from sqlalchemy import select

    from yigongti.analytics import Lake, RowError, load_lake_file
    from yigongti.db import unit_of_work
    from yigongti.kernel import DomainError
    from yigongti.registry.models import Institution
    from yigongti.security import system_actor

    settings = _settings(data_dir)
    try:
        with unit_of_work(_engine(settings)) as session:
            institution_id = None
            if institution:
                institution_id = session.scalar(
                    select(Institution.id).where(Institution.code == institution)
                )
                if institution_id is None:
                    raise typer.BadParameter(f"no institution with code {institution}")
            result = load_lake_file(
                session,
                system_actor(),
                Lake(settings.lake_dir),
                dataset=dataset,
                filename=file.name,
                data=file.read_bytes(),
                institution_id=institution_id,
            )
    except DomainError as exc:
        console.print(f"[red]{exc.en}[/] / {exc.zh}")
        raise typer.Exit(2) from exc
    loaded = result.file
    if loaded.status == "rejected":
        for entry in loaded.report:
            problem = RowError(**entry)  # type: ignore[arg-type]
            console.print(f"[red]{problem.message('en')}[/] / {problem.message('zh')}")
        console.print(f"[red]Rejected: {loaded.rejected_rows} bad row(s); nothing was loaded[/]")
        raise typer.Exit(1)
    again = " (pushed before: nothing changed)" if result.duplicate else ""
    console.print(
        f"[green]Loaded {loaded.rows:,} rows of {loaded.dataset} "
        f"({', '.join(loaded.months)}){again}[/]"
    )


bench_app = typer.Typer(
    help="Benchmarks; each prints one JSON object as its last line.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@bench_app.command("startup")
def bench_startup(
    data_dir: Annotated[
        Path, typer.Option(help="A data dir holding a county (e.g. the demo's)")
    ] = Path("ygt-data"),
    repeat: Annotated[
        int, typer.Option(min=1, help="Starts of each server; medians are quoted")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result")] = False,
) -> None:
    """Time `ygt serve` until /healthz answers and its idle memory, against a bare FastAPI app."""
    import json

    from yigongti.bench import startup

    result = startup.run(data_dir, repeat)
    if not as_json:
        console.print(
            f"ygt serve answers /healthz in {result['serve_seconds']} s "
            f"({result['serve_rss_mb']} MB idle); bare FastAPI: "
            f"{result['reference_seconds']} s ({result['reference_rss_mb']} MB)"
        )
    print(json.dumps(result))


@bench_app.command("booking")
def bench_booking(
    clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients")] = 200,
    slots: Annotated[int, typer.Option(min=1, help="Places released at once")] = 2_000,
    seconds: Annotated[int, typer.Option(min=1, help="Longest rush; also pgbench's duration")] = 30,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes of ygt serve")] = 2,
    pg: Annotated[
        str | None,
        typer.Option(help="Admin URL of the PostgreSQL server ($YGT_BENCH_PG or the test server)"),
    ] = None,
    pgbench_scale: Annotated[int, typer.Option(min=1, help="pgbench -i scale factor")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result")] = False,
) -> None:
    """The 08:00 release: clients book released places through `ygt serve` on PostgreSQL."""
    import contextlib
    import json

    from yigongti.bench import booking as rush

    with rush.rich_progress() if not as_json else contextlib.nullcontext(None) as bars:
        result = rush.run(
            clients,
            slots,
            seconds,
            workers,
            admin_url=pg or rush.DEFAULT_PG,
            pgbench_scale=pgbench_scale,
            progress=bars,
        )
    if not as_json:
        console.print(
            f"{result['bookings']:,} of {slots:,} places booked by {clients} clients through "
            f"{workers} worker(s): {result['bookings_per_s']} bookings/s, p50 "
            f"{result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms; "
            f"{result['errors']} errors, {result['full_answers']} 'full' answers; CPU: server "
            f"{result['server_cores']} cores, clients {result['client_cores']} cores\n"
            f"audit: {result['oversold']} oversold sessions, {result['double_booked']} "
            f"double-booked slots, {result['lost']} lost bookings\n"
            f"pgbench simple-update ({result['pgbench_clients']} clients): "
            f"{result['pgbench_tps']} tps; ratio {result['ratio']}"
        )
    print(json.dumps(result))


@bench_app.command("ingest")
def bench_ingest(
    resources: Annotated[int, typer.Option(min=10, help="NDJSON lines to import")] = 200_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the county and the mix")] = 1,
    pg: Annotated[
        str | None,
        typer.Option(help="Admin URL of the PostgreSQL server ($YGT_BENCH_PG or the test server)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result")] = False,
) -> None:
    """FHIR $import of Patients, Encounters and Observations against a raw COPY of the lines."""
    import json

    from yigongti.bench import booking, ingest

    def report(stage: str, done: int, total: int) -> None:
        if not as_json:
            console.print(f"{stage}: {done:,}/{total:,}")

    result = ingest.run(resources, seed, admin_url=pg or booking.DEFAULT_PG, progress=report)
    if not as_json:
        console.print(
            f"{result['resources']:,} resources imported in {result['seconds']} s: "
            f"{result['resources_per_s']} resources/s ({result['rejected']} rejected); "
            f"COPY {result['copy_rows_per_s']} rows/s; ratio {result['ratio']}"
        )
    print(json.dumps(result))


@bench_app.command("indicators")
def bench_indicators(
    rows: Annotated[
        int | None,
        typer.Option(min=1, help="Fee lines in the lake (default 30,000,000; 2,000,000 on Spark)"),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="Catalog engine: duckdb, or spark (checked against DuckDB)")
    ] = "duckdb",
    lake: Annotated[
        Path | None, typer.Option(help="Lake directory, reused when rows and seed match")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic county")] = 1,
    repeat: Annotated[int, typer.Option(min=1, help="Timed runs of each; medians quoted")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result")] = False,
) -> None:
    """The whole indicator catalog on a large lake against hand-written SQL: time and equality."""
    import contextlib
    import json

    from yigongti.bench import indicators

    if engine not in indicators.DEFAULT_ROWS:
        raise typer.BadParameter("duckdb or spark", param_hint="--engine")
    with indicators.rich_progress() if not as_json else contextlib.nullcontext(None) as bars:
        kwargs = {"progress": bars} if bars is not None else {}
        result = indicators.run(rows, engine, lake, seed=seed, repeat=repeat, **kwargs)
    if not as_json:
        built = "reused" if result["lake_reused"] else f"built in {result['lake_seconds']} s"
        verdict = (
            "[green]all equal[/]"
            if result["equal"]
            else f"[red]{result['mismatches']} differ, {result['missing_rows']} rows missing[/]"
        )
        console.print(
            f"{result['rows']:,} fee lines (lake {built}): catalog on {engine} "
            f"{result['catalog_seconds']} s, hand-written DuckDB SQL "
            f"{result['handwritten_seconds']} s (medians of {repeat}); ratio {result['ratio']}\n"
            f"{result['values']:,} values compared: {verdict}"
        )
    print(json.dumps(result, ensure_ascii=False))


@bench_app.command("empi")
def bench_empi(
    records: Annotated[int, typer.Option(min=100, help="Incoming records to link")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the generated linkage set")] = 1,
    link: Annotated[float, typer.Option(help="Match probability that links")] = 0.99,
    review: Annotated[float, typer.Option(help="Match probability that goes to review")] = 0.80,
    save_model: Annotated[
        Path | None, typer.Option(help="Write the trained Splink model (JSON) here")
    ] = None,
    single_residents: Annotated[
        int,
        typer.Option(min=0, help="Also link 200 records one by one against a county this big"),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result")] = False,
) -> None:
    """Master patient index linkage on a generated set with known truth: precision, recall, F1."""
    import json

    from yigongti.bench import empi
    from yigongti.interop.empi.thresholds import Thresholds

    say = (lambda _: None) if as_json else console.print
    result = empi.run(records, seed, Thresholds(link=link, review=review), save_model, say)
    if single_residents:
        from yigongti.bench.empi.single import single_record_latency

        result |= single_record_latency(single_residents, seed=seed)
    if not as_json:
        console.print(
            f"{result['records']:,} records against {result['residents']:,} residents: "
            f"precision {result['precision']}, recall {result['recall']}, F1 {result['f1']} "
            f"({result['records_per_s']} records/s); exact ID only: F1 {result['baseline_f1']}; "
            f"ratio {result['ratio']}"
        )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    app()
