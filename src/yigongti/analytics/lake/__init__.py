"""The data center's lake: Parquet files by dataset, month and institution, under a manifest.

Readers list a dataset's live files with ``Lake(root).files(dataset)`` (or take one
``snapshot()`` for several datasets) and hand them to DuckDB or Spark. Writers are the export
of the operational database (``export_lake``) and institutions' pushed files (``load_file``).
"""

from yigongti.analytics.lake.export import DatasetExport, ExportReport, export_lake
from yigongti.analytics.lake.schema import DATASETS, Column, Dataset
from yigongti.analytics.lake.store import Lake, LakeEntry, LakeTransaction, Snapshot
from yigongti.analytics.lake.upload import LoadResult, RowError, load_file, render_docs

__all__ = [
    "DATASETS",
    "Column",
    "Dataset",
    "DatasetExport",
    "ExportReport",
    "Lake",
    "LakeEntry",
    "LakeTransaction",
    "LoadResult",
    "RowError",
    "Snapshot",
    "export_lake",
    "load_file",
    "render_docs",
]
