"""Registries: places, institutions and medical communities, practitioners and teams, residents.

Other packages use these names only; the tables stay inside.
"""

from yigongti.registry.service import *  # noqa: F403 - the service face is the package face
from yigongti.registry.service import __all__ as _service_names

__all__ = list(_service_names)
