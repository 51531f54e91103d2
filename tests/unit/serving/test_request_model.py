"""The request model generated from a schema: a declared sentinel reads as null, like training;
the quick row type accepts exactly what the exact one does."""

from __future__ import annotations

import json
from typing import Any

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


def outcome(validator: RowValidator, body: bytes) -> Any:
    """The rows the validator takes from `body`, or its refusal's status and problems."""
    try:
        return validator.from_json(body)
    except InputError as error:
        return error.status, error.body.model_dump()


@pytest.mark.parametrize("policy", ["accept", "reject"])
def test_the_struct_decoder_accepts_exactly_what_pydantic_accepts(
    interim: Interim, columns: list[str], params: Params, policy: str
) -> None:
    """Date-time texts of every shape, texts and non-texts for a category, and bodies with a
    repeated, unknown or nested field, too many rows or one row: the service answers each
    exactly as it does with its pydantic row types alone."""
    train = interim[0]
    schema = infer_schema(train, columns, expectations=params.validation.columns)
    validator, pydantic_only = RowValidator(schema, policy, 10), RowValidator(schema, policy, 10)
    assert validator._structs is not None  # the path under test
    pydantic_only._structs = None
    row = json.loads(train[columns].iloc[[0]].to_json(orient="records", date_format="iso"))[0]
    moment = next(c["name"] for c in schema["columns"] if c["kind"] == "datetime")
    category = next(c for c in schema["columns"] if c["kind"] == "categorical")
    texts = [category["categories"][0], "never seen", "", "\ud800", "\ud83d\ude00", "é", 7, True, None, ["a"]]
    values = {
        moment: [
            "2013-01-01T05:00:00Z",
            "2013-01-01T05:00:00+01:00",
            "2013-01-01 05:00:00",
            "2013-01-01t05:00:00z",
            "2013-01-01",
            "2013-01-01T05:00",
            "20130101T050000",
            "1700000000",
            1700000000,
            "2013-01-01T05:00:00.123456789Z",
            "2400-01-01T00:00:00Z",
            "1600-01-01T00:00:00Z",
            "2013-13-01T00:00:00Z",
            "",
            None,
        ],
        category["name"]: texts,
    }
    bodies = [json.dumps([{**row, name: value}]).encode() for name, tried in values.items() for value in tried]
    same = ["2013-01-01T05:00:00Z", "2013-01-01 06:00:00", "2013-01-01T05:00:00Z", "2013-01-01T05:00:00+00:00"]
    batches = [same, [*same[:2], "2013-13-01T00:00:00Z", *same[2:]]]
    text = json.dumps(row)
    bodies += [
        ("[" + text[:-1] + f', "{category["name"]}": "{category["categories"][-1]}"' + "}]").encode(),  # repeated
        json.dumps([{**row, "unknown_field": 1}]).encode(),
        json.dumps([row] * 11).encode(),
        # moments repeated across rows (each distinct text is parsed once), then with a bad one
        # in the middle
        *(json.dumps([{**row, moment: m} for m in moments]).encode() for moments in batches),
        json.dumps([row, [1, 2]]).encode(),
        b"[]",
        json.dumps(row).encode(),
    ]
    accepted = 0
    for body in bodies:
        got = outcome(validator, body)
        assert got == outcome(pydantic_only, body), body[:300]
        accepted += isinstance(got, list)
    assert 0 < accepted < len(bodies)


def test_a_lone_surrogate_is_refused_naming_its_field(interim: Interim, columns: list[str], params: Params) -> None:
    """Python's JSON parser (the lenient path, MLflow payloads) decodes a lone surrogate escape
    that no encoder takes: refused with a 422 naming the row and field, never scored or logged."""
    train = interim[0]
    validator = RowValidator(infer_schema(train, columns, expectations=params.validation.columns), "accept", 10)
    row = json.loads(train[columns].iloc[[0]].to_json(orient="records", date_format="iso"))[0]
    text = next(c["name"] for c in infer_schema(train, columns)["columns"] if c["kind"] == "categorical")
    bodies = [(json.dumps([row, {**row, text: "JFK\ud800"}]), 1), (json.dumps({**row, text: "\udfff"}), None)]
    for body, place in bodies:
        with pytest.raises(InputError) as refused:
            validator.from_json(body.encode())
        assert refused.value.status == 422
        assert [(p.row, p.field, p.type) for p in refused.value.body.problems] == [(place, text, "string_unicode")]
    with pytest.raises(InputError) as refused:
        validator.from_python([row, {**row, text: "\ud800"}])
    assert [(p.row, p.field) for p in refused.value.body.problems] == [(1, text)]
    assert validator.from_json(json.dumps([{**row, text: "\ud83d\ude00"}]).encode())[0][text] == "\U0001f600"
