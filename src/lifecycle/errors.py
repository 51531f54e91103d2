"""User-facing errors.

Anything a user can cause (a bad params key, a missing column, an empty table) raises
`LifecycleError` with one precise message. Stage entry points turn it into a logged
message and a non-zero exit, so a user never reads a traceback for their own mistake.
"""


class LifecycleError(Exception):
    """A problem with the user's data, params or files, described in one sentence."""
