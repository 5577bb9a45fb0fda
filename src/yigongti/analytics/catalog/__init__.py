"""The indicator catalog: measures and indicators as data (``model``, ``indicators.json``), the
checks a definition passes before it is saved (``check``), and the catalog compiled to one SQL
text for every engine (``compile``)."""

from yigongti.analytics.catalog.check import Problem, check_catalog, check_indicator, check_measure
from yigongti.analytics.catalog.compile import (
    CatalogError,
    catalog_sql,
    compile_catalog,
    records_sql,
)
from yigongti.analytics.catalog.model import Catalog, Indicator, Measure, Target, builtin_catalog

__all__ = [
    "Catalog",
    "CatalogError",
    "Indicator",
    "Measure",
    "Problem",
    "Target",
    "builtin_catalog",
    "catalog_sql",
    "check_catalog",
    "check_indicator",
    "check_measure",
    "compile_catalog",
    "records_sql",
]
