"""The errors hrvcoach raises on purpose.

HrvcoachError
 ├── InputError   a bad file, field, argument or packet (CLI: one line, exit 2)
 └── DeviceError  the strap or the Bluetooth stack failed (CLI: one line, exit 1)
"""


class HrvcoachError(Exception):
    """Base of every error hrvcoach raises on purpose."""


class InputError(HrvcoachError):
    """A bad file, field, argument or packet; `where` names it (file:line, field, byte)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class DeviceError(HrvcoachError):
    """The strap or the Bluetooth stack failed."""
