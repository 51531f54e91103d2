"""Client errors of the HTTP service: one JSON shape (`ErrorBody`), each problem naming its row and field."""

from __future__ import annotations

from lifecycle.serving.schemas import ErrorBody, Problem


class InputError(Exception):
    """A client's mistake: answered with `status` and an ErrorBody, never with a 500."""

    def __init__(self, status: int, error: str, problems: list[Problem] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body = ErrorBody(error=error, problems=problems or [])
