"""Fit diagnosis: is the model underfit, overfit or a good fit, and on what evidence."""

from __future__ import annotations

from collections.abc import Sequence

from lifecycle.config import DiagnosisSettings


def diagnose_fit(
    train_score: float,
    validation_score: float,
    test_score: float,
    settings: DiagnosisSettings,
    warnings: Sequence[str] = (),
) -> dict[str, object]:
    """A named verdict with the numbers and thresholds that led to it.

    Training and validation scores are the cross-validation means (same fold sizes, so
    their gap measures memorisation, not data volume). A low training score is underfit
    whatever the gap: the model cannot even describe the data it sees. The test score
    is reported beside them: a test far below validation points at drift, not fit.
    `warnings` are train's reasons the model may be unable to learn (params to change): the
    diagnosis repeats them, since they explain an underfit verdict.
    """
    gap = round(train_score - validation_score, 9)  # a gap equal to the threshold is not over it
    if train_score < settings.underfit_below:
        verdict = "underfit"
    elif gap > settings.overfit_gap:
        verdict = "overfit"
    else:
        verdict = "good fit"
    return {
        "verdict": verdict,
        "metric": settings.metric,
        "train": round(train_score, 6),
        "validation": round(validation_score, 6),
        "test": round(test_score, 6),
        "train_validation_gap": round(gap, 6),
        "validation_test_gap": round(validation_score - test_score, 6),
        "underfit_below": settings.underfit_below,
        "overfit_gap": settings.overfit_gap,
        "warnings": list(warnings),
    }
