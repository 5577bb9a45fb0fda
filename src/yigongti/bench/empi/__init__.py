"""``ygt bench empi``: the master patient index's linkage on a generated set with known truth.

``generate`` makes the set (a resident index and noisy incoming records); ``run`` links it the
way the index does (valid ID numbers first, then Splink on DuckDB, then the thresholds) and
scores precision, recall and F1 against the truth and against exact-ID-only linkage.
"""

from yigongti.bench.empi.generate import LinkageSet, generate
from yigongti.bench.empi.run import Metrics, baseline_links, run

__all__ = ["LinkageSet", "Metrics", "baseline_links", "generate", "run"]
