"""Client errors of the HTTP service: one JSON shape, each problem naming its row and field."""

from __future__ import annotations

from pydantic import BaseModel


class Problem(BaseModel):
    """One thing wrong with a request: where (row, field) and what was expected."""

    row: int | None = None
    field: str | None = None
    message: str
    type: str


class ErrorBody(BaseModel):
    """The JSON body of every 4xx (and the rare 5xx) answer."""

    error: str
    problems: list[Problem] = []


class InputError(Exception):
    """A client's mistake: answered with `status` and an ErrorBody, never with a 500."""

    def __init__(self, status: int, error: str, problems: list[Problem] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body = ErrorBody(error=error, problems=problems or [])
