"""MLflow scoring-server payloads -> rows, so existing MLflow clients work unchanged.

Accepted, as `mlflow models serve` accepts them: JSON with exactly one of
`dataframe_split` ({"columns": [...], "data": [[...], ...]}), `dataframe_records`
([{...}, ...]), `instances` or `inputs` (a list of row objects, or an object of column
lists); or CSV with `Content-Type: text/csv`. Unlike MLflow, unknown columns are
refused, naming them (the rows go through the same strict validation as /predict).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from lifecycle.serving.errors import InputError
from lifecycle.serving.schemas import Problem

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _split(payload: Any) -> list[dict[str, Any]]:
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("columns"), list)
        or not isinstance(payload.get("data"), list)
    ):
        raise InputError(422, "dataframe_split: expected an object with a `columns` list and a `data` list of rows")
    columns = payload["columns"]
    extra = sorted(set(payload) - {"columns", "data", "index"})
    if extra:
        raise InputError(422, f"dataframe_split: unknown key(s) {extra}")
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise InputError(422, "dataframe_split: `columns` must be distinct strings")
    rows = []
    for index, values in enumerate(payload["data"]):
        if not isinstance(values, list) or len(values) != len(columns):
            raise InputError(
                422,
                "dataframe_split: each row of `data` must be a list as long as `columns`",
                [Problem(row=index, message=f"expected a list of {len(columns)} values", type="row_shape")],
            )
        rows.append(dict(zip(columns, values)))
    return rows


def _records(payload: Any, key: str) -> list[Any]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and payload and all(isinstance(v, list) for v in payload.values()):
        lengths = {len(v) for v in payload.values()}
        if len(lengths) != 1:
            raise InputError(422, f"{key}: every column list must have the same length")
        names = list(payload)
        return [dict(zip(names, values)) for values in zip(*payload.values())]
    raise InputError(422, f"{key}: expected a list of row objects or an object of column lists")


def rows_from_json(body: bytes) -> list[Any]:
    """The rows of an MLflow JSON payload (not yet validated against the schema)."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise InputError(400, f"malformed JSON: {error}") from None
    if not isinstance(payload, dict):
        raise InputError(422, f"expected a JSON object with one of the keys {list(FORMATS)}")
    present = [key for key in FORMATS if key in payload]
    unknown = sorted(set(payload) - set(FORMATS))
    if unknown:
        raise InputError(422, f"unknown key(s) {unknown}; expected exactly one of {list(FORMATS)}")
    if len(present) != 1:
        raise InputError(422, f"expected exactly one of the keys {list(FORMATS)}, got {present}")
    key = present[0]
    return _split(payload[key]) if key == "dataframe_split" else _records(payload[key], key)


def _csv_value(text: str, kind: str) -> Any:
    """A CSV cell as the JSON value a caller would send; left as text when it is not one."""
    if text == "":
        return None
    if kind == "numeric":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    return text


def rows_from_csv(body: bytes, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """The rows of a CSV body with a header line; cells typed by the schema's column kinds."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(400, f"CSV body is not UTF-8: {error}") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        rows = []
        for index, record in enumerate(reader):
            if None in record or None in record.values():
                raise InputError(
                    422,
                    "CSV row does not have as many cells as the header",
                    [Problem(row=index, message="wrong number of cells", type="row_shape")],
                )
            rows.append({name: _csv_value(value, kinds.get(name, "")) for name, value in record.items()})
    except csv.Error as error:
        raise InputError(400, f"malformed CSV: {error}") from None
    if reader.fieldnames is not None and len(set(reader.fieldnames)) != len(reader.fieldnames):
        raise InputError(422, "CSV header repeats a column name")
    return rows
