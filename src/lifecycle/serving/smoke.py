"""The smoke test of a running service: is it the bundle we meant to deploy, and does it answer
as that bundle does in process?

Why a command of its own: a deployment (a container started from the image, a reload) can
come up healthy and still serve the wrong model, or the right model wrongly (another
engine, a missing library, a bad cast). Four checks, in order, each failure one line and
its own exit code: the service answers (`/ready`, else DOWN), it is ready (200, else
NOT_READY), `/metadata` names the bundle's version and, when asked, the registry stage
(else WRONG_VERSION), and one `POST /predict` of the bundle's own reference rows answers
what `Bundle.predict` gives for the same rows (else WRONG_ANSWER).

The rows are the first rows of the bundle's reference sample (training rows the package
stage kept, `lifecycle.monitoring.reference`) that its schema accepts. The sample leaves
out date-time columns (never monitored), so each takes the latest training time the
schema records: the service and `Bundle.predict` score exactly the rows sent, whatever
they hold. They are logged like any other prediction.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from enum import IntEnum
from pathlib import Path
from typing import Any

import pandas as pd

from lifecycle.errors import ExitCodeError, LifecycleError
from lifecycle.monitoring.reference import SCORE_COLUMN, read_reference
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.tasks.classification import native

SMOKE_ROWS = 10
TIMEOUT_SECONDS = 30.0
WAIT_STEP_SECONDS = 0.5
# As the package stage's ONNX check (`package.onnx_tolerance`): a served score may differ from
# the pipeline's by this much times max(1, |score|), the engines rounding in the last bits.
SCORE_TOLERANCE = 1e-9


class Exit(IntEnum):
    """How a smoke test ends (1, as for every command, is a bundle that cannot be read)."""

    PASSED = 0
    DOWN = 2
    NOT_READY = 3
    WRONG_VERSION = 4
    WRONG_ANSWER = 5


class SmokeFailure(ExitCodeError):
    """A check the service failed: one message and its exit code (`Exit`)."""


def smoke_rows(bundle_dir: Path, bundle: Bundle, count: int = SMOKE_ROWS) -> list[dict[str, Any]]:
    """Up to `count` reference rows the bundle's schema accepts (known categories), as a
    JSON client sends them."""
    sample = read_reference(bundle_dir).sample.drop(columns=SCORE_COLUMN)
    rows = pd.DataFrame(index=sample.index)
    for column in bundle.schema["columns"]:
        name, kind = column["name"], column["kind"]
        if kind == "datetime":
            rows[name] = column["max"]
        elif kind == "boolean":  # the sample holds booleans as the schema's category text
            rows[name] = sample[name].map({"True": True, "False": False})
        else:
            rows[name] = sample[name]
    records = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
    accepted = bundle.predict(pd.DataFrame(records), unknown_category="reject")["error"].isna()
    chosen = [record for record, ok in zip(records, accepted) if ok][:count]
    if not chosen:
        raise LifecycleError(f"the reference sample of bundle {bundle_dir} holds no row its schema accepts")
    return chosen


def _request(url: str, body: object = None) -> tuple[int, Any]:
    """(status, JSON body) of a GET, or of a POST of `body`; DOWN when nothing answers."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SmokeFailure(f"service down: nothing answers at {url} ({reason})", Exit.DOWN) from None
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text.decode(errors="replace")


def _differs(served: Any, expected: Any, numeric: bool) -> bool:
    if not numeric:
        return served != expected
    if not isinstance(served, int | float) or isinstance(served, bool):
        return True
    return abs(served - expected) > SCORE_TOLERANCE * max(1.0, abs(expected))


def _compare(answers: list[dict[str, Any]], expected: pd.DataFrame, bundle: Bundle) -> None:
    """WRONG_ANSWER naming the first row whose label or score differs from `expected`."""
    if len(answers) != len(expected):
        raise SmokeFailure(f"wrong answer: {len(answers)} predictions for {len(expected)} rows", Exit.WRONG_ANSWER)
    classification = bundle.task.classification
    for position, (answer, row) in enumerate(zip(answers, expected.to_dict(orient="records"))):
        checks = [("label", native(row["prediction"]), not classification)]
        if classification:
            checks.append(("probability", float(row["probability"]), True))
        for field, value, numeric in checks:
            if _differs(answer.get(field), value, numeric):
                raise SmokeFailure(
                    f"wrong answer: row {position}'s {field} is {json.dumps(answer.get(field))}, "
                    f"the bundle gives {json.dumps(value)}",
                    Exit.WRONG_ANSWER,
                )


def _wait_ready(base: str, wait: float) -> None:
    """Return once /ready answers 200; after `wait` seconds of asking, the last failure (DOWN
    or NOT_READY): a container just started takes a few seconds to load its bundle."""
    deadline = time.monotonic() + wait
    while True:
        try:
            status, body = _request(f"{base}/ready")
            if status == 200:
                return
            reason = body.get("error") if isinstance(body, dict) else body
            failure = SmokeFailure(f"not ready: /ready answered {status}: {reason}", Exit.NOT_READY)
        except SmokeFailure as down:
            failure = down
        if time.monotonic() >= deadline:
            raise failure
        time.sleep(WAIT_STEP_SECONDS)


def smoke_test(url: str, bundle_dir: Path, stage: str | None = None, wait: float = 0.0, count: int = SMOKE_ROWS) -> str:
    """Run the four checks against the service at `url`, waiting up to `wait` seconds for it
    to be ready; the summary of a pass, or SmokeFailure."""
    bundle = load_bundle(bundle_dir)
    rows = smoke_rows(bundle_dir, bundle, count)
    base = url.rstrip("/")
    _wait_ready(base, wait)
    _, metadata = _request(f"{base}/metadata")
    expected_version = bundle.metadata.model_version
    served = metadata.get("model_version") if isinstance(metadata, dict) else None
    if served != expected_version:
        raise SmokeFailure(
            f"wrong version: the service serves model {served}, the bundle {bundle_dir} is {expected_version}",
            Exit.WRONG_VERSION,
        )
    if stage is not None:
        registry = metadata.get("registry")
        if registry is None or registry.get("stage") != stage:
            serving = "a bundle folder" if registry is None else f"{registry['version']} of stage {registry['stage']}"
            raise SmokeFailure(
                f"wrong version: the service serves {serving}, not the registry's stage {stage}", Exit.WRONG_VERSION
            )
    status, answer = _request(f"{base}/predict", rows)
    if status != 200:
        reason = answer.get("error") if isinstance(answer, dict) else answer
        raise SmokeFailure(f"wrong answer: /predict answered {status}: {reason}", Exit.WRONG_ANSWER)
    _compare(answer.get("predictions", []), bundle.predict(pd.DataFrame(rows)), bundle)
    return f"{base} serves model {expected_version} and answers {len(rows)} reference rows as the bundle does"
