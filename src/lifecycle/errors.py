"""User-facing errors.

Anything a user can cause (a bad params key, a missing column, an empty table) raises
`LifecycleError` with one precise message. Stage entry points turn it into a logged
message and a non-zero exit, so a user never reads a traceback for their own mistake.
"""


class LifecycleError(Exception):
    """A problem with the user's data, params or files, described in one sentence."""


class ExitCodeError(LifecycleError):
    """A `LifecycleError` that ends a command with its own exit code, for commands whose
    callers (CI, a deploy script) act on which check failed, not only that one did."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
