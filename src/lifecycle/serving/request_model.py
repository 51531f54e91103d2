"""The request model, generated from the bundle's schema: strict types, one named error per problem.

Why strict: a scoring service that coerces "12" to 12, ignores unknown fields (as MLflow
does) or turns NaN into a silent imputation returns confident predictions for inputs
the caller never meant. Every field here has the exact JSON type training saw:

- numeric: a JSON number (an integer is fine), finite; nullable only if training had nulls;
  inside the column's declared domain, and whole where training had only whole numbers
  (`NumericRule`); a value merely beyond the training range is scored and flagged;
- categorical: a string; with the `reject` policy one of the training categories (the
  OpenAPI enum lists them); with `accept` any string, an unseen one flagged in the answer;
- datetime: an ISO 8601 string (a time without an offset is read as UTC);
- boolean: true or false;
- any kind: a sentinel declared in `preprocess.na_values` ("unknown", -999) is a null.

A row is a TypedDict, so a validated row is a plain dict the scorer reads directly.

Why more than one validator: checking each number's domain in Python costs more than
scoring a batch of rows. A JSON body is first decoded by msgspec into a struct generated
from the same schema (numbers bounded by the declared domain and the numeric limit, the
categories as literals, date-times as text then parsed by pydantic's own date-time rules),
in a fifth of pydantic's time; a body it refuses, or one whose schema declares sentinels
(msgspec has no step before a type's check), goes to a quick pydantic row type with the
same bounds. Whole-number columns are then checked for fractions at once over the batch.
Only a body that fails those goes through the row type above, whose per-value rules name
every problem. The quick decoders accept exactly what that one accepts (they refuse
nothing else; tested value by value), so the answer never differs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.types import StrictBool, StrictStr
from typing_extensions import NotRequired, TypedDict

from lifecycle.packaging.schema import NumericRule
from lifecycle.preprocessing.missing import is_sentinel
from lifecycle.serving.errors import InputError
from lifecycle.serving.schemas import Problem
from lifecycle.validation.display import show

ROW_MODEL_NAME = "InputRow"
# Far beyond any physical quantity, yet small enough that differences and scaling stay finite.
NUMERIC_LIMIT = 1e15
# The range of pandas' nanosecond timestamps, which the packaged pipeline's transforms use.
EARLIEST, LATEST = datetime(1678, 1, 1, tzinfo=UTC), datetime(2261, 12, 31, tzinfo=UTC)
MAX_PROBLEMS = 50
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _text_or_datetime(value: Any) -> Any:
    """Refuse numbers for datetime fields: pydantic would read them as Unix seconds."""
    if isinstance(value, str | datetime):
        return value
    raise ValueError("expected an ISO 8601 date-time string")


def _in_range(value: datetime) -> datetime:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"expected a date-time between {EARLIEST.date()} and {LATEST.date()}")
    return value


def _possible(rule: NumericRule) -> AfterValidator:
    """Refuse a value outside the column's domain, or a fraction in a whole-number column."""

    def check(value: float) -> float:
        if (reason := rule.refusal(value)) is not None:
            raise ValueError(reason)
        return value

    return AfterValidator(check)


def _numeric_schema(rule: NumericRule) -> dict[str, Any]:
    """The domain and whole-number-ness in OpenAPI terms (JSON Schema's integer admits 12.0)."""
    schema: dict[str, Any] = {"type": "integer"} if rule.integer else {}
    if rule.low is not None:
        schema["minimum"] = rule.low
    if rule.high is not None:
        schema["maximum"] = rule.high
    return schema


def _numeric_field(rule: NumericRule) -> Any:
    """A number with the column's documented domain, refused with a message naming it."""
    low, high = rule.seen_low, rule.seen_high
    seen = (
        f"; training range {show(low)} to {show(high)}, values beyond it are scored and flagged"
        if low is not None and high is not None
        else ""
    )
    return Annotated[
        float,
        Field(
            strict=True,
            allow_inf_nan=False,
            ge=-NUMERIC_LIMIT,
            le=NUMERIC_LIMIT,
            description=f"{rule.name}: {rule.expected()}{seen}",
            json_schema_extra=_numeric_schema(rule),
        ),
        _possible(rule),
    ]


def _quick_bounds(rule: NumericRule) -> tuple[float, float]:
    """The bounds the quick decoders check a number against: its domain within the numeric limit."""
    low = -NUMERIC_LIMIT if rule.low is None else max(rule.low, -NUMERIC_LIMIT)
    high = NUMERIC_LIMIT if rule.high is None else min(rule.high, NUMERIC_LIMIT)
    return low, high


def field_type(column: dict[str, Any], policy: str, quick: bool = False) -> Any:
    """The annotated type of one schema column. `quick`: a number's domain is pydantic's own
    bound (no message of ours) and its whole-number rule is left to `RowValidator`."""
    kind, name = column["kind"], column["name"]
    if kind == "numeric":
        rule = NumericRule.of(column)
        if quick:
            low, high = _quick_bounds(rule)
            base: Any = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=low, le=high)]
        else:
            base = _numeric_field(rule)
    elif kind == "categorical":
        categories = column["categories"]
        if policy == "reject" and categories:
            base = Annotated[Literal[tuple(categories)], Field(description=f"{name}: one of the training categories")]
        else:
            base = Annotated[
                StrictStr,
                Field(
                    description=f"{name}: text; training categories: {', '.join(categories)} "
                    "(others are accepted and flagged)",
                    examples=categories[:3],
                ),
            ]
    elif kind == "datetime":
        base = Annotated[
            datetime,
            BeforeValidator(_text_or_datetime),
            AfterValidator(_in_range),
            Field(description=f"{name}: ISO 8601 date-time (no offset means UTC)"),
        ]
    elif kind == "boolean":
        base = Annotated[StrictBool, Field(description=f"{name}: true or false")]
    else:
        raise ValueError(f"schema column {name!r} has unknown kind {kind!r}")
    if sentinels := column.get("na_values"):
        base = Annotated[base | None, BeforeValidator(_missing_if_sentinel(sentinels))]
    if column["nullable"]:
        return NotRequired[base | None]
    return base


def _missing_if_sentinel(sentinels: list[Any]) -> Any:
    """A value that means missing in training (`preprocess.na_values`) means missing here."""

    def read(value: Any) -> Any:
        return None if is_sentinel(value, sentinels) else value

    return read


def row_type(schema: dict[str, Any], policy: str, quick: bool = False) -> type:
    """A TypedDict with one field per schema column, unknown fields forbidden (`quick`: see
    `field_type`)."""
    fields = {c["name"]: field_type(c, policy, quick) for c in schema["columns"]}
    row = TypedDict(ROW_MODEL_NAME, fields)  # type: ignore[misc]
    row.__pydantic_config__ = ConfigDict(extra="forbid", title=ROW_MODEL_NAME)  # type: ignore[attr-defined]
    return row


def _struct_field(place: int, column: dict[str, Any], policy: str) -> tuple[Any, ...]:
    """A schema column as a msgspec struct field with the quick row type's checks, and a
    whole-number column's (msgspec's `multiple_of=1` on a float is exact: tested against
    `x == round(x)`); a date-time as text, parsed afterwards by pydantic's rules, so both
    accept the same texts. Named by its place (a column name need not be an identifier),
    read and refused under its own name."""
    kind = column["kind"]
    if kind == "numeric":
        rule = NumericRule.of(column)
        low, high = _quick_bounds(rule)
        whole = {"multiple_of": 1} if rule.integer else {}
        kind_type: Any = Annotated[float, msgspec.Meta(ge=low, le=high, **whole)]
    elif kind == "categorical" and policy == "reject" and column["categories"]:
        kind_type = Literal[tuple(column["categories"])]
    else:
        kind_type = {"categorical": str, "datetime": str, "boolean": bool}[kind]
    if column["nullable"]:
        return f"c{place}", kind_type | None, msgspec.field(default=None, name=column["name"])
    return f"c{place}", kind_type, msgspec.field(name=column["name"])


def struct_decoders(schema: dict[str, Any], policy: str) -> tuple[msgspec.json.Decoder, msgspec.json.Decoder] | None:
    """Decoders of one row and of a list of rows into structs generated from the schema (unknown
    fields refused, omitted nullable fields null); None where a column declares sentinels or a
    category is not text (a type msgspec literals do not take alike)."""
    columns = schema["columns"]
    if any(c.get("na_values") for c in columns) or any(
        not isinstance(category, str) for c in columns for category in c.get("categories") or ()
    ):
        return None
    row = msgspec.defstruct(
        ROW_MODEL_NAME,
        [_struct_field(place, c, policy) for place, c in enumerate(columns)],
        kw_only=True,
        forbid_unknown_fields=True,
    )
    return msgspec.json.Decoder(row), msgspec.json.Decoder(list[row])  # type: ignore[valid-type]


def _problem(error: Any, many: bool) -> Problem:
    """One pydantic error as a Problem naming the row (for a list) and the field."""
    location = list(error["loc"])
    row = location.pop(0) if many and location and isinstance(location[0], int) else None
    field = ".".join(str(part) for part in location) or None
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown field: the model does not read it (see /docs for the fields)"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "too_short" and field is None:
        message = "expected at least one row, got an empty list"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return Problem(row=row, field=field, message=message, type=kind)


def problems_of(error: ValidationError, many: bool) -> list[Problem]:
    """The first MAX_PROBLEMS problems of a failed validation, each naming its row and field."""
    return [_problem(e, many) for e in error.errors(include_url=False)[:MAX_PROBLEMS]]


def _unicode(rows: list[dict[str, Any]], many: bool) -> list[dict[str, Any]]:
    """The rows, unless a text holds a lone surrogate (a "\\ud800" escape): Python's JSON
    parser decodes one where pydantic's refuses it, and it is not text any store or encoder
    takes (the prediction log's JSON refuses it). Checked on the paths that parse with Python:
    the lenient one and decoded payloads."""
    for place, row in enumerate(rows):
        for name, value in row.items():
            if isinstance(value, str):
                try:
                    value.encode()
                except UnicodeEncodeError:
                    problem = Problem(
                        row=place if many else None,
                        field=name,
                        message="expected text: holds a lone surrogate, which is not Unicode",
                        type="string_unicode",
                    )
                    raise InputError(422, "invalid input", [problem]) from None
    return rows


class RowValidator:
    """Validates request rows against the schema-generated row type."""

    def __init__(self, schema: dict[str, Any], policy: str, max_rows: int) -> None:
        self.columns = [c["name"] for c in schema["columns"]]
        self.max_rows = max_rows
        self.row = row_type(schema, policy)
        self._one, self._many = self._adapters(self.row)
        self._quick_one, self._quick_many = self._adapters(row_type(schema, policy, quick=True))
        # whole-number columns: the quick row type leaves their fractions to `_whole`
        self._whole_columns = [
            c["name"] for c in schema["columns"] if c["kind"] == "numeric" and NumericRule.of(c).integer
        ]
        self._structs = struct_decoders(schema, policy)
        # the date-times the structs hold as text, parsed by the exact row type's own rules
        self._datetimes = {
            c["name"]: TypeAdapter(list[field_type({**c, "nullable": False}, policy) | None])
            for c in schema["columns"]
            if c["kind"] == "datetime"
        }

    def _adapters(self, row: type) -> tuple[TypeAdapter[Any], TypeAdapter[Any]]:
        """Validators of one row and of a non-empty list of at most max_rows rows."""
        rows = Annotated[list[row], Field(min_length=1, max_length=self.max_rows)]  # type: ignore[valid-type]
        return TypeAdapter(row), TypeAdapter(rows)

    def _whole(self, rows: list[dict[str, Any]]) -> bool:
        """Every value of a whole-number column is whole (or null, or omitted)."""
        if not self._whole_columns:
            return True
        values = np.array([[row.get(name) for name in self._whole_columns] for row in rows], dtype=np.float64)
        return bool((np.isnan(values) | (values == np.round(values))).all())

    def _decoded(self, body: bytes, many: bool) -> list[dict[str, Any]] | None:
        """The rows if the struct decoder accepts them all, else None (validate them otherwise)."""
        # a surrogate escape (\\ud800-\\udfff) msgspec decodes where pydantic may refuse it: such a
        # rare body takes the pydantic path
        if self._structs is None or SURROGATE_ESCAPE.search(body):
            return None
        one, rows_of = self._structs
        try:
            structs = rows_of.decode(body) if many else [one.decode(body)]
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        if not 1 <= len(structs) <= self.max_rows:
            return None
        # dicts keyed by the column names, in schema order, built in C (a third of the time
        # of building them from each struct's values in Python)
        rows: list[dict[str, Any]] = msgspec.to_builtins(structs)
        for name, adapter in self._datetimes.items():
            texts = [row[name] for row in rows]
            # a batch's rows mostly share a few moments (a flights batch of 100 holds 2 to 6):
            # each distinct text is parsed once, a tenth of the time of parsing them all
            distinct = list(dict.fromkeys(texts))
            try:
                moments = dict(zip(distinct, adapter.validate_python(distinct), strict=True))
            except ValidationError:
                return None
            for row, text in zip(rows, texts, strict=True):
                row[name] = moments[text]
        return rows

    def _quickly(self, validate: Callable[[Any], Any], data: Any, many: bool) -> list[dict[str, Any]] | None:
        """The rows if the quick row type accepts them all, else None (validate them exactly)."""
        try:
            parsed = validate(data)
        except ValidationError:
            return None
        rows = parsed if many else [parsed]
        return rows if self._whole(rows) else None

    def json_schema(self) -> dict[str, Any]:
        """The OpenAPI schema of one row (types, allowed values, descriptions)."""
        return self._one.json_schema()

    def _complete(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Omitted nullable fields are null; every row gets every column."""
        for row in rows:
            if len(row) != len(self.columns):
                for name in self.columns:
                    row.setdefault(name, None)
        return rows

    def _too_many(self, count: int | str) -> InputError:
        return InputError(413, f"too many rows: {count}, the limit is {self.max_rows} per request")

    def _refusal(self, error: ValidationError, many: bool) -> InputError:
        """413 for too many rows (whatever else is wrong with them), else 422 naming each problem."""
        for item in error.errors(include_url=False):
            if many and item["type"] == "too_long" and not item["loc"]:
                return self._too_many(item.get("ctx", {}).get("actual_length") or "more")
        return InputError(422, "invalid input", problems_of(error, many))

    def from_json(self, body: bytes) -> list[dict[str, Any]]:
        """Rows from a JSON body holding one row (an object) or a list of rows.

        The fast parser refuses NaN and Infinity literals as invalid JSON; such a body is
        parsed again leniently, so the answer names the field that holds the literal.
        """
        start = body.lstrip()[:1]
        if start not in (b"{", b"["):
            self._parse_leniently(body)
            raise InputError(422, "expected a JSON object (one row) or a non-empty array of objects")
        many = start == b"["
        decoded = self._decoded(body, many)
        if decoded is not None:
            return decoded
        quick = self._quickly((self._quick_many if many else self._quick_one).validate_json, body, many)
        if quick is not None:
            return self._complete(quick)
        adapter = self._many if many else self._one
        try:
            parsed = adapter.validate_json(body)
        except ValidationError as error:
            if not any(e["type"] == "json_invalid" for e in error.errors()):
                raise self._refusal(error, many) from None
            parsed = self._validate(adapter.validate_python, self._parse_leniently(body), many)
            return _unicode(self._complete(parsed if many else [parsed]), many)
        return self._complete(parsed if many else [parsed])

    @staticmethod
    def _parse_leniently(body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError as error:
            raise InputError(400, f"malformed JSON: {error}") from None

    def from_python(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """Rows already decoded (MLflow payloads, CSV) validated the same way."""
        if not rows:
            raise InputError(422, "expected at least one row, got none")
        if len(rows) > self.max_rows:  # before validating them all
            raise self._too_many(len(rows))
        quick = self._quickly(self._quick_many.validate_python, list(rows), many=True)
        if quick is not None:
            return _unicode(self._complete(quick), many=True)
        return _unicode(self._complete(self._validate(self._many.validate_python, list(rows), many=True)), many=True)

    def _validate(self, validate: Any, data: Any, many: bool) -> Any:
        try:
            return validate(data)
        except ValidationError as error:
            raise self._refusal(error, many) from None
