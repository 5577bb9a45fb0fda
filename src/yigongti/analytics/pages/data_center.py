"""The data center (``/data-center``): files institutions pushed into the lake, with their
status and row report; pushing a file for an institution (lake:load); and running the export
of the operational database and the computation of the indicators (lake:export).

The export and compute run in a worker thread (they take seconds to minutes); the page shows
the stage and a progress bar from what the run reports, polled by a timer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import events, run, ui
from sqlalchemy.orm import Session

from yigongti import analytics, registry
from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.pages.common import TOUCH, empty_note, lake_of
from yigongti.db import unit_of_work
from yigongti.kernel import DomainError, local
from yigongti.security import Actor, active_user, actor_for, roles
from yigongti.web.i18n import current_language, pick, t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.record import section
from yigongti.web.ui.shell import enter, to_login

if TYPE_CHECKING:
    from yigongti.analytics.models import LakeFile

FILES_SHOWN = 20
REPORT_SHOWN = 20
MAX_INSTITUTIONS = 10_000
POLL = 0.5


@dataclass
class RunState:
    """What the worker thread of one run reports to the page (read by the page's timer)."""

    running: bool = False
    stage: str = ""
    done: int = 0
    total: int = 0
    outcome: str | None = None
    failed: bool = False
    lines: list[str] = field(default_factory=list)


def _dataset_names() -> dict[str, str]:
    return {d.name: pick(d.zh, d.en) for d in DATASETS.values() if d.uploadable}


def status_chip(status: str) -> None:
    """A file's status: loaded (green) or rejected (red)."""
    loaded = status == "loaded"
    ui.badge(t("已入湖") if loaded else t("已拒收"), color="positive" if loaded else "negative")


class DataCenter:
    """The data center page: the run panel, the push form and the list of pushed files."""

    def __init__(self, context: PageContext) -> None:
        self.context = context
        self.lake = analytics.Lake(lake_of(context))
        self.state = RunState()

    def build(self) -> None:
        """Draw the parts the role may use; a role with neither permission is refused."""
        actor = self.context.actor
        if not (actor.can(roles.LAKE_LOAD) or actor.can(roles.LAKE_EXPORT)):
            with self.context.work(inline=True) as work:
                work.actor.require(roles.LAKE_LOAD)
            return
        if actor.can(roles.LAKE_EXPORT):
            self._run_panel()
        if actor.can(roles.LAKE_LOAD):
            self._push_form()
            with section(t("已上传文件"), "folder_open").props("data-testid=lake-files"):
                self.files_box = ui.column().classes("w-full gap-2")
            self.draw_files()

    # export and compute

    def _run_panel(self) -> None:
        with section(t("导出与计算"), "sync").props("data-testid=run-panel"):
            ui.label(
                t("把业务库中变化的月份导出到数据湖，再按指标目录重新计算全部指标和预警")
            ).classes("text-body2 text-grey-8")
            self.run_button = (
                ui.button(t("运行导出与计算"), icon="play_arrow", on_click=self.start_run)
                .props("unelevated data-testid=run-start")
                .style(TOUCH)
            )
            self.progress = ui.linear_progress(value=0, show_value=False).props(
                "rounded size=12px data-testid=run-progress"
            )
            self.progress.set_visibility(False)
            self.stage = ui.label().classes("text-body2").props("data-testid=run-stage")
            self.outcome = ui.column().classes("w-full gap-0").props("data-testid=run-outcome")
        ui.timer(POLL, self._show_progress)

    def _show_progress(self) -> None:
        state = self.state
        self.run_button.set_enabled(not state.running)
        self.progress.set_visibility(state.running or state.total > 0)
        if state.total:
            self.progress.set_value(state.done / state.total)
        self.stage.set_text(state.stage)

    async def start_run(self) -> None:
        """Run the export and the computation in a worker thread, reporting as they go."""
        if self.state.running:
            return
        self.state = RunState(running=True, stage=t("正在准备…"))
        self.outcome.clear()
        labels = {  # in the user's language here: the worker thread has no page to ask
            "export": t("导出 {dataset}：{done}/{total} 个月"),
            "compute": t("正在计算指标…"),
            "exported": t("导出 {rows} 行，写入 {files} 个文件"),
            "computed": t("计算 {rows} 个指标值，用时 {seconds} 秒；新增预警 {alerts} 条"),
        }
        names = {d.name: pick(d.zh, d.en) for d in DATASETS.values()}
        state, lang = self.state, current_language()
        await run.io_bound(self._run, state, labels, names, lang)
        state.running = False
        self._show_progress()
        with self.outcome:
            for line in state.lines:
                ui.label(line).classes("text-negative" if state.failed else "text-body2")
        if not state.failed:
            ui.notify(t("导出与计算完成"), type="positive")

    def _run(
        self, state: RunState, labels: dict[str, str], names: dict[str, str], lang: str
    ) -> None:
        """The run itself, in the worker thread: no UI calls here, only ``state``."""

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "compute":  # the refresh's last step after the datasets' months
                state.stage = labels["compute"]
            else:
                state.stage = labels["export"].format(
                    dataset=names.get(stage, stage), done=done, total=total
                )
            state.done, state.total = done, max(total, 1)

        try:
            with unit_of_work(self.context.engine) as session:
                done = analytics.refresh_data_center(
                    session,
                    self._actor(session),
                    self.lake,
                    county_code=self.context.settings.county_code,
                    progress=progress,
                )
            state.done = state.total = 1
            state.stage = ""
            state.lines = [
                labels["exported"].format(rows=f"{done.export.rows:,}", files=done.export.files),
                labels["computed"].format(
                    rows=f"{done.computed.rows:,}",
                    seconds=f"{done.computed.seconds:.1f}",
                    alerts=done.alerts_opened,
                ),
            ]
        except DomainError as exc:
            state.failed = True
            state.stage = ""
            state.lines = [exc.message(lang)]

    def _actor(self, session: Session) -> Actor:
        user = active_user(session, self.context.user_id)
        return actor_for(user, self.context.client_ip)

    # pushing a file

    def _push_form(self) -> None:
        actor = self.context.actor
        with section(t("上传机构文件"), "upload_file").props("data-testid=push-form"):
            ui.label(
                t("医院信息系统导出的 CSV 或 Parquet 文件；同一文件重复上传不会重复入湖")
            ).classes("text-body2 text-grey-8")
            names = _dataset_names()
            self.dataset = ui.select(names, label=t("数据集"), value=next(iter(names)))
            self.dataset.classes("w-full").props("data-testid=push-dataset")
            options = self._institutions()
            own = str(actor.institution_id) if actor.institution_id else None
            self.institution = (
                ui.select(
                    options,
                    label=t("机构"),
                    with_input=True,
                    value=own if len(options) == 1 else None,
                )
                .classes("w-full")
                .props("data-testid=push-institution")
            )
            self.upload = (
                ui.upload(
                    label=t("选择文件"),
                    auto_upload=True,
                    max_file_size=self.context.settings.max_body_bytes,
                    on_upload=self.push,
                    on_rejected=lambda: ui.notify(t("文件过大，请按月拆分后上传"), type="warning"),
                )
                .classes("w-full")
                .props("accept=.csv,.parquet flat bordered data-testid=push-file")
            )
            self.push_result = ui.column().classes("w-full gap-1").props("data-testid=push-result")

    def _institutions(self) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.context.work() as work:
            query = registry.InstitutionQuery(limit=MAX_INSTITUTIONS)
            _, institutions = registry.list_institutions(work.session, query)
            found = {str(i.id): i.name for i in institutions}
        own = self.context.actor.institution_id
        county_wide = self.context.actor.role_def.scope in (roles.COUNTY, roles.WITH_REASON)
        if not county_wide and own is not None:  # the service allows one's own only
            return {str(own): found.get(str(own), str(own))}
        return found

    async def push(self, event: events.UploadEventArguments) -> None:
        """Load the uploaded file into the lake and show what became of it."""
        data = await event.file.read()
        chosen = self.institution.value
        self.push_result.clear()
        result = None
        with self.push_result, self.context.work() as work:
            result = analytics.load_lake_file(
                work.session,
                work.actor,
                self.lake,
                dataset=self.dataset.value,
                filename=event.file.name,
                data=data,
                institution_id=uuid.UUID(chosen) if chosen else None,
            )
        self.upload.reset()
        if result is None:
            return
        with self.push_result:
            file_summary(result.file, duplicate=result.duplicate)
        self.draw_files()

    # the files pushed so far

    def draw_files(self) -> None:
        """The newest pushed files the actor may see, each with its report on demand."""
        self.files_box.clear()
        found = None
        with self.files_box, self.context.work() as work:
            found = analytics.lake_files(
                work.session, work.actor, analytics.LakeFileQuery(limit=FILES_SHOWN)
            )
        if found is None:
            return
        total, files = found
        with self.files_box:
            if not files:
                empty_note(t("尚无上传文件"))
            for file in files:
                with (
                    ui.expansion()
                    .classes("w-full")
                    .props(f"dense data-testid=lake-file data-file={file.id}") as item
                ):
                    with item.add_slot("header"), ui.column().classes("gap-0 min-w-0"):
                        with ui.row().classes("items-center gap-2 no-wrap"):
                            status_chip(file.status)
                            ui.label(file.filename).classes("ellipsis")
                        ui.label(
                            f"{_dataset_names().get(file.dataset, file.dataset)} · "
                            f"{local(file.loaded_at):%Y-%m-%d %H:%M} · {file.loaded_by}"
                        ).classes("text-caption text-grey-7")
                    file_summary(file)
            if total > len(files):
                ui.label(t("仅显示最新 {n} 个文件").format(n=len(files))).classes(
                    "text-caption text-grey-7"
                )


def file_summary(file: LakeFile, duplicate: bool = False) -> None:
    """A pushed file's outcome: rows in the lake, rows refused, months, and the first problems."""
    if duplicate:
        ui.label(t("该文件此前已上传，本次未重复入湖")).classes("text-body2")
    ui.label(
        t("入湖 {rows} 行，问题 {bad} 行；月份：{months}").format(
            rows=f"{file.rows:,}",
            bad=f"{file.rejected_rows:,}",
            months=t("、").join(file.months) or "—",
        )
    ).classes("text-body2").props("data-testid=file-rows")
    for problem in file.report[:REPORT_SHOWN]:
        where = t("第 {line} 行").format(line=problem["line"]) if problem.get("line") else t("文件")
        reason = pick(problem["reason_zh"], problem["reason_en"])
        ui.label(f"{where} · {problem['column']}：{reason}").classes("text-caption text-negative")
    if len(file.report) > REPORT_SHOWN:
        ui.label(t("另有 {n} 条问题未显示").format(n=len(file.report) - REPORT_SHOWN)).classes(
            "text-caption text-grey-7"
        )


def data_center_page(request: Request) -> RedirectResponse | None:
    """Pushed files and their reports, pushing a file, and the export-and-compute run."""
    context = enter(request, t("数据中心"))
    if context is None:
        return to_login()
    DataCenter(context).build()
    return None
