"""Use cases of the data center; every permission check lives here."""

from yigongti.analytics.service.alerts import *  # noqa: F403
from yigongti.analytics.service.alerts import __all__ as _alerts
from yigongti.analytics.service.catalog import *  # noqa: F403
from yigongti.analytics.service.catalog import __all__ as _catalog
from yigongti.analytics.service.dashboard import *  # noqa: F403
from yigongti.analytics.service.dashboard import __all__ as _dashboard
from yigongti.analytics.service.lake import *  # noqa: F403
from yigongti.analytics.service.lake import __all__ as _lake
from yigongti.analytics.service.refresh import *  # noqa: F403
from yigongti.analytics.service.refresh import __all__ as _refresh
from yigongti.analytics.service.reports import *  # noqa: F403
from yigongti.analytics.service.reports import __all__ as _reports

__all__ = [*_lake, *_catalog, *_alerts, *_reports, *_dashboard, *_refresh]
