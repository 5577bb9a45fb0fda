"""Unified appointments: the county's slot pool, bookings, check-in and queue calling.

Other packages use these names only; the tables stay inside.
"""

from yigongti.booking.service import *  # noqa: F403 - the service face is the package face
from yigongti.booking.service import __all__ as _service_names

__all__ = list(_service_names)
