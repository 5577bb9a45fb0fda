"""Use cases of the master patient index, split by what they are about."""

from yigongti.interop.empi.service.jobs import BacklogJob, backlog_job, start_backlog
from yigongti.interop.empi.service.linking import (
    BacklogReport,
    identifiers_of,
    link_backlog,
    link_record,
    link_records,
    match_candidates,
    resident_by_mrn,
    stage_records,
    thresholds,
    waiting_count,
)
from yigongti.interop.empi.service.merges import MergeView, merge_residents, unmerge
from yigongti.interop.empi.service.records import Candidate, LinkOutcome, PatientRecord
from yigongti.interop.empi.service.reviews import (
    PersonSide,
    ReviewView,
    decide_review,
    open_reviews,
)

__all__ = [
    "BacklogJob",
    "BacklogReport",
    "Candidate",
    "LinkOutcome",
    "MergeView",
    "PatientRecord",
    "PersonSide",
    "ReviewView",
    "backlog_job",
    "decide_review",
    "identifiers_of",
    "link_backlog",
    "link_record",
    "link_records",
    "match_candidates",
    "merge_residents",
    "open_reviews",
    "resident_by_mrn",
    "stage_records",
    "start_backlog",
    "thresholds",
    "unmerge",
    "waiting_count",
]
