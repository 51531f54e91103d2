"""The model card: a Markdown page a person reads before deploying the model."""

from __future__ import annotations

from typing import Any

from lifecycle.artifacts import BundleMetadata
from lifecycle.config import TargetSettings
from lifecycle.tasks.registry import task_named


def model_card(metadata: BundleMetadata, schema: dict[str, Any]) -> str:
    """Render data, intended use, metrics, inputs and limitations from the bundle's metadata."""
    params = metadata.params
    target = params["preprocess"]["target"]
    split = params["preprocess"]["split"]
    test = metadata.metrics.test
    cv = metadata.metrics.cross_validation
    label = (
        f"`{target['column']} > {target['threshold']:g}`"
        if target["threshold"] is not None
        else f"`{target['column']}`"
    )
    sources = ", ".join(f"`{name}` ({s['kind']})" for name, s in params["sources"].items())
    task = task_named(metadata.task)
    family = metadata.model.family if metadata.model else params["train"]["model"]
    outcomes = params["preprocess"].get("outcome_columns", [])
    context = [feature["name"] for feature in params["preprocess"].get("context", [])]
    lines = [
        f"# Model card: {_title(target)}",
        "",
        f"Model version `{metadata.model_version}`, a `{family}` {task.estimator_noun} ({task.name}).",
        "",
        *_model_section(metadata),
        "## Intended use",
        "",
        task.intended_use(label, metadata.classes or [], metadata.threshold),
        "It is a decision aid learned from historical data, not a guarantee; review it "
        "before use in any automated decision.",
        "",
        "## Data",
        "",
        f"Sources: {sources}; base table `{params['preprocess']['base']}`.",
        f"Split: {split['method']}"
        + (
            f" at `{split['time_column']}` = {split['cutoff']} (train before, test from)"
            if split["method"] == "time"
            else ""
        )
        + f"; {metadata.rows['train']:,} train rows, {metadata.rows['test']:,} test rows.",
        *([f"Outcome columns never used as features: {_listed(outcomes)}."] if outcomes else []),
        "",
        "## Metrics",
        "",
        "| metric | test | cross-validation (train split) |",
        "| --- | --- | --- |",
    ]
    for name in task.headline_metrics:
        fold = cv.get(f"validation_{name}")
        fold_text = f"{fold.mean:.4f} ± {fold.std:.4f}" if fold else "n/a"
        lines.append(f"| {name} | {test[name]:.4f} | {fold_text} |")
    lines += ["", "## Inputs", "", "| column | kind | missing allowed |", "| --- | --- | --- |"]
    for column in schema["columns"]:
        lines.append(f"| `{column['name']}` | {column['kind']} | {'yes' if column['nullable'] else 'no'} |")
    lines += [
        "",
        "## Limitations",
        "",
        "- Trained on the period and population of the training data; behaviour outside it "
        "(new categories, values outside the training ranges in schema.json) is unvalidated.",
        f"- Categories never seen in training are handled by the `{metadata.unknown_category}` policy.",
        f"- {task.reliability_note}",
        *(
            [
                f"- The context columns {_listed(context)} must be computed by the caller exactly "
                "as preprocess computes them, from the past only."
            ]
            if context
            else []
        ),
        "",
    ]
    return "\n".join(lines)


def _title(target: dict[str, Any]) -> str:
    """The label's own name when params give one, else the column it comes from (the default
    name, `target`, is the pipeline's internal column and says nothing to a reader)."""
    named = target["name"] != TargetSettings.model_fields["name"].default
    return target["name"] if named else target["column"]


def _listed(columns: list[str]) -> str:
    return ", ".join(f"`{column}`" for column in columns)


def _short(value: object) -> object:
    """A float to four significant digits (a search samples `C=0.44103656679709863`); the
    bundle's metadata.json keeps the exact value."""
    return f"{value:.4g}" if isinstance(value, float) else value


def _model_section(metadata: BundleMetadata) -> list[str]:
    """The fitted family's hyper-parameters, and whether a search or params.yaml chose them."""
    if metadata.model is None:
        return []
    if metadata.chosen_by == "search":
        search = metadata.params.get("search", {})
        origin = (
            f"Chosen by model selection: {search.get('trials')} trials over {', '.join(search.get('families', []))}, "
            "scored by cross-validation on the train split."
        )
    else:
        origin = "Set in params.yaml (`train`)."
    shown = ", ".join(f"`{key}={_short(value)}`" for key, value in sorted(metadata.model.params.items()))
    return ["## Model", "", f"Family: `{metadata.model.family}`. {origin}", "", f"Hyper-parameters: {shown}.", ""]
