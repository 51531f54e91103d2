"""What a monitored window is compared with: the drift reference and the windows before it.

Drift compares the window with training (the bundle's sample) or with a window of the log:
the one of the same length just before it (`monitor.reference: previous_window`) or any other
(`--reference-since/--reference-until`). Data that drifts with the season (flights:
November's weather is not January-October's) drifts against training every month by design.
The `monitor.drift.history` windows before give each column's usual drift, so a column that
moves far beyond its own past (a broken input) is named even among seasonal drift
(lifecycle.monitoring.unusual). Every log window counts only the judged model version's
predictions: another model's scores are not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from lifecycle.config import MonitorSettings, PredictionLogSettings
from lifecycle.monitoring.drift import Kind
from lifecycle.monitoring.keyed_labels import keyed_table_name, read_keyed_labels
from lifecycle.monitoring.labels import read_labels
from lifecycle.monitoring.reference import SCORE_COLUMN, Reference, as_categories
from lifecycle.serving.prediction_log import read_prediction_log

Span = tuple[pd.Timestamp, pd.Timestamp]  # [since, until), UTC


def utc(moment: datetime) -> pd.Timestamp:
    """A moment as a UTC time stamp (naive ones are read as UTC)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class Baseline:
    """What drift compared the window with: the bundle's training sample, or the predictions
    of the same model version logged in a window of the log [since, until)."""

    kind: Literal["training", "window"]
    rows: int
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None

    @property
    def label(self) -> str:
        """How figures and tables name it."""
        if self.since is None or self.until is None:
            return "training"
        return f"the log from {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M}"

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"kind": self.kind, "rows": self.rows}
        if self.since is not None and self.until is not None:
            shown |= {"since": self.since.isoformat(), "until": self.until.isoformat()}
        return shown


@dataclass(frozen=True)
class Comparison:
    """The drift reference (training's profile, with training's or a log window's sample), what
    it is, the history windows (typed like the sample) and notes on what fell back."""

    reference: Reference
    baseline: Baseline
    history: list[pd.DataFrame]
    notes: list[str]


@dataclass(frozen=True)
class LogWindows:
    """The log as the monitor reads it: the judged window, the reference window and the history
    (None where not asked for), and every label, by request id and by key."""

    current: pd.DataFrame
    reference: pd.DataFrame | None
    history: pd.DataFrame | None
    labels: pd.DataFrame
    keyed: pd.DataFrame


def _categories(values: pd.Series) -> pd.Series:
    """`as_categories`, which gives a column that is already text (the log's str columns)
    back unchanged, so it is skipped there: it would build and drop a Python string per row."""
    return values if values.dtype == "str" else as_categories(values)


def current_frame(log: pd.DataFrame, kinds: dict[str, Kind], task_classification: bool) -> pd.DataFrame:
    """Logged predictions' monitored inputs typed as the reference sample is, and the model's
    score. A column the log lacks is all missing (it vanished from the requests)."""
    columns = {}
    for name, kind in kinds.items():
        values = log[name] if name in log else pd.Series(np.nan, index=log.index)
        columns[name] = _categories(values) if kind == "categorical" else pd.to_numeric(values, errors="coerce")
    score = log["probability"] if task_classification else log["prediction"]
    columns[SCORE_COLUMN] = pd.to_numeric(score, errors="coerce").astype("float64")
    return pd.DataFrame(columns, index=log.index).reset_index(drop=True)


@dataclass(frozen=True)
class Spans:
    """The judged window, the log window drift compares with (None: training) and the history
    windows before it (none when `monitor.drift.history` is 0)."""

    window: Span
    reference: Span | None
    history: list[Span]

    @classmethod
    def of(
        cls,
        since: pd.Timestamp,
        until: pd.Timestamp,
        settings: MonitorSettings,
        asked: tuple[datetime, datetime] | None,
    ) -> Spans:
        """The reference is the window asked for, or with `previous_window` the one of the same
        length just before; the history the `history` windows of that length before `since`."""
        length = until - since
        reference = (utc(asked[0]), utc(asked[1])) if asked is not None else None
        if reference is None and settings.reference == "previous_window":
            reference = (since - length, since)
        history = [(since - k * length, since - (k - 1) * length) for k in range(settings.drift.history, 0, -1)]
        return cls((since, until), reference, history)

    def history_span(self) -> Span | None:
        """From the first history window's start to the judged window's."""
        return (self.history[0][0], self.history[-1][1]) if self.history else None


def _between(log: pd.DataFrame, span: Span) -> pd.DataFrame:
    return log[log["logged_at"].between(span[0], span[1], "left")].reset_index(drop=True)


def read_windows(settings: PredictionLogSettings, spans: Spans) -> LogWindows:
    """Each span read once; a reference window inside the history (the previous window) is cut
    from it. Raises LifecycleError when the database cannot be read."""

    def read(span: Span) -> pd.DataFrame:
        return read_prediction_log(settings.url, settings.table, span[0].to_pydatetime(), span[1].to_pydatetime())

    history = spans.history_span()
    past = None if history is None else read(history)
    reference = spans.reference
    if reference is None:
        compared = None
    elif past is not None and history is not None and history[0] <= reference[0] and reference[1] <= history[1]:
        compared = _between(past, reference)
    else:
        compared = read(reference)
    labels = read_labels(settings.url, settings.labels_table)
    keyed = read_keyed_labels(settings.url, keyed_table_name(settings.labels_table))
    return LogWindows(read(spans.window), compared, past, labels, keyed)


def compare_with(
    logs: LogWindows, spans: Spans, reference: Reference, version: str, task_classification: bool
) -> Comparison:
    """The drift reference and history of `version`'s window: the reference span's predictions
    of that version typed like the training sample, or training's with a note saying why when
    it holds none; each history window's (empty ones left out)."""
    kinds: dict[str, Kind] = reference.profile.kinds()  # type: ignore[assignment]
    chosen, baseline = reference, Baseline("training", len(reference.sample))
    notes = []
    if logs.reference is not None and spans.reference is not None:
        since, until = spans.reference
        mine = logs.reference[logs.reference["model_version"] == version].reset_index(drop=True)
        if mine.empty:
            notes.append(
                f"the reference window {since.isoformat()} to {until.isoformat()} holds no prediction of "
                f"model version {version}: drift is judged against training"
            )
        else:
            sample = current_frame(mine, kinds, task_classification)
            chosen, baseline = Reference(reference.profile, sample), Baseline("window", len(sample), since, until)
    history = []
    if logs.history is not None:
        mine = logs.history[logs.history["model_version"] == version]
        parts = [_between(mine, span) for span in spans.history]
        history = [current_frame(part, kinds, task_classification) for part in parts if len(part)]
        if len(history) < 2:
            notes.append(
                f"{len(history)} of the {len(spans.history)} window(s) before hold predictions of model version "
                f"{version}: unusual drift needs two, not judged"
            )
    return Comparison(chosen, baseline, history, notes)
