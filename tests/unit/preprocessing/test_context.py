"""Context features: counts from the schedule and means strictly from the past."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lifecycle.config import ContextCount, ContextPastMean, Params, Timestamp
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.context import add_context, group_count, past_mean, timestamp


def hand_frame(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    """(group, hour as 'HH:MM', minute, value) rows on 2013-03-01 UTC."""
    return pd.DataFrame(
        {
            "group": [r[0] for r in rows],
            "time": pd.to_datetime([f"2013-03-01 {r[1]}" for r in rows], utc=True),
            "minute": [r[2] for r in rows],
            "value": [r[3] for r in rows],
        }
    )


def spec(plus_event: list[str], lead: int = 60, window: int = 120) -> ContextPastMean:
    return ContextPastMean(
        name="recent",
        kind="past_mean",
        group_by=["group"],
        value="value",
        event_time=Timestamp(column="time", plus_minutes=plus_event),
        row_time=Timestamp(column="time", plus_minutes=["minute"]),
        lead_minutes=lead,
        window_minutes=window,
    )


def as_list(series: pd.Series) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in series]


def test_past_mean_window_boundaries() -> None:
    """A row at t sees events in [t - 180, t - 60): lower bound in, upper bound out."""
    frame = hand_frame(
        [
            ("A", "10:00", 0, 10.0),  # 10:00
            ("A", "10:00", 30, 20.0),  # 10:30
            ("A", "11:00", 0, 30.0),  # 11:00: exactly t - lead for the 12:00 row -> excluded there
            ("A", "12:00", 0, np.nan),  # no value: never an event, still gets a mean
            ("A", "12:00", 30, 40.0),  # 12:30
            ("A", "13:00", 0, 50.0),  # 10:00 is exactly t - lead - window -> included
            ("A", "13:00", 30, 60.0),
            ("A", "14:00", 0, 70.0),
            ("B", "11:00", 0, 1000.0),
            ("B", "13:00", 0, 2000.0),
        ]
    )
    result = past_mean(frame, spec(["minute"]))
    assert result.name == "recent"
    assert as_list(result) == [
        None,  # [07:00, 09:00)
        None,  # [07:30, 09:30)
        None,  # [08:00, 10:00): 10:00 is the excluded upper bound
        15.0,  # [09:00, 11:00): 10 and 20
        20.0,  # [09:30, 11:30): 10, 20, 30
        20.0,  # [10:00, 12:00): 10, 20, 30
        25.0,  # [10:30, 12:30): 20, 30 (the 12:00 row has no value)
        35.0,  # [11:00, 13:00): 30, 40
        None,  # group B: nothing before
        1000.0,  # group B only: A's values never leak in
    ]


def test_past_mean_lead_zero_excludes_the_row_itself() -> None:
    frame = hand_frame([("A", "10:00", 0, 10.0), ("A", "10:00", 0, 20.0), ("A", "11:00", 0, 30.0)])
    result = past_mean(frame, spec(["minute"], lead=0, window=60))
    # rows at 10:00 do not see each other (same time is not the past); 11:00 sees both
    assert as_list(result) == [None, None, 15.0]


def test_past_mean_uses_event_time_including_the_delay() -> None:
    """A value is known only once it happened: scheduled time + its own delay."""
    frame = hand_frame(
        [
            ("A", "10:00", 0, 90.0),  # departs 11:30
            ("A", "10:00", 0, 0.0),  # departs 10:00
            ("A", "12:00", 0, 5.0),  # window [09:00, 11:00): only the on-time one
            ("A", "13:00", 0, 5.0),  # window [10:00, 12:00): both
        ]
    )
    result = past_mean(frame, spec(["minute", "value"]))
    assert as_list(result) == [None, None, 0.0, 45.0]


def test_past_mean_nat_row_time_gives_nan() -> None:
    frame = hand_frame([("A", "10:00", 0, 10.0), ("A", "13:00", 0, 20.0)])
    frame.loc[1, "time"] = pd.NaT
    assert as_list(past_mean(frame, spec(["minute"]))) == [None, None]


# --- on the real sample ---------------------------------------------------------------


@pytest.fixture(scope="module")
def flights_rows(interim: tuple[pd.DataFrame, pd.DataFrame, dict]) -> pd.DataFrame:
    """Every labelled sample row (train and test), with real times and delays."""
    train, test, _ = interim
    return pd.concat([train, test], ignore_index=True)


def past_specs(params: Params) -> list[ContextPastMean]:
    specs = [s for s in params.preprocess.context if isinstance(s, ContextPastMean)]
    assert specs, "params.yaml declares past_mean context features"
    return specs


def future_of(frame: pd.DataFrame, spec_: ContextPastMean, row: int) -> np.ndarray:
    """Rows whose value is observed at or after `row`'s time - lead (its own included)."""
    event = timestamp(frame, spec_.event_time)
    limit = timestamp(frame, spec_.row_time).iloc[row] - pd.Timedelta(minutes=spec_.lead_minutes)
    return (event >= limit).to_numpy()


@pytest.mark.parametrize("change", ["later", "missing"])
def test_past_mean_ignores_the_row_and_its_future(flights_rows: pd.DataFrame, params: Params, change: str) -> None:
    """Perturb dep_delay of the row and every row observed after its time - lead: no effect.

    Delays are only increased or blanked, so perturbed events stay in the future.
    """
    rng = np.random.default_rng(0)
    for spec_ in past_specs(params):
        baseline = past_mean(flights_rows, spec_)
        checked = rng.choice(np.flatnonzero(baseline.notna().to_numpy()), size=12, replace=False)
        for row in checked:
            future = future_of(flights_rows, spec_, row)
            assert future[row] and not future.all()
            perturbed = flights_rows.copy()
            if change == "later":
                perturbed.loc[future, "dep_delay"] = perturbed.loc[future, "dep_delay"] + 600.0
            else:
                perturbed.loc[future, "dep_delay"] = np.nan
            assert past_mean(perturbed, spec_).iloc[row] == baseline.iloc[row]


def test_past_mean_cutoff_in_time_for_every_row(flights_rows: pd.DataFrame, params: Params) -> None:
    """Blank every delay observed from T on: rows with time - lead <= T keep their value, and
    (so that the check can fail) some later rows change."""
    for spec_ in past_specs(params):
        baseline = past_mean(flights_rows, spec_).to_numpy()
        event = timestamp(flights_rows, spec_.event_time)
        seen_until = timestamp(flights_rows, spec_.row_time) - pd.Timedelta(minutes=spec_.lead_minutes)
        for cutoff in event.dropna().quantile([0.2, 0.5, 0.8]):
            perturbed = flights_rows.copy()
            perturbed.loc[(event >= cutoff).to_numpy(), "dep_delay"] = np.nan
            after = past_mean(perturbed, spec_).to_numpy()
            before_cutoff = (seen_until <= cutoff).to_numpy()
            np.testing.assert_array_equal(after[before_cutoff], baseline[before_cutoff])
            assert not np.array_equal(after[~before_cutoff], baseline[~before_cutoff], equal_nan=True)


def reference_past_mean(frame: pd.DataFrame, spec_: ContextPastMean) -> np.ndarray:
    """Brute force, straight from the definition: for each row, average the known values of
    its group whose event time lies in [row time - lead - window, row time - lead)."""
    event = timestamp(frame, spec_.event_time).to_numpy("datetime64[ns]")
    until = (timestamp(frame, spec_.row_time) - pd.Timedelta(minutes=spec_.lead_minutes)).to_numpy("datetime64[ns]")
    since = until - np.timedelta64(spec_.window_minutes, "m")
    values = frame[spec_.value].to_numpy("float64")
    result = np.full(len(frame), np.nan)
    for rows in frame.groupby(spec_.group_by).indices.values():
        known = rows[~np.isnan(values[rows]) & ~np.isnat(event[rows])]
        inside = (event[known][None, :] >= since[rows][:, None]) & (event[known][None, :] < until[rows][:, None])
        counts = inside.sum(axis=1)
        sums = inside.astype(float) @ values[known]
        with np.errstate(invalid="ignore"):
            result[rows] = np.where(counts > 0, sums / counts, np.nan)
    return result


def test_past_mean_matches_definition_for_every_row(flights_rows: pd.DataFrame, params: Params) -> None:
    for spec_ in past_specs(params):
        expected = reference_past_mean(flights_rows, spec_)
        actual = past_mean(flights_rows, spec_).to_numpy()
        assert np.isfinite(expected).sum() > 1000  # thousands of sample rows have a past
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_past_mean_changes_when_the_past_changes(flights_rows: pd.DataFrame, params: Params) -> None:
    """Sanity check of the tests above: altering a past delay does move the mean."""
    spec_ = past_specs(params)[0]
    baseline = past_mean(flights_rows, spec_)
    row = int(np.flatnonzero(baseline.notna().to_numpy())[-1])
    past = (
        ~future_of(flights_rows, spec_, row)
        & (flights_rows[spec_.group_by[0]] == flights_rows.loc[row, spec_.group_by[0]]).to_numpy()
    )
    perturbed = flights_rows.copy()
    perturbed.loc[past, "dep_delay"] = perturbed.loc[past, "dep_delay"] + 1.0  # +1 minute keeps them in the past
    assert past_mean(perturbed, spec_).iloc[row] != baseline.iloc[row]


def test_group_count_equals_groupby_size(flights_rows: pd.DataFrame, params: Params) -> None:
    counts = [s for s in params.preprocess.context if isinstance(s, ContextCount)]
    assert counts
    for spec_ in counts:
        result = group_count(flights_rows, spec_)
        sizes = flights_rows.groupby(spec_.group_by)[spec_.group_by[0]].transform("size")
        assert result.dtype == "int64"
        assert result.tolist() == sizes.tolist()
        assert result.max() > 1


def test_group_count_counts_missing_group_values(flights_rows: pd.DataFrame) -> None:
    frame = flights_rows[["tailnum"]].head(50).copy()
    frame.loc[[3, 8, 9], "tailnum"] = np.nan
    result = group_count(frame, ContextCount(name="n", kind="count", group_by=["tailnum"]))
    assert result.loc[[3, 8, 9]].tolist() == [3, 3, 3]


def test_add_context_appends_all_and_refuses_overwrite(flights_rows: pd.DataFrame, params: Params) -> None:
    names = [s.name for s in params.preprocess.context]
    base = flights_rows.drop(columns=names)
    result = add_context(base, params.preprocess.context)
    assert list(result.columns) == [*base.columns, *names]
    for spec_ in params.preprocess.context:
        compute = group_count if isinstance(spec_, ContextCount) else past_mean
        np.testing.assert_array_equal(result[spec_.name].to_numpy(), compute(base, spec_).to_numpy())
    assert not set(names) & set(base.columns)  # the input frame is not modified
    with pytest.raises(LifecycleError, match="context feature 'origin_departures_this_hour' would overwrite"):
        add_context(flights_rows, params.preprocess.context)


def test_preprocess_counts_include_rows_without_target(
    flights_rows: pd.DataFrame, raw_tables: dict[str, pd.DataFrame], params: Params
) -> None:
    """Counts come from every scheduled flight, cancelled ones included (preprocess docstring)."""
    spec_ = next(s for s in params.preprocess.context if isinstance(s, ContextCount))
    flights = raw_tables["flights"].assign(time_hour=lambda f: pd.to_datetime(f["time_hour"], utc=True))
    scheduled = flights.groupby(spec_.group_by).size().rename("scheduled").reset_index()
    merged = flights_rows.merge(scheduled, on=spec_.group_by, how="left")
    assert merged[spec_.name].tolist() == merged["scheduled"].tolist()
    assert (merged[spec_.name] > group_count(flights_rows, spec_)).any()


def test_timestamp_errors(flights_rows: pd.DataFrame, params: Params) -> None:
    spec_ = past_specs(params)[0]
    with pytest.raises(LifecycleError, match="has dtype .*expected a datetime; declare it in preprocess.dtypes"):
        past_mean(flights_rows.assign(time_hour=flights_rows["time_hour"].astype(str)), spec_)
    with pytest.raises(LifecycleError, match=r"missing column\(s\) \['minute'\]"):
        past_mean(flights_rows.drop(columns="minute"), spec_)
