"""Storage: engines, units of work, the declarative base, shared column types, migrations."""

from yigongti.db.engine import Base, make_engine, session_factory, unit_of_work
from yigongti.db.paging import page
from yigongti.db.types import UTCDateTime, uuid_pk

__all__ = [
    "Base",
    "UTCDateTime",
    "make_engine",
    "page",
    "session_factory",
    "unit_of_work",
    "uuid_pk",
]
