"""What the service answers, as pydantic models: predictions (generic over the task's row
answer), late labels (feedback) and errors, plus the JSON Schemas of the request bodies it reads by hand.

A task's row answer (`Task.answer`, e.g. `BinaryPrediction`) parametrises the two generic
response models; `responses_of` names the results after the task (`BinaryPredictResponse`,
`MulticlassInvocationsResponse`, ...), as OpenAPI shows them.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    create_model,
)

Row = TypeVar("Row", bound=BaseModel)


class PredictResponse(BaseModel, Generic[Row]):
    """The answer of /predict: one prediction per row, in request order."""

    request_id: str
    model_version: str
    predictions: list[Row]


class InvocationsResponse(BaseModel, Generic[Row]):
    """The answer of /invocations, in MLflow's shape."""

    predictions: list[Row]


@cache
def responses_of(answer: type[BaseModel]) -> tuple[type[BaseModel], type[BaseModel]]:
    """The /predict and /invocations response models for a task's row answer, named after it
    (a parametrised generic would be named `PredictResponse_BinaryPrediction_` in OpenAPI)."""
    prefix = answer.__name__.removesuffix("Prediction")
    return tuple(  # type: ignore[return-value]
        create_model(f"{prefix}{generic.__name__}", __base__=generic[answer], __doc__=generic.__doc__)
        for generic in (PredictResponse, InvocationsResponse)
    )


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


Actual = Annotated[
    StrictBool | StrictInt | StrictFloat | StrictStr,
    Field(description="The real outcome: one of the model's classes, or a number for regression"),
]


class Feedback(BaseModel):
    """The real outcome of one predicted row, sent once it is known (a late label)."""

    model_config = ConfigDict(extra="forbid")

    request_id: Annotated[str, Field(min_length=1, max_length=32, description="The request id /predict answered")]
    row_index: Annotated[int, Field(ge=0, description="The row's place in that request, from 0")]
    actual: Actual


FEEDBACK_ONE = TypeAdapter(Feedback)


class FeedbackReceipt(BaseModel):
    """What storing the labels did: new rows, repeats of stored labels (no change), and labels
    whose prediction the log does not hold (stored all the same)."""

    stored: int
    unchanged: int
    unmatched: int


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed JSON or CSV, or an unreadable body",
        413: "Body larger than serve.max_body_bytes or more rows than serve.max_rows",
        415: "Wrong Content-Type",
        422: "A row failed the schema: each problem names the row and field",
    }.items()
}


def predict_body_schema(row: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """/predict reads one row (an object) or a non-empty list of at most `max_rows` rows."""
    return {"anyOf": [row, {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}]}


def invocations_body_schema(row: dict[str, Any]) -> dict[str, Any]:
    """/invocations reads exactly one of MLflow's payload keys."""
    rows = {"type": "array", "items": row, "minItems": 1}
    split = {
        "type": "object",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": {"type": "array"}, "minItems": 1},
            "index": {"type": "array"},
        },
        "required": ["columns", "data"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "Exactly one of the keys, as MLflow's scoring server takes them.",
        "properties": {"dataframe_split": split, "dataframe_records": rows, "instances": rows, "inputs": rows},
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
    }
