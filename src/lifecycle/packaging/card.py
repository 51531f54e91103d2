"""The model card: a Markdown page a person reads before deploying the model."""

from __future__ import annotations

from typing import Any

from lifecycle.artifacts import BundleMetadata
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
    lines = [
        f"# Model card: {target['name']}",
        "",
        f"Model version `{metadata.model_version}`, a `{params['train']['model']}` "
        f"{task.estimator_noun} ({task.name}).",
        "",
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
        "Outcome columns never used as features: "
        + ", ".join(f"`{c}`" for c in params["preprocess"]["outcome_columns"])
        + ".",
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
        "- Probabilities are as calibrated as the calibration plot shows; check it before "
        "treating them as frequencies.",
        "- Context columns (recent delays, congestion) must be computed by the caller exactly "
        "as preprocess computes them, from the past only.",
        "",
    ]
    return "\n".join(lines)
