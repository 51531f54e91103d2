"""Client errors of the HTTP service: one JSON shape (`ErrorBody`), each problem naming its row and field."""

from __future__ import annotations

from lifecycle.serving.schemas import ErrorBody, Problem


class InputError(Exception):
    """A client's mistake: answered with `status` and an ErrorBody, never with a 500."""

    def __init__(self, status: int, error: str, problems: list[Problem] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body = ErrorBody(error=error, problems=problems or [])

    @property
    def reason(self) -> str:
        """One line for the log of rejected requests: the error and its first problem."""
        if not self.body.problems:
            return self.body.error
        first = self.body.problems[0]
        more = f" (and {len(self.body.problems) - 1} more)" if len(self.body.problems) > 1 else ""
        place = " ".join(part for part in ("" if first.row is None else f"row {first.row}", first.field or "") if part)
        return f"{self.body.error}: {place + ': ' if place else ''}{first.message}{more}"
