"""params.yaml validation: the repo's file loads, and every mistake names its dotted key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from lifecycle.config import Params, load_params, parse_params
from lifecycle.errors import LifecycleError
from tests.support.project import ROOT


@pytest.fixture(scope="module")
def raw_params() -> dict[str, Any]:
    """The repository's params.yaml as plain YAML data, to be edited per test."""
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def edited(raw: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of `raw` with one change applied."""
    copied = copy.deepcopy(raw)
    edit(copied)
    return copied


def error_for(raw: dict[str, Any]) -> str:
    """The LifecycleError message parse_params gives for `raw` (fails if it validates)."""
    with pytest.raises(LifecycleError) as caught:
        parse_params(raw)
    return str(caught.value)


def test_repository_params_load(params: Params, raw_params: dict[str, Any]) -> None:
    assert set(params.sources) == {"flights", "weather", "planes"}
    assert params.preprocess.base == "flights"
    assert params.preprocess.split.method == "time"
    assert params.train.model == raw_params["train"]["model"]
    assert params.train.hist_gradient_boosting.max_iter == raw_params["train"]["hist_gradient_boosting"]["max_iter"]
    # parse_params on the same data gives the same settings as load_params on the file
    assert parse_params(raw_params) == params


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda r: r.__setitem__("trian", {"seed": 1}), "trian"),
        (lambda r: r["train"].__setitem__("learning_rat", 0.1), "train.learning_rat"),
        (
            lambda r: r["train"]["hist_gradient_boosting"].__setitem__("foo", 1),
            "train.hist_gradient_boosting.foo",
        ),
        (lambda r: r["evaluate"].__setitem__("curve_pionts", 100), "evaluate.curve_pionts"),
        (
            lambda r: r["preprocess"]["joins"][0].__setitem__("kyes", ["origin"]),
            "preprocess.joins.0.kyes",
        ),
        (lambda r: r["featurize"]["datetime"].__setitem__("tz", "UTC"), "featurize.datetime.tz"),
        # inside a tagged union (a source's kind, a context feature's kind)
        (lambda r: r["sources"]["flights"].__setitem__("foo", 1), "sources.flights.foo"),
        (
            lambda r: r["preprocess"]["context"][2].__setitem__("lead_minute", 30),
            "preprocess.context.2.lead_minute",
        ),
    ],
    ids=[
        "top-level",
        "train",
        "nested-model",
        "evaluate",
        "list-item",
        "nested-featurize",
        "tagged-union-source",
        "tagged-union-context",
    ],
)
def test_unknown_key_is_named(raw_params: dict[str, Any], edit: Callable[[dict[str, Any]], None], key: str) -> None:
    message = error_for(edited(raw_params, edit))
    assert f"{key}: unknown key" in message


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda r: r["train"].__setitem__("cv_folds", "three"), "train.cv_folds"),
        (lambda r: r["train"].__setitem__("cv_folds", 1), "train.cv_folds"),
        (lambda r: r["train"].__setitem__("model", "xgboost"), "train.model"),
        (
            lambda r: r["train"]["decision_tree"].__setitem__("max_depth", "deep"),
            "train.decision_tree.max_depth",
        ),
        (lambda r: r["evaluate"].__setitem__("calibration_bins", 1), "evaluate.calibration_bins"),
        (
            lambda r: r["preprocess"]["split"].__setitem__("test_fraction", 0),
            "preprocess.split.test_fraction",
        ),
        (lambda r: r["sources"]["flights"].__setitem__("sample_rows", 0), "sources.flights"),
        (lambda r: r["preprocess"]["target"].__setitem__("task", "ranking"), "preprocess.target.task"),
        (lambda r: r["preprocess"]["roles"].__setitem__("flight", "key"), "preprocess.roles.flight"),
        (lambda r: r["validation"]["severity"].__setitem__("leakage", "fatal"), "validation.severity.leakage"),
        (lambda r: r["validation"]["severity"].__setitem__("leak", "off"), "validation.severity.leak"),
        (
            lambda r: r["validation"]["columns"].__setitem__("dep_delay", {"kind": "number"}),
            "validation.columns.dep_delay.kind",
        ),
        (lambda r: r["preprocess"]["target"].__setitem__("task", "regression"), "preprocess.target"),
        (lambda r: r["serve"].__setitem__("workers", 0), "serve.workers: Input should be greater than or equal to 1"),
        (lambda r: r["train"].__setitem__("max_rows", 0), "train.max_rows: Input should be greater than 0"),
        (lambda r: r["engine"].__setitem__("name", "spark"), "engine.name: Input should be 'pandas' or 'dask'"),
        (lambda r: r["engine"].__setitem__("memory_limit", "lots"), "engine.memory_limit: String should match"),
    ],
    ids=[
        "string-for-int",
        "below-minimum",
        "unknown-family",
        "nullable-int",
        "min-bins",
        "fraction",
        "sample-rows",
        "unknown-task",
        "unknown-role",
        "unknown-severity",
        "unknown-check",
        "unknown-kind",
        "threshold-with-regression",
        "no-workers",
        "train-sample",
        "unknown-engine",
        "memory-limit",
    ],
)
def test_wrong_value_names_the_key(
    raw_params: dict[str, Any], edit: Callable[[dict[str, Any]], None], key: str
) -> None:
    message = error_for(edited(raw_params, edit))
    assert message.startswith("invalid params: ")
    assert f"{key}" in message
    # only the broken key is reported, not the whole file
    assert message.count(";") == 0


def test_unknown_source_kind(raw_params: dict[str, Any]) -> None:
    message = error_for(edited(raw_params, lambda r: r["sources"]["weather"].__setitem__("kind", "excel")))
    assert "sources.weather" in message
    assert "'excel'" in message
    assert "'builtin', 'csv', 'parquet'" in message


def test_join_of_undefined_source(raw_params: dict[str, Any]) -> None:
    def add_join(r: dict[str, Any]) -> None:
        r["preprocess"]["joins"].append({"source": "airports", "keys": ["dest"]})

    message = error_for(edited(raw_params, add_join))
    assert "'airports'" in message
    assert "['flights', 'planes', 'weather']" in message


def test_base_must_be_a_defined_source(raw_params: dict[str, Any]) -> None:
    message = error_for(edited(raw_params, lambda r: r["sources"].pop("flights")))
    assert "'flights'" in message


@pytest.mark.parametrize("missing", ["cutoff", "time_column"])
def test_time_split_needs_column_and_cutoff(raw_params: dict[str, Any], missing: str) -> None:
    message = error_for(edited(raw_params, lambda r: r["preprocess"]["split"].pop(missing)))
    assert "preprocess.split" in message
    assert "split.cutoff" in message and "split.time_column" in message


def test_random_split_needs_no_cutoff(raw_params: dict[str, Any]) -> None:
    def random_split(r: dict[str, Any]) -> None:
        r["preprocess"]["split"] = {"method": "random", "test_fraction": 0.25, "seed": 1}

    params = parse_params(edited(raw_params, random_split))
    assert params.preprocess.split.cutoff is None
    assert params.preprocess.split.test_fraction == 0.25


def test_settings_are_frozen(params: Params) -> None:
    with pytest.raises(Exception, match="frozen"):
        params.train.seed = 1  # type: ignore[misc]


def test_params_must_be_a_mapping() -> None:
    with pytest.raises(LifecycleError, match="mapping"):
        parse_params(["sources", "preprocess"])


def test_load_params_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    with pytest.raises(LifecycleError, match="params file not found") as caught:
        load_params(path)
    assert str(path) in str(caught.value)


def test_load_params_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  model: [unclosed\n  seed: 1\n", encoding="utf-8")
    with pytest.raises(LifecycleError, match="is not valid YAML") as caught:
        load_params(path)
    assert str(path) in str(caught.value)


def test_load_params_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(LifecycleError, match="mapping"):
        load_params(path)


def test_load_params_reports_unknown_key_from_file(tmp_path: Path, raw_params: dict[str, Any]) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        yaml.safe_dump(edited(raw_params, lambda r: r["train"].__setitem__("learning_rat", 0.1))),
        encoding="utf-8",
    )
    with pytest.raises(LifecycleError, match=r"train\.learning_rat: unknown key"):
        load_params(path)


def with_search(**search: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r.__setitem__("search", {"enabled": True, **search})


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ({"families": ["xgboost"]}, "search.families.0: "),
        ({"spaces": {"xgboost": {}}}, "search.spaces.xgboost: "),
        (
            {"spaces": {"random_forest": {"depth": {"low": 2, "high": 8}}}},
            "search.spaces.random_forest: unknown hyper-parameter 'depth'; train.random_forest has [",
        ),
        (
            {"spaces": {"hist_gradient_boosting": {"max_iter": {"low": 50, "high": 50}}}},
            "search.spaces.hist_gradient_boosting.max_iter: Value error, empty range: low (50) must be below high (50)",
        ),
        (
            {"spaces": {"logistic_regression": {"C": {"low": 0, "high": 10, "log": True}}}},
            "search.spaces.logistic_regression.C: Value error, a log range needs low > 0",
        ),
        (
            {"spaces": {"random_forest": {"max_features": {"choices": []}}}},
            "search.spaces.random_forest.max_features.choices: ",
        ),
        (
            {"spaces": {"hist_gradient_boosting": {"learning_rate": {"low": -1.0, "high": 0.5}}}},
            "search.spaces.hist_gradient_boosting.learning_rate: -1.0 is not a valid value",
        ),
        ({"spaces": {"random_forest": {"max_depth": {"lo": 2, "high": 8}}}}, "search.spaces.random_forest.max_depth"),
        ({"trials": 0}, "search.trials: "),
        ({"cv_folds": 1}, "search.cv_folds: "),
    ],
    ids=[
        "unknown-family",
        "unknown-family-space",
        "unknown-key",
        "empty-range",
        "log-from-zero",
        "no-choices",
        "invalid-bound",
        "misspelt-bound",
        "no-trials",
        "one-fold",
    ],
)
def test_a_bad_search_names_its_key(raw_params: dict[str, Any], search: dict[str, Any], expected: str) -> None:
    message = error_for(edited(raw_params, with_search(**search)))
    assert message.startswith("invalid params: ") and expected in message, message


def test_a_search_space_overrides_the_defaults_key_by_key(raw_params: dict[str, Any]) -> None:
    spaces = {"hist_gradient_boosting": {"max_iter": {"low": 20, "high": 60}, "l2_regularization": {"choices": [0.0]}}}
    params = parse_params(edited(raw_params, with_search(spaces=spaces)))
    space = params.search.space("hist_gradient_boosting")
    assert space["max_iter"].bounds() == (20, 60) and space["max_iter"].integer
    assert space["l2_regularization"].bounds() == (0.0,)
    assert space["learning_rate"].bounds() == (0.01, 0.3) and space["learning_rate"].log  # a default kept
