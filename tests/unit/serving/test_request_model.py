"""The request model generated from a schema: a declared sentinel reads as null, like training;
the quick row type accepts exactly what the exact one does."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from lifecycle.config import Params
from lifecycle.packaging.schema import NumericRule, column_kind, infer_schema
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


def test_the_quick_row_type_accepts_exactly_what_the_exact_one_accepts(
    interim: Interim, columns: list[str], params: Params
) -> None:
    """Every number at, inside and beyond its domain's bounds and the numeric limit, whole or
    not, null or not: the rows a body yields (or its refusal) are those of the row type whose
    per-value rules name each problem."""
    train = interim[0]
    schema = infer_schema(train, columns, expectations=params.validation.columns)
    validator = RowValidator(schema, "accept", 10)
    exact = TypeAdapter(list[validator.row])  # type: ignore[valid-type]
    row = json.loads(train[columns].iloc[[0]].to_json(orient="records", date_format="iso"))[0]
    rules = [NumericRule.of(c) for c in schema["columns"] if c["kind"] == "numeric"]
    assert any(rule.integer for rule in rules) and any(rule.low is not None for rule in rules)
    tried = refused = 0
    for rule in rules:
        bounds = [b for b in (rule.low, rule.high) if b is not None]
        values = [*bounds, *(b + d for b in bounds for d in (-1, -0.5, 1e-9, 0.5, 1)), 7, 7.25, 1e15, -1e16, None]
        for value in values:
            body = json.dumps([{**row, rule.name: value}]).encode()
            try:
                expected = exact.validate_json(body)
            except ValidationError:
                expected = None
            try:
                got = validator.from_json(body)
            except InputError as error:
                assert error.status == 422 and error.body.problems[0].field == rule.name
                got = None
            assert got == expected, (rule.name, value)
            tried, refused = tried + 1, refused + (got is None)
    assert 0 < refused < tried
