"""params.yaml -> typed, validated settings.

Every section is a pydantic model that forbids unknown keys, so a typo such as
`train.learning_rat` stops the pipeline with a message naming the key instead of
being silently ignored. Each stage reads only its own section (each stage declares exactly what it reads):
`load_params()` validates the whole file, but a stage asks for e.g. `.train` alone.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError, model_validator

from lifecycle.errors import LifecycleError
from lifecycle.paths import PARAMS
from lifecycle.tasks.names import TaskName, check_target_keys


class Strict(BaseModel):
    """Base for every settings block: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- engine (where collect, preprocess and featurize run) ---------------------------------

# A size as Dask writes it: a number and an optional unit, e.g. 2GB, 1.5GiB, 500MB.
_BYTES = r"^\d+(\.\d+)?\s*(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$"


class EngineSettings(Strict):
    """The data-frame engine of collect, preprocess and featurize.

    `pandas` (the default) holds each table in the stage's process and writes one Parquet
    file per output. `dask` runs the same steps partition by partition on a Dask cluster
    and writes each output as a folder of Parquet parts (same path, same rows and values):
    the cluster at `scheduler` (or at $DASK_SCHEDULER_ADDRESS when null), else a
    LocalCluster of `workers` processes, each paused and restarted by Dask above
    `memory_limit`. Where the work runs never changes a byte of the outputs; `name` and
    `partition_rows` decide their form (a file, or how many parts).
    """

    name: Literal["pandas", "dask"] = "pandas"
    scheduler: str | None = None
    workers: Annotated[int, Field(ge=1)] = 2
    memory_limit: Annotated[str, Field(pattern=_BYTES)] = "2GB"
    partition_rows: Annotated[int, Field(gt=0)] = 100_000


# --- sources (collect) --------------------------------------------------------------


def _require_date(text: str, key: str) -> None:
    """Refuse a date in params that pandas cannot read (a split's cutoff, a source's
    `known_before`), naming its key: both are read as `lifecycle.moments` reads them."""
    try:
        pd.Timestamp(text)
    except ValueError:
        raise ValueError(f"{key} {text!r} is not a date or date-time") from None


class KnownBefore(Strict):
    """Rows whose `column` is at or after `date` are not known yet: collect leaves them out.

    Why: a packaged table holds the whole year at once, while a deployed model only ever
    knew the months before it. Moving `date` month by month is how new data "arrives" in a
    table that never grows (the retraining loop, bench/loop.py). The comparison is the time
    split's: a date without a time zone is read in the column's zone.
    """

    column: str
    date: str

    @model_validator(mode="after")
    def _a_date(self) -> KnownBefore:
        _require_date(self.date, "known_before.date")
        return self


class TableSource(Strict):
    """What every source kind takes: a deterministic sample, and the rows known so far."""

    sample_rows: Annotated[int, Field(gt=0)] | None = None
    known_before: KnownBefore | None = None


class BuiltinSource(TableSource):
    """A table shipped inside an installed Python package (no download at run time)."""

    kind: Literal["builtin"]
    package: str
    table: str


_URL_SCHEMES = ("http://", "https://")


class CsvSource(TableSource):
    """A CSV file: a local path, or an http(s) URL downloaded into memory at collect time."""

    kind: Literal["csv"]
    path: str
    separator: str = ","
    encoding: str = "utf-8"
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0


class ParquetSource(TableSource):
    """A Parquet file: a local path or an http(s) URL (`timeout_seconds` bounds the download)."""

    kind: Literal["parquet"]
    path: str
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0


class JsonlSource(TableSource):
    """A JSON Lines file (one JSON object per line), local or http(s).

    The format many exports and log pipelines write; each object becomes one row and
    values keep their JSON types (dates stay text until `preprocess.dtypes` coerces them).
    """

    kind: Literal["jsonl"]
    path: str
    encoding: str = "utf-8"
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0


class SqlSource(TableSource):
    """A table or query of a database reachable through SQLAlchemy.

    `url` carries no credentials, so params.yaml (versioned in git) never holds a
    secret: the user name and password are read from the environment variables named by
    `user_env` and `password_env`. Exactly one of `table` (the whole table) or `query`
    (any SELECT, e.g. to filter or join in the database) says what to read.
    """

    kind: Literal["sql"]
    url: str
    table: str | None = None
    query: str | None = None
    user_env: str | None = None
    password_env: str | None = None

    @model_validator(mode="after")
    def _one_of_table_or_query_and_no_credentials(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("a sql source needs exactly one of `table` or `query`")
        netloc = urlsplit(self.url).netloc
        if "@" in netloc:
            raise ValueError(
                "a sql source's `url` must not contain credentials; name the environment "
                "variables holding them in `user_env` and `password_env`"
            )
        return self


class HttpApiSource(TableSource):
    """Records from a JSON HTTP API, fetched page by page.

    `records_path` is the dotted path to the list of records in each response body
    (unset: the body is the list). `pagination` follows the API: `page` sends
    `page_param` (from `start_page`) and `size_param`; `offset` sends `offset_param` and
    `size_param`; `next_link` follows the URL found at `next_link_path` in the body.
    Paging stops at the first empty page (or a missing next link); more than `max_pages`
    pages is an error rather than a silently truncated table. Server errors (5xx) and
    connection failures are retried `max_retries` times with exponential backoff from
    `backoff_seconds`, since such failures are often transient; client errors (4xx) are
    not, since repeating the same request cannot fix them.
    """

    kind: Literal["http_api"]
    url: str
    records_path: str | None = None
    pagination: Literal["none", "page", "offset", "next_link"] = "none"
    page_param: str = "page"
    size_param: str = "page_size"
    page_size: Annotated[int, Field(gt=0)] = 100
    start_page: Annotated[int, Field(ge=0)] = 1
    offset_param: str = "offset"
    next_link_path: str = "next"
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    max_retries: Annotated[int, Field(ge=0)] = 3
    backoff_seconds: Annotated[float, Field(ge=0)] = 1.0
    max_pages: Annotated[int, Field(gt=0)] = 1000

    @model_validator(mode="after")
    def _http_url(self) -> HttpApiSource:
        if not self.url.startswith(_URL_SCHEMES):
            raise ValueError("an http_api source's `url` must start with http:// or https://")
        return self


SourceSettings = Annotated[
    BuiltinSource | CsvSource | ParquetSource | JsonlSource | SqlSource | HttpApiSource,
    Field(discriminator="kind"),
]


class CollectSettings(Strict):
    """Options for the collect stage that are not tied to one source."""

    sample_seed: int = 0


# --- preprocess ---------------------------------------------------------------------


class JoinSettings(Strict):
    """A left/inner join of another source onto the base table."""

    source: str
    keys: list[str] = Field(min_length=1)
    how: Literal["left", "inner"] = "left"
    drop: list[str] = []
    unique: bool = True


class Timestamp(Strict):
    """A point in time: a datetime column plus minute offsets read from numeric columns."""

    column: str
    plus_minutes: list[str] = []


class ContextCount(Strict):
    """Number of rows sharing the same group, e.g. flights scheduled per airport and hour."""

    name: str
    kind: Literal["count"]
    group_by: list[str] = Field(min_length=1)


class ContextPastMean(Strict):
    """Mean of `value` over earlier rows of the group that were observed before the row's time.

    A row at time t sees the rows whose `event_time` lies in [t - lead - window, t - lead):
    strictly the past, so the feature is known when the prediction is made.
    """

    name: str
    kind: Literal["past_mean"]
    group_by: list[str] = Field(min_length=1)
    value: str
    event_time: Timestamp
    row_time: Timestamp
    lead_minutes: Annotated[int, Field(ge=0)] = 60
    window_minutes: Annotated[int, Field(gt=0)] = 120


ContextSettings = Annotated[ContextCount | ContextPastMean, Field(discriminator="kind")]


class TargetSettings(Strict):
    """Which column is the label, and what kind of problem it makes.

    With `threshold`, the label is `column > threshold` (binary). `task` unset: inferred
    from the target's values and stated in the log (see `lifecycle.preprocessing.roles.infer_task`).
    `positive_label` names the positive class of a binary target (a string or number);
    unset, it is 1 / true when the values are 0/1 or booleans, else the second of the two
    values in sorted order (logged, so a user sees which one it took).
    """

    column: str
    name: str = "target"
    threshold: float | None = None
    task: TaskName | None = None
    positive_label: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _binary_keys_only_for_binary(self) -> TargetSettings:
        check_target_keys(self.task, self.threshold, self.positive_label)
        return self


Role = Literal["numeric", "categorical", "boolean", "datetime", "text", "identifier", "constant", "drop"]


class RoleInferenceSettings(Strict):
    """How preprocess infers each column's role when `preprocess.roles` does not set it.

    identifier: a text or integer column whose values are (nearly) all distinct, such
    as an order number, or a text column where more than `identifier_rare_share` of the
    rows hold a value at most two rows share, such as an animal's tag seen once a year
    (a category it cannot learn, and mostly unseen when serving); text: a string column
    whose values average at least `text_min_words` words, such as a comment; both are
    dropped, since neither generalises as a category. `max_classes`: a numeric target with more distinct values
    than this is inferred to be a regression target.
    """

    identifier_unique_share: Annotated[float, Field(gt=0, le=1)] = 0.95
    identifier_rare_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    text_min_words: Annotated[float, Field(gt=0)] = 4.0
    max_classes: Annotated[int, Field(ge=2)] = 20


class SplitSettings(Strict):
    """How rows are split into train and test; the split comes before anything is fitted."""

    method: Literal["time", "random", "stratified"] = "time"
    time_column: str | None = None
    cutoff: str | None = None
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    seed: int = 0

    @model_validator(mode="after")
    def _time_split_needs_column_and_cutoff(self) -> SplitSettings:
        if self.method == "time" and (self.time_column is None or self.cutoff is None):
            raise ValueError("split.method 'time' needs split.time_column and split.cutoff")
        if self.cutoff is not None:
            _require_date(self.cutoff, "split.cutoff")
        return self


class PreprocessSettings(Strict):
    """Joins, type coercion, context features, target and split."""

    base: str
    joins: list[JoinSettings] = []
    # values that mean "missing" (pandas' `na_values`): a list for every column, or {column: [...]}
    na_values: list[str | int | float] | dict[str, list[str | int | float]] = []
    dtypes: dict[str, Literal["datetime", "float", "int", "string", "category", "bool"]] = {}
    context: list[ContextSettings] = []
    target: TargetSettings
    outcome_columns: list[str] = []
    roles: dict[str, Role] = {}
    role_inference: RoleInferenceSettings = RoleInferenceSettings()
    split: SplitSettings


# --- validation (read by preprocess, before anything is split or fitted) ------------------

Severity = Literal["error", "warning", "off"]
CheckName = Literal[
    "missing_column",
    "dtype",
    "mixed_types",
    "target_missing_values",
    "target_constant",
    "missing_values",
    "empty_column",
    "duplicates",
    "class_balance",
    "rare_class",
    "out_of_range",
    "unexpected_category",
    "leakage",
]


class ColumnExpectation(Strict):
    """What a user expects of one column; every key optional. Listing it makes it required."""

    kind: Literal["numeric", "categorical", "boolean", "datetime"] | None = None
    min: float | None = None
    max: float | None = None
    categories: list[str | int | float | bool] | None = None


class ValidationSettings(Strict):
    """Checks of the joined table, each reported with a severity: `error` stops the
    pipeline, `warning` is reported and the run continues, `off` skips the check.

    `severity` overrides the default of any check by name (see `lifecycle.validation`).
    """

    columns: dict[str, ColumnExpectation] = {}
    max_missing_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    max_duplicate_share: Annotated[float, Field(ge=0, le=1)] = 0.05
    min_class_share: Annotated[float, Field(ge=0, le=1)] = 0.01
    min_class_rows: Annotated[int, Field(ge=1)] = 10
    max_single_feature_score: Annotated[float, Field(gt=0, le=1)] = 0.98
    leakage_rows: Annotated[int, Field(ge=50)] = 5000
    seed: int = 0
    severity: dict[CheckName, Severity] = {}


# --- featurize ----------------------------------------------------------------------

DatetimePart = Literal["hour", "day_of_week", "day_of_year", "month", "day", "year", "minute"]


class DatetimeSettings(Strict):
    """Datetime columns become numeric parts, read in the given time zone."""

    parts: list[DatetimePart] = ["hour", "day_of_week", "month"]
    timezone: str | None = None


class DifferenceFeature(Strict):
    """A new numeric column `left - right`, e.g. plane age = flight year - build year."""

    name: str
    left: str
    right: str


class FeaturizeSettings(Strict):
    """How raw columns become model inputs; fitted on the train split only."""

    exclude: list[str] = []
    categorical_encoding: Literal["onehot", "ordinal"] = "onehot"
    max_categories: Annotated[int, Field(ge=2)] = 30
    min_frequency: Annotated[int, Field(ge=1)] = 10
    scale_numeric: bool = True
    numeric_imputation: Literal["median", "mean"] = "median"
    datetime: DatetimeSettings = DatetimeSettings()
    differences: list[DifferenceFeature] = []
    # The featurizer learns medians, scales and categories from a seeded sample of this many
    # train rows (null: all of them). A million rows pin those down as well as every row, and
    # under the dask engine only the sample is held in the stage's process.
    fit_max_rows: Annotated[int, Field(gt=0)] | None = 1_000_000
    seed: int = 0


# --- train --------------------------------------------------------------------------
# Defaults are scikit-learn's own wherever they suit a table of any size, so that a user's
# table of a few thousand rows learns without tuning; where a fixed number cannot suit
# every size (a tree's smallest leaf) it is a share of the rows. The default params.yaml
# sets its own values, tuned for 270,000 flights.


class LogisticRegressionParams(Strict):
    C: Annotated[float, Field(gt=0)] = 1.0
    max_iter: Annotated[int, Field(gt=0)] = 1000
    class_weight: Literal["balanced"] | None = None


# A leaf's smallest size: a number of rows, or a share of the training rows below 1.
LeafSize = Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0, lt=1)]


class DecisionTreeParams(Strict):
    max_depth: Annotated[int, Field(gt=0)] | None = 8
    min_samples_leaf: LeafSize = 0.01
    criterion: Literal["gini", "entropy", "log_loss"] = "gini"
    class_weight: Literal["balanced"] | None = None


class RandomForestParams(Strict):
    n_estimators: Annotated[int, Field(gt=0)] = 100
    max_depth: Annotated[int, Field(gt=0)] | None = None
    min_samples_leaf: LeafSize = 1
    max_features: float | Literal["sqrt", "log2"] = "sqrt"
    max_samples: Annotated[float, Field(gt=0, le=1)] | None = None
    class_weight: Literal["balanced", "balanced_subsample"] | None = None
    n_jobs: int = 2


class HistGradientBoostingParams(Strict):
    learning_rate: Annotated[float, Field(gt=0)] = 0.1
    max_iter: Annotated[int, Field(gt=0)] = 100
    max_leaf_nodes: Annotated[int, Field(ge=2)] | None = 31
    max_depth: Annotated[int, Field(gt=0)] | None = None
    min_samples_leaf: Annotated[int, Field(gt=0)] = 20
    l2_regularization: Annotated[float, Field(ge=0)] = 0.0
    max_bins: Annotated[int, Field(ge=2, le=255)] = 255
    early_stopping: Literal["auto"] | bool = "auto"  # auto: on above 10,000 training rows
    validation_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.1
    n_iter_no_change: Annotated[int, Field(gt=0)] = 10
    class_weight: Literal["balanced"] | None = None


class MlpParams(Strict):
    hidden_layer_sizes: list[Annotated[int, Field(gt=0)]] = [64, 32]
    alpha: Annotated[float, Field(ge=0)] = 1e-4
    learning_rate_init: Annotated[float, Field(gt=0)] = 1e-3
    batch_size: Annotated[int, Field(gt=0)] = 256
    max_iter: Annotated[int, Field(gt=0)] = 30
    early_stopping: bool = True
    validation_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.1
    n_iter_no_change: Annotated[int, Field(gt=0)] = 5


ModelFamily = Literal["logistic_regression", "decision_tree", "random_forest", "hist_gradient_boosting", "mlp"]


class ThresholdSettings(Strict):
    """How the decision threshold is chosen on out-of-fold validation predictions.

    `fixed` uses `value` as is; `max_f1` maximises F1; `min_precision` / `min_recall`
    take the threshold with the best recall / precision among those reaching `value`.
    """

    rule: Literal["fixed", "max_f1", "min_precision", "min_recall"] = "max_f1"
    value: Annotated[float, Field(gt=0, lt=1)] = 0.5


class LearningCurveSettings(Strict):
    """Train and validation score as the training set grows, on a sample of `rows`."""

    rows: Annotated[int, Field(ge=100)] = 20000
    fractions: list[Annotated[float, Field(gt=0, le=1)]] = Field(default=[0.1, 0.3, 1.0], min_length=2)


class TrainSettings(Strict):
    """The model family and every hyper-parameter of every family, plus CV and the seed.

    Cross-validation folds follow the split: time-ordered for a time split (each fold
    validates on rows later than its training rows), stratified k-fold otherwise.
    """

    model: ModelFamily = "hist_gradient_boosting"
    seed: int = 0
    # A seeded sample of this many train rows, kept in time order, is all that train
    # cross-validates and fits (null: every row): bounds the in-memory families' memory and
    # time on a table beyond one machine, at the accuracy the learning curve shows.
    max_rows: Annotated[int, Field(gt=0)] | None = None
    cv_folds: Annotated[int, Field(ge=2)] = 3
    calibration: Literal["none", "sigmoid", "isotonic"] = "none"
    decision_threshold: ThresholdSettings = ThresholdSettings()
    learning_curve: LearningCurveSettings = LearningCurveSettings()
    logistic_regression: LogisticRegressionParams = LogisticRegressionParams()
    decision_tree: DecisionTreeParams = DecisionTreeParams()
    random_forest: RandomForestParams = RandomForestParams()
    hist_gradient_boosting: HistGradientBoostingParams = HistGradientBoostingParams()
    mlp: MlpParams = MlpParams()

    def family_params(self, family: ModelFamily) -> Strict:
        """The hyper-parameters of one model family (`train.<family>`)."""
        return getattr(self, family)


# Each model family's hyper-parameters, by the family's params key.
FAMILY_PARAMS: dict[str, type[Strict]] = {
    name: TrainSettings.model_fields[name].annotation for name in typing.get_args(ModelFamily)
}


# --- search (model selection) -------------------------------------------------------

Choice = str | int | float | bool | None


class Range(Strict):
    """Sample between `low` and `high`: integers when both bounds are, log-uniformly with `log`."""

    low: int | float
    high: int | float
    log: bool = False

    @model_validator(mode="after")
    def _not_empty(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")
        return self

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def bounds(self) -> tuple[int | float, int | float]:
        return self.low, self.high


class Choices(Strict):
    """Sample one of `choices`."""

    choices: list[Choice] = Field(min_length=1)

    def bounds(self) -> tuple[Choice, ...]:
        return tuple(self.choices)


def _dimension_kind(value: object) -> str:
    return "choices" if (isinstance(value, dict) and "choices" in value) or isinstance(value, Choices) else "range"


# One dimension of a search space: `{low, high, log}` or `{choices}`.
Dimension = Annotated[
    Annotated[Range, Tag("range")] | Annotated[Choices, Tag("choices")], Discriminator(_dimension_kind)
]

# What the search varies when params name no space for a family: the hyper-parameters that
# decide how much each family fits, around scikit-learn's defaults.
DEFAULT_SPACES: dict[str, dict[str, Dimension]] = {
    "logistic_regression": {"C": Range(low=0.001, high=100.0, log=True)},
    "decision_tree": {"max_depth": Range(low=2, high=16), "min_samples_leaf": Range(low=1, high=100, log=True)},
    "random_forest": {
        "max_features": Choices(choices=["sqrt", 0.3, 0.6, 1.0]),
        "min_samples_leaf": Range(low=1, high=20, log=True),
    },
    "hist_gradient_boosting": {
        "learning_rate": Range(low=0.01, high=0.3, log=True),
        "max_iter": Range(low=50, high=500, log=True),
        "max_leaf_nodes": Range(low=7, high=127, log=True),
        "min_samples_leaf": Range(low=5, high=200, log=True),
        "l2_regularization": Choices(choices=[0.0, 0.001, 0.01, 0.1, 1.0, 10.0]),  # 0: the default
    },
    "mlp": {
        "alpha": Range(low=0.000001, high=0.1, log=True),
        "learning_rate_init": Range(low=0.0001, high=0.01, log=True),
    },
}


class SearchSettings(Strict):
    """Model selection: a seeded search across model families and their hyper-parameters,
    each trial scored by cross-validation on the train split, with folds of the train
    stage's kind (time-ordered for a time split, stratified otherwise).

    `trials` is the budget (a count, so two runs give the same result); `spaces` overrides
    a family's ranges key by key over `DEFAULT_SPACES` (`{choices: [v]}` pins a key); keys
    no space varies keep their defaults. The search reads only this section, so changing
    `train` never reruns it; with the search on, train fits its choice, and `train.model`
    and `train.<family>` are not read. With `pruning`, a trial whose first folds score
    below the median of earlier trials stops early.
    """

    enabled: bool = False
    trials: Annotated[int, Field(gt=0)] = 40
    cv_folds: Annotated[int, Field(ge=2)] = 3
    families: list[ModelFamily] = Field(
        default=["logistic_regression", "random_forest", "hist_gradient_boosting"], min_length=1
    )
    spaces: dict[ModelFamily, dict[str, Dimension]] = {}
    pruning: bool = True
    seed: int = 0
    # Trials cross-validate on a seeded sample of this many train rows, kept in the split's
    # order (null: all); train then fits the choice on every row. Families and their
    # hyper-parameters rank the same long before a large table's last row, and 40 trials
    # of 3 folds each over millions of rows would take hours.
    max_rows: Annotated[int, Field(gt=0)] | None = 300_000

    @model_validator(mode="after")
    def _known_keys_with_valid_values(self) -> SearchSettings:
        for family, space in self.spaces.items():
            params = FAMILY_PARAMS[family]
            for key, dimension in space.items():
                if key not in params.model_fields:
                    raise ValueError(
                        f"search.spaces.{family}: unknown hyper-parameter {key!r}; "
                        f"train.{family} has {sorted(params.model_fields)}"
                    )
                for value in dimension.bounds():
                    try:
                        params.model_validate({key: value})
                    except ValidationError as error:
                        raise ValueError(
                            f"search.spaces.{family}.{key}: {value!r} is not a valid value ({error.errors()[0]['msg']})"
                        ) from None
        return self

    def space(self, family: ModelFamily) -> dict[str, Dimension]:
        """The ranges a family's trials sample: the defaults, overridden key by key."""
        return {**DEFAULT_SPACES[family], **self.spaces.get(family, {})}


# --- evaluate / package -------------------------------------------------------------


class DiagnosisSettings(Strict):
    """Thresholds of the fit verdict, on the `metric` (a higher-is-better score; null picks
    the task's default).

    underfit: the model scores below `underfit_below` even on its own training folds;
    overfit: training folds beat validation folds by more than `overfit_gap`.
    """

    metric: str | None = None  # null: roc_auc / roc_auc_ovr / r2 by task (lifecycle.tasks)
    underfit_below: Annotated[float, Field(gt=0, le=1)] = 0.65
    overfit_gap: Annotated[float, Field(gt=0, le=1)] = 0.05


class SliceSettings(Strict):
    """Per-category metrics, so a reviewer sees where the model fails."""

    columns: list[str] = []
    min_rows: Annotated[int, Field(ge=1)] = 100
    worst: Annotated[int, Field(ge=1)] = 5


class EvaluateSettings(Strict):
    """Test-set evaluation: diagnosis, slices, and the size of the plots and importance."""

    diagnosis: DiagnosisSettings = DiagnosisSettings()
    slices: SliceSettings = SliceSettings()
    curve_points: Annotated[int, Field(ge=10)] = 200
    calibration_bins: Annotated[int, Field(ge=2)] = 10
    importance_rows: Annotated[int, Field(gt=0)] = 5000
    importance_repeats: Annotated[int, Field(gt=0)] = 3
    seed: int = 0


class PackageSettings(Strict):
    """What the packaged model does with rows unlike anything seen in training, and the
    reference profile it carries for monitoring: a seeded sample of `reference_rows` training
    rows (drift tests switch from p-values to distances above `monitor.drift.small_reference_rows`)."""

    unknown_category: Literal["reject", "accept"] = "reject"
    reference_rows: Annotated[int, Field(gt=0)] = 5000
    reference_seed: int = 0
    # model.onnx, the portable model (lifecycle.packaging.onnx_graph), for pipelines of the
    # compiled shape; refused when a test row's score differs from the pipeline's by more
    # than onnx_tolerance x max(1, |score|)
    onnx: bool = True
    onnx_tolerance: Annotated[float, Field(ge=0)] = 1e-9


class ReportSettings(Strict):
    """The pull-request review report and its gate (not a pipeline stage)."""

    main_metric: str | None = None  # null: the task's default (lifecycle.tasks)
    tolerance: Annotated[float, Field(ge=0)] = 0.005
    allow_overfit: bool = False  # a change that makes the fit verdict overfit fails unless true
    slice_min_rows: Annotated[int, Field(ge=1)] = 500  # slices this large are checked for regressions
    slice_tolerance: Annotated[float, Field(ge=0)] = 0.02  # a larger drop of the slice metric is listed
    base_branch: str = "main"


# --- challenge (not a pipeline section: `python -m lifecycle challenge` reads it) ----------


class MetricThreshold(Strict):
    """When a challenger's metric passes, as MLflow's `MetricThreshold` says: at least
    `threshold` (at most, where lower is better), and better than the champion's by at least
    `min_absolute_change` and by `min_relative_change` of it. Unset: not checked."""

    greater_is_better: bool | None = None  # null: known from the metric's name (lifecycle.review)
    threshold: float | None = None
    min_absolute_change: Annotated[float, Field(ge=0)] | None = None
    min_relative_change: Annotated[float, Field(ge=0, le=1)] | None = None


class ChallengeSettings(Strict):
    """Champion against challenger on one holdout: the decision by `metrics` (null: the task's
    main metric, no worse than the champion's), and no slice of at least `slice_min_rows`
    holdout rows worse by more than `slice_tolerance`; bootstrap intervals as the monitor's."""

    holdout: str = "data/interim/test.parquet"  # labelled rows, both models scored on them
    metrics: dict[str, MetricThreshold] | None = None
    slice_min_rows: Annotated[int, Field(ge=1)] = 500
    slice_tolerance: Annotated[float, Field(ge=0)] = 0.02
    bootstrap: Annotated[int, Field(ge=10)] = 200
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    seed: int = 0


# --- monitor (not a pipeline section: `python -m lifecycle monitor` reads it) --------------


class DriftSettings(Strict):
    """Input and prediction drift, by Evidently 0.7's default rules (lifecycle.monitoring.drift):
    with at most `small_reference_rows` reference values a test (drift when p < `p_value`),
    above a distance (drift when it reaches `distance`); the dataset drifts when the share of
    drifted columns reaches `dataset_share`. `expected` columns drift by design (calendar
    columns under a time split): reported, never counted nor alerted on."""

    small_reference_rows: Annotated[int, Field(ge=1)] = 1000
    p_value: Annotated[float, Field(gt=0, lt=1)] = 0.05
    distance: Annotated[float, Field(gt=0)] = 0.1
    dataset_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    expected: list[str] = []
    # unusual drift (lifecycle.monitoring.unusual): a column whose PSI against the `history`
    # windows before reaches `unusual_psi` and `unusual_factor` times their PSI to one another
    history: Annotated[int, Field(ge=0)] = 4
    unusual_factor: Annotated[float, Field(gt=1)] = 5.0
    unusual_psi: Annotated[float, Field(gt=0)] = 0.25


class AlertSettings(Strict):
    """When the monitor exits 1 (an alert). Performance is judged only on at least
    `min_labelled_rows` labelled rows; fewer is reported, not alarmed."""

    dataset_drift: bool = True
    columns: list[str] = []  # a drift of any of these columns alerts, even without dataset drift
    unusual_drift: bool = True  # a column drifted far beyond its own past (a broken input?)
    prediction_drift: bool = False
    metric_drop: Annotated[float, Field(ge=0)] = 0.05  # main metric below test by more than this
    slice_drop: Annotated[float, Field(ge=0)] = 0.1  # a slice below the same slice on test by more than this
    min_labelled_rows: Annotated[int, Field(ge=1)] = 200


class MonitorSettings(Strict):
    """`python -m lifecycle monitor`: drift, live performance with bootstrap intervals per
    `window` and per slice (evaluate.slices.columns, slices of at least `slice_min_rows`
    labelled rows), and alerts."""

    drift: DriftSettings = DriftSettings()
    alerts: AlertSettings = AlertSettings()
    # what drift compares the window with: the training sample in the bundle, or the log's
    # window of the same length just before (for data that drifts with the season by design)
    reference: Literal["training", "previous_window"] = "training"
    metric: str | None = None  # null: the task's default (roc_auc for a binary task)
    window: Literal["day", "week"] = "week"
    bootstrap: Annotated[int, Field(ge=10)] = 200
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    slice_min_rows: Annotated[int, Field(ge=1)] = 100
    seed: int = 0


# --- serve (not a pipeline section: changing it never changes the packaged model) --------


class PredictionLogSettings(Strict):
    """Where and how the server logs every prediction and stores late labels (the input to
    monitoring)."""

    url: str = "sqlite:///logs/predictions.sqlite"
    table: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "predictions"
    # late labels (POST /feedback, `python -m lifecycle labels`), in the same database
    labels_table: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "labels"
    # prediction requests answered 4xx (nothing scored), for the monitor to count per window
    rejected_table: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "rejected_requests"
    # input columns that identify an entity, for labels sent without the request id (by key,
    # stored in `<labels_table>_by_key`); empty: labels by request id only
    labels_key: list[str] = []
    batch_rows: Annotated[int, Field(gt=0)] = 1000
    flush_seconds: Annotated[float, Field(gt=0)] = 0.2

    @model_validator(mode="after")
    def _distinct_key_columns(self) -> PredictionLogSettings:
        repeated = sorted({c for c in self.labels_key if self.labels_key.count(c) > 1})
        if repeated:
            raise ValueError(f"labels_key names {repeated} more than once")
        return self


# What sums the compiled path's trees: the bundle's model.onnx through onnxruntime, or
# scikit-learn's own tree predictors (lifecycle.serving.onnx_path, fast_path).
Engine = Literal["fast_path", "onnx"]


class RegistryRef(Strict):
    """The registry's name for the served bundle: set by `serve --stage` / `--rev` (never in
    params.yaml), answered by /metadata. `version` and `stage` are None for a revision that
    no registered version names."""

    artifact: str
    version: str | None = None
    stage: str | None = None
    commit: str


class ServeSettings(Strict):
    """The HTTP service: address, request limits, unknown-category policy, prediction log."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    max_rows: Annotated[int, Field(gt=0)] = 1000
    max_body_bytes: Annotated[int, Field(gt=0)] = 2_000_000
    unknown_category: Literal["reject", "accept"] | None = None
    fast_path: bool = True
    engine: Engine = "onnx"
    # uvicorn worker processes, each a whole service with its own prediction log writer
    workers: Annotated[int, Field(ge=1)] = 1
    log: PredictionLogSettings = PredictionLogSettings()
    registry: RegistryRef | None = None  # set by `serve --stage` / `--rev`, not a params key
    # a challenger's bundle folder scored beside the served one on every request, off the
    # request path; its answers are logged under its version (lifecycle.serving.shadow)
    shadow: str | None = None


# The sections the pipeline's stages read; the package stage records (and depends on) all of them.
PIPELINE_SECTIONS = (
    "sources",
    "collect",
    "preprocess",
    "validation",
    "featurize",
    "search",
    "train",
    "evaluate",
    "package",
)


class Params(Strict):
    """The whole params.yaml."""

    sources: dict[str, SourceSettings] = Field(min_length=1)
    engine: EngineSettings = EngineSettings()
    collect: CollectSettings = CollectSettings()
    preprocess: PreprocessSettings
    validation: ValidationSettings = ValidationSettings()
    featurize: FeaturizeSettings = FeaturizeSettings()
    search: SearchSettings = SearchSettings()
    train: TrainSettings = TrainSettings()
    evaluate: EvaluateSettings = EvaluateSettings()
    package: PackageSettings = PackageSettings()
    serve: ServeSettings = ServeSettings()
    report: ReportSettings = ReportSettings()
    monitor: MonitorSettings = MonitorSettings()
    challenge: ChallengeSettings = ChallengeSettings()

    @model_validator(mode="after")
    def _sources_referenced_exist(self) -> Params:
        known = set(self.sources)
        named = [self.preprocess.base, *(join.source for join in self.preprocess.joins)]
        for name in named:
            if name not in known:
                raise ValueError(f"preprocess refers to source {name!r}, but sources defines only {sorted(known)}")
        return self


# Pydantic puts the tag of a discriminated union (a source's or context's `kind`) into
# an error's location; the user never wrote it as a key, so messages leave it out. The tag
# ends the location only for a whole-model check (a value error such as "exactly one of").
_UNION_TAGS = {"builtin", "csv", "parquet", "jsonl", "sql", "http_api", "count", "past_mean", "range", "choices"}


def _describe(error: ValidationError) -> str:
    """One line per problem, each naming the dotted params key as the user wrote it."""
    lines = []
    for item in error.errors():
        # "[key]" marks a bad mapping key (an unknown family under search.spaces): the key is named already
        parts = [str(p) for p in item["loc"] if not str(p).startswith("function-") and p != "[key]"]
        last = len(parts) - 1 if item["type"] != "value_error" else len(parts)
        key = ".".join(p for i, p in enumerate(parts) if not (p in _UNION_TAGS and 0 < i < last))
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against params.yaml's documented keys)"
        lines.append(f"{key or '<root>'}: {message}")
    return "; ".join(lines)


def parse_params(raw: object) -> Params:
    """Validate an already-parsed params mapping, raising `LifecycleError` naming each bad key."""
    if not isinstance(raw, dict):
        raise LifecycleError("params must be a mapping of sections (sources, preprocess, ...)")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise LifecycleError(f"invalid params: {_describe(error)}") from None


_SOURCE: TypeAdapter[SourceSettings] = TypeAdapter(SourceSettings)


def parse_source(raw: object, where: str) -> SourceSettings:
    """One source block as `sources:` takes it (a labels source given on the command line),
    raising `LifecycleError` naming each bad key."""
    try:
        return _SOURCE.validate_python(raw)
    except ValidationError as error:
        raise LifecycleError(f"{where}: {_describe(error)}") from None


def load_params(path: Path = PARAMS) -> Params:
    """Read and validate params.yaml."""
    if not path.is_file():
        raise LifecycleError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LifecycleError(f"{path} is not valid YAML: {error}") from None
    return parse_params(raw)
