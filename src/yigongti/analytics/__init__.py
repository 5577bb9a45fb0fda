"""Data center and supervision: the lake, the indicator catalog, engines, reports, alerts.

Other packages use these names only; the tables stay inside.
"""

from yigongti.analytics.service import *  # noqa: F403 - the service face is the package face
from yigongti.analytics.service import __all__ as _service_names

__all__ = list(_service_names)
