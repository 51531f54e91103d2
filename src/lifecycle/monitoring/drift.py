"""Input and prediction drift per column, by the rules users know from Evidently 0.7's defaults.

Per column, with `n` the reference's non-missing values and `k` the distinct values of both
samples together:

- n <= `small_reference_rows` (1,000): a test, drift when p < `p_value` (0.05; KS: p <= it):
  Kolmogorov-Smirnov for a numeric column with k > 5, else chi-square, or a two-proportion
  z-test when k <= 2;
- above: a distance, drift when it reaches `distance` (0.1): Wasserstein distance divided by
  the reference's standard deviation for a numeric column with k > 5, else Jensen-Shannon
  distance of the value shares.

PSI is reported beside every column. The dataset drifts when the share of drifted columns
reaches `dataset_share` (0.5); columns declared expected to drift (calendar columns under a
time split) are reported but neither counted nor alerted on.

Why computed here rather than by Evidently at run time: the service and the monitor depend on
scipy alone; Evidently brings about thirty more packages and does not import with this
project's pandas without a shim (see tests/unit/monitoring/test_drift.py, which computes
every score and decision with Evidently itself on the same frames and finds them equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from lifecycle.config import DriftSettings
from lifecycle.metrics.rounding import rounded

Kind = Literal["numeric", "categorical"]
P_VALUE_METHODS = ("ks", "chisquare", "z")
RATIO_CAP = 10.0


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: the method the rules chose, its score (a p-value or a distance),
    the threshold, the decision, PSI, and the non-missing values compared."""

    column: str
    kind: Kind
    method: str
    score: float | None  # None: no values to compare
    threshold: float
    drifted: bool
    psi: float | None
    expected: bool  # declared expected to drift: reported, not counted
    reference_values: int
    current_values: int

    @property
    def ratio(self) -> float:
        """The score on one scale for every method, 1 or more being drift: distance / threshold,
        or threshold / p-value for a test (capped at RATIO_CAP, a column without values at it)."""
        if self.score is None:
            return RATIO_CAP if self.drifted else 0.0
        if self.method in P_VALUE_METHODS:
            return min(self.threshold / max(self.score, 1e-12), RATIO_CAP)
        return min(self.score / self.threshold, RATIO_CAP)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("score", "psi"):
            data[key] = None if data[key] is None else rounded(data[key])
        return data


@dataclass(frozen=True)
class DatasetDrift:
    """Every column's drift and the dataset's verdict over the columns that count."""

    columns: list[ColumnDrift]
    counted: int
    drifted: int
    share: float
    drift: bool

    def drifted_columns(self, expected: bool = False) -> list[str]:
        """The columns that drifted, counted ones (or, with `expected`, the expected ones)."""
        return [c.column for c in self.columns if c.drifted and c.expected == expected]

    def strongest(self) -> ColumnDrift | None:
        """The counted column that drifted most, if any drifted: by `ratio`, then by PSI, because
        a test's ratio is capped and a tiny p-value says how sure the test is, not how far the
        values moved (PSI measures that on one scale for every kind)."""
        drifted = [c for c in self.columns if c.drifted and not c.expected]
        return max(drifted, key=lambda c: (c.ratio, c.psi or 0.0)) if drifted else None

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": [c.as_json() for c in self.columns],
            "counted": self.counted,
            "drifted": self.drifted,
            "share": rounded(self.share),
            "drift": self.drift,
            "strongest": None if (strongest := self.strongest()) is None else strongest.column,
        }


def clean(values: pd.Series) -> pd.Series:
    """Non-missing, finite values: what every test compares."""
    return values.replace([np.inf, -np.inf], np.nan).dropna()


def choose_method(reference: pd.Series, current: pd.Series, kind: Kind, small_reference_rows: int) -> str:
    """The test or distance for a column, by reference size, kind and distinct values."""
    distinct = pd.concat([reference, current]).nunique()
    if len(reference) <= small_reference_rows:
        if kind == "numeric" and distinct > 5:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    if kind == "numeric" and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Empty bins get a tiny share, so PSI's logarithm stays finite."""
    smallest = shares[shares != 0].min()
    return np.where(shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001, shares)


def binned_shares(
    reference: pd.Series, current: pd.Series, kind: Kind, fill_zeroes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's share per bin: Sturges bins over both samples for a numeric column with
    more than 20 distinct reference values, else one bin per value seen in either."""
    if kind == "numeric" and reference.nunique() > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference.to_numpy(), current.to_numpy()]), bins="sturges")
        ref = np.histogram(reference, edges)[0] / len(reference)
        cur = np.histogram(current, edges)[0] / len(current)
    else:
        keys = list(set(reference.unique()) | set(current.unique()))
        ref_counts, cur_counts = reference.value_counts(), current.value_counts()
        ref = np.array([ref_counts.get(key, 0) / len(reference) for key in keys])
        cur = np.array([cur_counts.get(key, 0) / len(current) for key in keys])
    if fill_zeroes:
        return _fill_zeroes(ref), _fill_zeroes(cur)
    return ref, cur


def psi(reference: pd.Series, current: pd.Series, kind: Kind) -> float:
    """Population stability index over `binned_shares`."""
    ref, cur = binned_shares(reference, current, kind, fill_zeroes=True)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def _z_test(reference: pd.Series, current: pd.Series) -> float:
    """Two-sided two-proportion z-test of the first (sorted) value's share."""
    if reference.nunique() == 1 and current.nunique() == 1 and reference.iloc[0] == current.iloc[0]:
        return 1.0
    first = sorted(set(reference.unique()) | set(current.unique()))[0]
    n1, n2 = len(reference), len(current)
    p1, p2 = float((reference != first).sum()) / n1, float((current != first).sum()) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


def _chi_square(reference: pd.Series, current: pd.Series) -> float:
    """Chi-square test of the current counts against the reference shares."""
    keys = list(set(reference.unique()) | set(current.unique()))
    ref_counts, cur_counts = reference.value_counts(), current.value_counts()
    scale = len(current) / len(reference)
    expected = [ref_counts.get(key, 0) * scale for key in keys]
    observed = [cur_counts.get(key, 0) for key in keys]
    with np.errstate(divide="ignore", invalid="ignore"):  # a value new in current: p = 0
        return float(stats.chisquare(observed, expected)[1])


def _score(method: str, reference: pd.Series, current: pd.Series, kind: Kind) -> float:
    if method == "ks":
        return float(stats.ks_2samp(reference, current)[1])
    if method == "chisquare":
        return _chi_square(reference, current)
    if method == "z":
        return _z_test(reference, current)
    if method == "wasserstein":
        norm = max(float(np.std(reference)), 0.001)
        return float(stats.wasserstein_distance(reference, current) / norm)
    ref, cur = binned_shares(reference, current, kind, fill_zeroes=False)
    return float(distance.jensenshannon(ref, cur))


def _drifted(method: str, score: float, threshold: float) -> bool:
    if method == "ks":
        return score <= threshold
    if method in P_VALUE_METHODS:
        return score < threshold
    return score >= threshold


def column_drift(
    column: str, reference: pd.Series, current: pd.Series, kind: Kind, settings: DriftSettings
) -> ColumnDrift:
    """One column's drift. A column with no value in the current window has drifted (the
    input vanished); one with no reference value cannot be judged and has not."""
    ref, cur = clean(reference), clean(current)
    expected = column in settings.expected
    if ref.empty or cur.empty:
        method = "no reference values" if ref.empty else "no current values"
        return ColumnDrift(column, kind, method, None, 0.0, not ref.empty, None, expected, len(ref), len(cur))
    method = choose_method(ref, cur, kind, settings.small_reference_rows)
    threshold = settings.p_value if method in P_VALUE_METHODS else settings.distance
    score = _score(method, ref, cur, kind)
    return ColumnDrift(
        column,
        kind,
        method,
        score,
        threshold,
        _drifted(method, score, threshold),
        psi(ref, cur, kind),
        expected,
        len(ref),
        len(cur),
    )


def dataset_drift(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: Mapping[str, Kind], settings: DriftSettings
) -> DatasetDrift:
    """Every column's drift (in `kinds` order) and the share of counted columns that drifted."""
    columns = [column_drift(name, reference[name], current[name], kind, settings) for name, kind in kinds.items()]
    counted = [c for c in columns if not c.expected]
    drifted = sum(c.drifted for c in counted)
    share = drifted / len(counted) if counted else 0.0
    return DatasetDrift(columns, len(counted), drifted, share, bool(counted) and share >= settings.dataset_share)
