"""Web pages of the data center: the bureau's dashboard and its drill-down to the records, the
indicator catalog, alerts, and the data center's files and runs.

Pages render what the analytics services return and call them; every rule and permission
check is the services' (a refusal shows as the service's message). Built for a 390-px phone
first: one column, tiles two abreast, charts the page's width.
"""

from __future__ import annotations

from nicegui import ui

from yigongti.analytics.pages.alerts import alerts_page
from yigongti.analytics.pages.catalog import catalog_page
from yigongti.analytics.pages.dashboard import dashboard_page
from yigongti.analytics.pages.data_center import data_center_page
from yigongti.analytics.pages.indicator import indicator_page
from yigongti.analytics.pages.records import records_page


def register() -> None:
    """Declare the data-center pages."""
    ui.page("/dashboard")(dashboard_page)
    ui.page("/dashboard/indicator/{code}")(indicator_page)
    ui.page("/dashboard/records")(records_page)
    ui.page("/indicators")(catalog_page)
    ui.page("/alerts")(alerts_page)
    ui.page("/data-center")(data_center_page)
