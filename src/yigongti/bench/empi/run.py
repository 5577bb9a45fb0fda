"""The whole linkage of a generated set: deterministic on valid ID numbers, then Splink
(DuckDB) trained without labels on the set itself, then thresholds; scored against the truth.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yigongti.bench.empi.generate import LinkageSet, generate
from yigongti.interop.empi.features import FEATURE_COLUMNS, Features, Gazetteer, features_of
from yigongti.interop.empi.model import TrainedModel, completed, splink_settings
from yigongti.interop.empi.thresholds import Thresholds, id_conflict, valid_id_number

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Metrics:
    """Pairwise precision, recall and F1 over (incoming record, resident) pairs."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, links: dict[str, str], truth: dict[str, str | None]) -> Metrics:
        """Score predicted links (incoming uid -> index uid) against the truth."""
        true_pairs = sum(1 for v in truth.values() if v is not None)
        correct = sum(1 for k, v in links.items() if truth.get(k) == v)
        precision = correct / len(links) if links else 1.0
        recall = correct / true_pairs if true_pairs else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(round(precision, 5), round(recall, 5), round(f1, 5))


def featurise(rows: list[dict[str, Any]], gazetteer: Gazetteer) -> list[Features]:
    """Features of generated rows (their address read with the county's gazetteer)."""
    out = []
    for row in rows:
        town, village = gazetteer.place_of(row["address"])
        features = features_of(
            name=row["name"],
            sex=row["sex"],
            birth_date=row["birth_date"],
            id_number=row["id_number"],
            phone=row["phone"],
            town=town,
            village=village,
        )
        features["uid"] = row["uid"]
        out.append(features)
    return out


def _columns(rows: list[Features]) -> dict[str, list[str | None]]:
    return {c: [r[c] for r in rows] for c in ("uid", *FEATURE_COLUMNS)}


def baseline_links(data: LinkageSet) -> dict[str, str]:
    """Exact ID-number-only linkage: the ID as sent equals a resident's."""
    by_id = {r["id_number"]: r["uid"] for r in data.index if r["id_number"]}
    return {
        r["uid"]: by_id[r["id_number"]]
        for r in data.incoming
        if r["id_number"] and r["id_number"] in by_id
    }


def link(
    data: LinkageSet, thresholds: Thresholds, seed: int, say: Progress
) -> tuple[dict[str, str], dict[str, Any]]:
    """Link every incoming record; returns the links and what happened along the way."""
    from splink import DuckDBAPI, Linker, block_on

    gazetteer = Gazetteer.of(data.places)
    index = featurise(data.index, gazetteer)
    incoming = featurise(data.incoming, gazetteer)
    say(f"features of {len(index):,} residents and {len(incoming):,} records")

    by_id = {f["id_number"]: f for f in index if f["id_number"]}
    links: dict[str, str] = {}
    conflicts: set[str] = set()
    rest: list[Features] = []
    model: TrainedModel | None = None
    pending: list[tuple[Features, Features]] = []
    for record in incoming:
        holder = by_id.get(record["id_number"]) if valid_id_number(record["id_number"]) else None
        if holder is None:
            rest.append(record)
        else:
            pending.append((record, holder))
    say(f"{len(pending):,} records carry a valid ID number of a resident")

    db_api = DuckDBAPI()
    db_api.duckdb_con.execute("SET enable_progress_bar = false")
    left = db_api.register(_columns(index), table_name="residents")
    right = db_api.register(_columns(incoming), table_name="incoming")
    prior = 1.0 / max(len(index), 1)
    linker = Linker([left, right], splink_settings("link_only", prior), log_level=logging.WARNING)
    clock = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in (block_on("birth_date"), block_on("name_py"), block_on("phone")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    settings = completed(linker.misc.save_model_to_json())
    model = TrainedModel.from_settings(settings)
    linker = Linker([left, right], settings, log_level=logging.WARNING)
    say(f"model trained (u by random sampling, m by EM) in {time.perf_counter() - clock:.1f} s")

    for record, holder in pending:
        if id_conflict(model.score(record, holder)):
            conflicts.add(record["uid"])
            rest.append(record | {"id_number": None, "id_a": None, "id_b": None})
        else:
            links[record["uid"]] = holder["uid"]

    rest_table = db_api.register(_columns(rest), table_name="rest")
    predictions = linker.inference.predict_between(
        left, rest_table, threshold_match_probability=thresholds.review / 2
    )
    best = db_api.duckdb_con.sql(
        f"""
        SELECT uid_r, uid_l, match_probability, match_weight
        FROM {predictions.physical_name}
        QUALIFY row_number() OVER (PARTITION BY uid_r ORDER BY match_weight DESC) = 1
        """
    ).fetchall()
    review = 0
    for record_uid, resident_uid, probability, _weight in best:
        decision = thresholds.decide(probability, record_uid in conflicts)
        if decision == "linked":
            links[record_uid] = resident_uid
        elif decision == "review":
            review += 1
    sample = _scorer_agreement(db_api, predictions.physical_name, index, rest, model)
    return links, {
        "deterministic": len(pending) - len(conflicts),
        "id_conflicts": len(conflicts),
        "probabilistic_candidates": len(rest),
        "review": review,
        "scorer_max_weight_difference": sample,
        "model": settings,
    }


def _scorer_agreement(
    db_api: Any, table: str, index: list[Features], rest: list[Features], model: TrainedModel
) -> float:
    """Largest difference between Splink's match weight and the Python scorer's, on a sample."""
    by_uid = {f["uid"]: f for f in index} | {f["uid"]: f for f in rest}
    rows = db_api.duckdb_con.sql(
        f"SELECT uid_l, uid_r, match_weight FROM {table} USING SAMPLE 500 ROWS"
    ).fetchall()
    differences = [abs(model.score(by_uid[r], by_uid[lft]).match_weight - w) for lft, r, w in rows]
    return round(max(differences, default=0.0), 6)


def run(
    records: int,
    seed: int = 1,
    thresholds: Thresholds | None = None,
    save_model: Path | None = None,
    say: Progress = lambda _: None,
) -> dict[str, Any]:
    """Generate, link and score; the figures as one dictionary."""
    thresholds = thresholds or Thresholds()
    started = time.perf_counter()
    data = generate(records, seed)
    generated = time.perf_counter()
    say(f"generated {len(data.incoming):,} records in {generated - started:.1f} s")
    links, details = link(data, thresholds, seed, say)
    seconds = time.perf_counter() - generated
    model = details.pop("model")
    if save_model is not None:
        save_model.write_text(json.dumps(model, ensure_ascii=False, indent=1), encoding="utf-8")
    figures = Metrics.of(links, data.truth)
    baseline = Metrics.of(baseline_links(data), data.truth)
    return {
        "records": len(data.incoming),
        "residents": len(data.index),
        "seed": seed,
        "precision": figures.precision,
        "recall": figures.recall,
        "f1": figures.f1,
        "records_per_s": round(len(data.incoming) / seconds, 1),
        "linkage_seconds": round(seconds, 2),
        "link_threshold": thresholds.link,
        "review_threshold": thresholds.review,
        "baseline_precision": baseline.precision,
        "baseline_recall": baseline.recall,
        "baseline_f1": baseline.f1,
        "ratio": round(figures.f1 / baseline.f1, 4) if baseline.f1 else None,
        **details,
    }
