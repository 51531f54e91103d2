"""Train/test split: time-based by default, random or stratified as options."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lifecycle.config import SplitSettings
from lifecycle.errors import LifecycleError
from lifecycle.moments import moment_in
from lifecycle.preprocessing.tables import require_columns

# A stratified split of a regression target keeps each of this many quantile bins of the
# target in the same share in train and test (so a small test set spans the whole range).
REGRESSION_STRATA = 10


def strata(target: pd.Series, classification: bool) -> pd.Series | None:
    """What a stratified split keeps in proportion: the classes, or a numeric target's
    quantile bins (None when too few rows for two per bin)."""
    if classification:
        return target
    if len(target) < 2 * REGRESSION_STRATA:
        return None
    return pd.qcut(target.rank(method="first"), REGRESSION_STRATA, labels=False)


def split_positions(
    frame: pd.DataFrame, split: SplitSettings, target: str, classification: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the train and test rows, each in its output order (see `split_rows`).

    Only the time column (time split) or the target (stratified split) is read, so a caller
    may pass just those columns and take the rows from the whole table once."""
    if split.method == "time":
        assert split.time_column is not None and split.cutoff is not None  # checked by config
        require_columns(frame, [split.time_column], "preprocess.split")
        times = frame[split.time_column]
        if not pd.api.types.is_datetime64_any_dtype(times):
            raise LifecycleError(
                f"split.time_column {split.time_column!r} has dtype {times.dtype}, expected a "
                "datetime; declare it in preprocess.dtypes"
            )
        if times.isna().any():
            raise LifecycleError(
                f"split.time_column {split.time_column!r} has {int(times.isna().sum())} missing "
                "value(s); a time split needs a time for every row"
            )
        is_test = (times >= moment_in(times, split.cutoff)).to_numpy()
        # Time order lets train use time-ordered cross-validation folds.
        order = times.argsort(kind="stable").to_numpy()
        train_rows, test_rows = order[~is_test[order]], order[is_test[order]]
    else:
        stratify = strata(frame[target], classification) if split.method == "stratified" else None
        rows = np.arange(len(frame))  # the split depends on the row count and strata alone
        train_rows, test_rows = train_test_split(
            rows, test_size=split.test_fraction, random_state=split.seed, stratify=stratify
        )
        train_rows, test_rows = np.sort(train_rows), np.sort(test_rows)
    if len(train_rows) == 0 or len(test_rows) == 0:
        empty = "train" if len(train_rows) == 0 else "test"
        raise LifecycleError(f"the split leaves the {empty} set empty; check preprocess.split")
    return train_rows, test_rows


def split_rows(
    frame: pd.DataFrame, split: SplitSettings, target: str, classification: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test). Time split: train strictly before the cutoff, test from it on,
    both sorted by time; random and stratified splits keep the input order."""
    train_rows, test_rows = split_positions(frame, split, target, classification)
    return frame.take(train_rows).reset_index(drop=True), frame.take(test_rows).reset_index(drop=True)
