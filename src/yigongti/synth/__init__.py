"""The synthetic county: a deterministic, realistic county medical community for demos,
tests and benchmarks, written straight into the operational tables.

``yigongti.synth.builders`` holds small functions that arrange single records for tests.
"""

from yigongti.synth.county import CountySummary, build_county

__all__ = ["CountySummary", "build_county"]
