"""Every path a stage reads or writes, relative to the repository root.

dvc.yaml names the same paths; `tests/unit/test_dvc_yaml.py` keeps the two in step.
"""

from pathlib import Path

PARAMS = Path("params.yaml")

RAW_DIR = Path("data/raw")
INTERIM_DIR = Path("data/interim")
FEATURES_DIR = Path("data/features")
EVALUATION_DIR = Path("data/evaluation")
MODELS_DIR = Path("models")
METRICS_DIR = Path("metrics")
PLOTS_DIR = METRICS_DIR / "plots"
REPORTS_DIR = Path("reports")
TRAIN_FIGURES_DIR = REPORTS_DIR / "train"
EVALUATE_FIGURES_DIR = REPORTS_DIR / "evaluate"

COLLECT_SUMMARY = METRICS_DIR / "collect.json"
INTERIM_TRAIN = INTERIM_DIR / "train.parquet"
INTERIM_TEST = INTERIM_DIR / "test.parquet"
INTERIM_ROLES = INTERIM_DIR / "roles.json"
PREPROCESS_REPORT = METRICS_DIR / "preprocess.json"
# DVC-cached, for reading: the counts are in PREPROCESS_REPORT, which git tracks
VALIDATION_REPORT = REPORTS_DIR / "validation.json"
VALIDATION_SUMMARY = REPORTS_DIR / "validation.md"

FEATURES_TRAIN = FEATURES_DIR / "train.parquet"
FEATURES_TEST = FEATURES_DIR / "test.parquet"
FEATURE_ROLES = FEATURES_DIR / "roles.json"
FEATURIZER = MODELS_DIR / "featurizer.joblib"

SEARCH_RESULT = METRICS_DIR / "search.json"
SEARCH_TRIALS = METRICS_DIR / "search_trials.json"  # not in plots/: evaluate owns that folder

MODEL = MODELS_DIR / "model.joblib"
TRAIN_METRICS = METRICS_DIR / "train.json"
TRAIN_LIVE_DIR = METRICS_DIR / "train_live"
LEARNING_CURVE = METRICS_DIR / "learning_curve.json"

EVALUATE_METRICS = METRICS_DIR / "evaluate.json"
# Every plot data file evaluate writes, whatever the task (dvc.yaml declares each, with its
# chart); a task writes `[]` or an empty table for the plots that do not apply to it.
PLOT_FILES = (
    "roc.json",
    "precision_recall.json",
    "calibration.json",
    "confusion.csv",
    "importance.json",
    "predictions.json",
    "residual_histogram.json",
)
SLICE_METRICS = METRICS_DIR / "slices.json"
TEST_PREDICTIONS = EVALUATION_DIR / "predictions.parquet"

PACKAGE_DIR = MODELS_DIR / "package"

# `python -m lifecycle monitor` (not a stage): the JSON in git, the report for people
MONITOR_METRICS = METRICS_DIR / "monitor.json"
MONITOR_REPORT_DIR = REPORTS_DIR / "monitor"
CHALLENGE_METRICS = METRICS_DIR / "challenge.json"
CHALLENGE_REPORT_DIR = REPORTS_DIR / "challenge"


def raw_table(source_name: str) -> Path:
    """Where collect writes the snapshot of one source."""
    return RAW_DIR / f"{source_name}.parquet"


def plot_data(name: str) -> Path:
    """A plot's data file, git-tracked so `dvc plots diff` compares revisions."""
    return PLOTS_DIR / name


def figure(name: str, folder: Path = EVALUATE_FIGURES_DIR) -> Path:
    """A matplotlib PNG for humans (DVC-cached, not in git)."""
    return folder / f"{name}.png"
