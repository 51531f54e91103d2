"""What POST /feedback reads: labels by request id `{request_id, row_index, actual}` or, when
params declare `serve.log.labels_key`, by that key `{<key columns>, actual}`, one label or a
non-empty list, the two forms mixed freely.

Each item is validated on its own, so every problem names its item and field: an item with a
`request_id` or `row_index` is a label by request id; any other is a label by key, whose
columns are typed as the bundle's schema types them in a request (a whole number where
training had whole numbers, text for a category, an ISO 8601 date-time), each required.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from lifecycle.monitoring.keyed_labels import KeyedLabel, key_text
from lifecycle.monitoring.labels import AnyLabel, Label
from lifecycle.serving.errors import InputError
from lifecycle.serving.request_model import field_type, problems_of
from lifecycle.serving.schemas import FEEDBACK_ONE, Actual, Feedback, Problem

KEYED_MODEL_NAME = "KeyedFeedback"
ID_FIELDS = ("request_id", "row_index")


def keyed_label_type(schema: dict[str, Any], key: Sequence[str]) -> type:
    """A label by key: the key's columns as a request types them, required and never null (a
    key identifies), any text for a category (a key need not be one training saw), and `actual`."""
    columns = {c["name"]: c for c in schema["columns"]}
    fields = {name: field_type({**columns[name], "nullable": False, "na_values": None}, "accept") for name in key}
    label = TypedDict(KEYED_MODEL_NAME, {**fields, "actual": Actual})  # type: ignore[misc]
    label.__pydantic_config__ = ConfigDict(extra="forbid", title=KEYED_MODEL_NAME)  # type: ignore[attr-defined]
    return label


class FeedbackReader:
    """Reads /feedback bodies for one bundle and declared key (`kinds`: column -> schema kind)."""

    def __init__(self, schema: dict[str, Any], kinds: dict[str, str]) -> None:
        self.kinds = kinds
        self.keyed = TypeAdapter(keyed_label_type(schema, list(kinds))) if kinds else None

    def body_schema(self) -> dict[str, Any]:
        """The OpenAPI schema of a body: one label or a list, by request id or by key."""
        one: dict[str, Any] = Feedback.model_json_schema()
        if self.keyed is not None:
            one = {"anyOf": [one, self.keyed.json_schema()]}
        return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]}

    def expected(self) -> str:
        keyed = f" or {{{', '.join(self.kinds)}, actual}}" if self.kinds else ""
        return f"expected a label {{request_id, row_index, actual}}{keyed} or a non-empty list of them"

    def read(self, body: bytes) -> list[AnyLabel]:
        """The labels of a JSON body, or InputError: 400 for bad JSON, 422 naming each item's problems."""
        try:
            parsed = json.loads(body)
        except ValueError as error:
            raise InputError(400, f"malformed JSON: {error}") from None
        many = isinstance(parsed, list)
        items = parsed if many else [parsed]
        if not items:
            problem = Problem(message="expected at least one label, got an empty list", type="too_short")
            raise InputError(422, self.expected(), [problem])
        labels, problems = [], []
        for position, item in enumerate(items):
            try:
                labels.append(self.label(item))
            except ValidationError as error:
                problems += [p.model_copy(update={"row": position}) for p in problems_of(error, many=False)]
        if problems:
            raise InputError(422, self.expected(), problems)
        return labels

    def label(self, item: Any) -> AnyLabel:
        """One item as a label; raises pydantic's ValidationError naming its fields."""
        if self.keyed is None or not isinstance(item, dict) or any(name in item for name in ID_FIELDS):
            checked = FEEDBACK_ONE.validate_python(item)
            return Label(checked.request_id, checked.row_index, checked.actual)
        values = self.keyed.validate_python(item)
        return KeyedLabel(key_text(values, self.kinds), values["actual"])
