"""``ygt bench indicators``: the indicator catalog's engine against hand-written SQL.

``build_lake`` writes a synthetic county's lake of any number of fee lines (reused when the
same rows and seed are already there); ``run`` computes the whole built-in catalog with the
catalog's engine and the same numbers with hand-written DuckDB SQL (``handwritten_results``),
three times each in turn, and checks every value equal (``compare``). With the Spark engine
it checks the Spark catalog against both DuckDB answers.

Split by what each part does: ``lake`` (the synthetic county's files), ``handwritten`` (the
reference SQL) and ``run`` (timings, comparison, progress).
"""

from yigongti.bench.indicators.handwritten import handwritten_results
from yigongti.bench.indicators.lake import BenchLake, build_lake, county, institutions_table
from yigongti.bench.indicators.run import (
    DEFAULT_ROWS,
    Comparison,
    compare,
    default_lake,
    rich_progress,
    run,
)

__all__ = [
    "DEFAULT_ROWS",
    "BenchLake",
    "Comparison",
    "build_lake",
    "compare",
    "county",
    "default_lake",
    "handwritten_results",
    "institutions_table",
    "rich_progress",
    "run",
]
