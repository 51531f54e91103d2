"""Train/test split: time-based by default, random or stratified as options."""

from __future__ import annotations

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


def split_rows(
    frame: pd.DataFrame, split: SplitSettings, target: str, classification: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test). Time split: train strictly before the cutoff, test from it on,
    both sorted by time; random and stratified splits keep the input order."""
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
        is_test = times >= moment_in(times, split.cutoff)
        # Time order lets train use time-ordered cross-validation folds.
        ordered = frame.assign(_time=times).sort_values("_time", kind="stable").drop(columns="_time")
        train, test = ordered.loc[~is_test], ordered.loc[is_test]
    else:
        stratify = strata(frame[target], classification) if split.method == "stratified" else None
        train, test = train_test_split(frame, test_size=split.test_fraction, random_state=split.seed, stratify=stratify)
        train, test = train.sort_index(), test.sort_index()
    if train.empty or test.empty:
        empty = "train" if train.empty else "test"
        raise LifecycleError(f"the split leaves the {empty} set empty; check preprocess.split")
    return train.reset_index(drop=True), test.reset_index(drop=True)
