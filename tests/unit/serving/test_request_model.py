"""The request model generated from a schema: a declared sentinel reads as null, like training."""

from __future__ import annotations

import json

import pytest

from lifecycle.packaging.schema import column_kind, infer_schema
from lifecycle.serving.errors import InputError
from lifecycle.serving.request_model import RowValidator
from tests.support.samples import Interim


def test_a_sentinel_in_a_request_is_null_only_where_declared(interim: Interim, columns: list[str]) -> None:
    train = interim[0]
    nullable = next(c for c in columns if column_kind(train[c]) == "numeric" and train[c].isna().any())
    other = next(c for c in columns if column_kind(train[c]) == "numeric" and c != nullable)
    validator = RowValidator(infer_schema(train, columns, na_values={nullable: ["unknown"]}), "accept", 10)
    row = json.loads(train[columns].iloc[[0]].to_json(orient="records", date_format="iso"))[0]

    parsed = validator.from_json(json.dumps({**row, nullable: " unknown "}).encode())
    assert parsed[0][nullable] is None and parsed[0][other] == row[other]
    with pytest.raises(InputError) as refused:
        validator.from_json(json.dumps({**row, other: "unknown"}).encode())
    assert refused.value.status == 422
    assert [(p.field, p.type) for p in refused.value.body.problems] == [(other, "float_type")]
