"""Data tables as every page shows them: dense, bordered, left-aligned, a label when empty."""

from __future__ import annotations

from nicegui import ui

from yigongti.web.i18n import t


def data_table(testid: str, row_key: str, columns: list[tuple[str, str]]) -> ui.table:
    """An empty table with ``columns`` as (field, translated label) pairs; fill ``rows`` later."""
    table = ui.table(
        columns=[{"name": f, "label": label, "field": f, "align": "left"} for f, label in columns],
        rows=[],
        row_key=row_key,
    ).classes("w-full")
    table.props(f'dense flat bordered no-data-label="{t("无记录")}" data-testid={testid}')
    return table
