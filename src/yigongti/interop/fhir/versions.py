"""The version log behind ``meta.versionId``, ``vread`` and ``_history``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.interop.fhir.models import ResourceVersion
from yigongti.kernel import now


def latest_version(
    session: Session, resource_type: str, resource_id: str
) -> ResourceVersion | None:
    """The newest logged version of a resource, if it was ever written through FHIR."""
    return session.scalar(
        select(ResourceVersion)
        .where(
            ResourceVersion.resource_type == resource_type,
            ResourceVersion.resource_id == resource_id,
        )
        .order_by(ResourceVersion.version.desc())
        .limit(1)
    )


def with_meta(session: Session, resource: dict) -> dict:
    """``resource`` with ``meta.versionId`` (and ``lastUpdated``) from the log."""
    latest = latest_version(session, resource["resourceType"], resource["id"])
    return _meta_of(resource, latest)


def with_metas(session: Session, resources: list[dict]) -> list[dict]:
    """Each of ``resources`` (one type, one page) with its meta, the log read once."""
    if not resources:
        return []
    ids = [r["id"] for r in resources]
    rows = session.scalars(
        select(ResourceVersion)
        .where(
            ResourceVersion.resource_type == resources[0]["resourceType"],
            ResourceVersion.resource_id.in_(ids),
        )
        .order_by(ResourceVersion.version)
    )
    latest = {row.resource_id: row for row in rows}  # the last one per id wins
    return [_meta_of(r, latest.get(r["id"])) for r in resources]


def _meta_of(resource: dict, latest: ResourceVersion | None) -> dict:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(latest.version) if latest else "1"
    if latest is not None:
        meta["lastUpdated"] = latest.recorded_at.isoformat()
    return {**resource, "meta": meta}


def log_version(session: Session, resource: dict, method: str) -> dict:
    """Log ``resource`` (as read back after a write) as its next version; it, with meta."""
    resource_type, resource_id = resource["resourceType"], resource["id"]
    number = session.scalar(
        select(func.max(ResourceVersion.version)).where(
            ResourceVersion.resource_type == resource_type,
            ResourceVersion.resource_id == resource_id,
        )
    )
    version = (number or 0) + 1
    at = now()
    meta = {
        **(resource.get("meta") or {}),
        "versionId": str(version),
        "lastUpdated": at.isoformat(),
    }
    stored = {**resource, "meta": meta}
    session.add(
        ResourceVersion(
            resource_type=resource_type,
            resource_id=resource_id,
            version=version,
            method=method,
            recorded_at=at,
            content=stored,
        )
    )
    session.flush()
    return stored


def log_original(session: Session, current: dict) -> None:
    """Log a record's implicit version 1 before its first FHIR update, so vread of 1 works."""
    session.add(
        ResourceVersion(
            resource_type=current["resourceType"],
            resource_id=current["id"],
            version=1,
            method="POST",
            recorded_at=now(),
            content=current,
        )
    )
    session.flush()


def logged_versions(
    session: Session, resource_type: str, resource_id: str
) -> list[ResourceVersion]:
    """Every logged version of a resource, newest first."""
    return list(
        session.scalars(
            select(ResourceVersion)
            .where(
                ResourceVersion.resource_type == resource_type,
                ResourceVersion.resource_id == resource_id,
            )
            .order_by(ResourceVersion.version.desc())
        )
    )
