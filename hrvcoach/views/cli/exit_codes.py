"""The command line's exit codes."""

from typing import Final

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1  # a runtime failure (the strap, the store, a full disk)
EXIT_USAGE: Final = 2  # bad usage or bad input: one line naming the file, line or field
EXIT_INTERRUPTED: Final = 130  # stopped with Ctrl+C
EXIT_BROKEN_PIPE: Final = 141  # whoever read the output went away (`| head`), as after SIGPIPE
