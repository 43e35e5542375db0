"""hrvcoach: heart-rate-variability biofeedback for slow-breathing practice.

Kept light on purpose: every CLI start imports this module.
"""

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.errors import DeviceError, HrvcoachError, InputError

__version__ = "0.1.0"

__all__ = [
    "Beat",
    "DeviceError",
    "HrvcoachError",
    "InputError",
    "SourceStatus",
    "StatusKind",
    "__version__",
]
