"""The review queue of the master patient index (``/empi/reviews``): the incoming record and
the candidate resident side by side, identifiers masked, differing fields highlighted, and the
clerk's "same person" / "different person". One column at 390 px; the service decides who may
see and decide.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti.interop import empi
from yigongti.web.i18n import t
from yigongti.web.ui.context import PageContext
from yigongti.web.ui.shell import enter, to_login

TOUCH = "min-height: 44px"
PAGE = 10
# field of PersonSide, in the order shown; each is also its agreement key
FIELDS = ("name", "sex", "birth_date", "id_number", "phone", "address")
MARKS = {"exact": "positive", "close": "warning", "different": "negative", "missing": "grey"}


def _labels() -> dict[str, str]:
    return {
        "name": t("姓名"),
        "sex": t("性别"),
        "birth_date": t("出生日期"),
        "id_number": t("身份证号"),
        "phone": t("电话"),
        "address": t("地址"),
    }


def _sex(value: str | None) -> str:
    return {"male": t("男"), "female": t("女")}.get(value or "", "—")


def _text(side: empi.PersonSide | None, field: str) -> str:
    if side is None:
        return "—"
    value = getattr(side, field)
    if field == "sex":
        return _sex(value)
    return "—" if value in (None, "") else str(value)


class ReviewDesk:
    """A page of open reviews, each a card with the two records and the two buttons."""

    def __init__(self, context: PageContext) -> None:
        self.context = context

    def build(self) -> None:
        """Draw the queue; a role without empi:review sees the service's refusal."""
        self.box = ui.column().classes("w-full gap-3").props("data-testid=empi-reviews")
        self.draw(inline=True)

    def draw(self, inline: bool = False) -> None:
        """The oldest open reviews."""
        self.box.clear()
        found: tuple[int, list[empi.ReviewView]] | None = None
        with self.box, self.context.work(inline=inline) as work:
            found = empi.open_reviews(work.session, work.actor, limit=PAGE)
        if found is None:
            return
        total, reviews = found
        with self.box:
            ui.label(t("待审核 {n} 条").format(n=total)).classes("text-subtitle1")
            if not reviews:
                ui.label(t("没有待审核的记录")).classes("text-grey-7").props("data-testid=empty")
            for review in reviews:
                self._card(review)

    def _card(self, review: empi.ReviewView) -> None:
        with (
            ui.card()
            .classes("w-full q-pa-sm gap-1")
            .props(f"flat bordered data-testid=review-card data-review={review.id}")
        ):
            ui.label(t("匹配概率 {p}").format(p=f"{review.probability:.1%}")).classes(
                "text-caption text-grey-7"
            )
            with ui.grid(columns=3).classes("w-full gap-x-2 gap-y-1 items-start"):
                ui.label("").classes("text-caption")
                ui.label(t("送来的记录")).classes("text-caption text-weight-medium")
                ui.label(t("候选居民")).classes("text-caption text-weight-medium")
                labels = _labels()
                for field in FIELDS:
                    agreement = review.agreements.get(field, "missing")
                    colour = MARKS.get(agreement, "grey")
                    ui.label(labels[field]).classes("text-caption text-grey-8")
                    ui.label(_text(review.record, field)).classes(
                        f"text-body2 text-{colour}" if agreement != "exact" else "text-body2"
                    ).style("word-break: break-all")
                    ui.label(_text(review.candidate, field)).classes(
                        f"text-body2 text-{colour}" if agreement != "exact" else "text-body2"
                    ).style("word-break: break-all")
            with ui.row().classes("w-full gap-2 justify-end"):
                if review.candidate_id is not None:
                    ui.button(
                        t("同一人"),
                        icon="link",
                        on_click=lambda r=review: self._decide(r.id, r.candidate_id),
                    ).props("unelevated data-testid=review-same").style(TOUCH)
                ui.button(
                    t("不是同一人"),
                    icon="person_add",
                    on_click=lambda r=review: self._decide(r.id, None),
                ).props("outline data-testid=review-different").style(TOUCH)

    def _decide(self, review_id: uuid.UUID, same_as: uuid.UUID | None) -> None:
        decided = False
        with self.context.work() as work:
            empi.decide_review(work.session, work.actor, review_id, same_as=same_as)
            decided = True
        if decided:
            ui.notify(t("已处理"), type="positive")
            self.draw()


def reviews_page(request: Request) -> RedirectResponse | None:
    """The review queue of the master patient index."""
    context = enter(request, t("患者主索引审核"))
    if context is None:
        return to_login()
    ReviewDesk(context).build()
    return None


def register() -> None:
    """Declare the master patient index's pages."""
    ui.page("/empi/reviews")(reviews_page)
