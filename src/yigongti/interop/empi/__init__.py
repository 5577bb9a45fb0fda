"""The master patient index (EMPI): every institution's patient record linked to one resident.

Other packages use these names only; the tables and the model stay inside.
"""

from yigongti.interop.empi.service import *  # noqa: F403 - the service face is the package face
from yigongti.interop.empi.service import __all__ as _service_names

__all__ = list(_service_names)
