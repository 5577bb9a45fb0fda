"""FHIR bulk import against PostgreSQL's COPY: how near the physical limit ``$import`` gets.

``run`` makes a fresh PostgreSQL database with a small synthetic county, writes an NDJSON mix
of new residents (10%), their visits (30%) and measurements (60%) that refer to each other by
the sending system's ids, and imports it with ``run_import``, the very function the
``$import`` endpoint's job thread runs (no HTTP: the body upload is not what is measured).
Every line is validated against the R4B model and created through its resource mapping
(scope, codes, audit), references rewritten to our ids. It then COPYs the same lines into an
unindexed ``raw(line jsonb)`` table of the same database: the physical limit. ``ratio`` is
resources per second over COPY rows per second.
"""

from yigongti.bench.ingest.mix import county_mix
from yigongti.bench.ingest.run import run

__all__ = ["county_mix", "run"]
