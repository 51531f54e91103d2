"""The model card speaks of the bundle's own task and data, never of another's."""

from __future__ import annotations

import copy

from lifecycle.packaging.bundle import load_bundle
from lifecycle.packaging.card import model_card
from tests.support.serving import TaskBundle


def _card(bundle: TaskBundle, **target: str) -> str:
    loaded = load_bundle(bundle.path)
    params = copy.deepcopy(loaded.metadata.params)
    params["preprocess"]["target"].update(target)
    return model_card(loaded.metadata.model_copy(update={"params": params}), loaded.schema)


def test_a_regression_card_has_no_classification_or_flights_words(regression_bundle: TaskBundle) -> None:
    card = (regression_bundle.path / "MODEL_CARD.md").read_text()
    assert "regressor (regression)" in card
    assert "point estimates with no interval" in card
    assert "calibrat" not in card and "delay" not in card and "congestion" not in card
    assert "never used as features" not in card  # no outcome columns declared: no empty sentence
    assert "Context columns" not in card and "context columns" not in card


def test_a_multiclass_card_does_not_point_at_a_calibration_plot(multiclass_bundle: TaskBundle) -> None:
    card = (multiclass_bundle.path / "MODEL_CARD.md").read_text()
    assert "not checked for calibration" in card and "calibration plot shows" not in card


def test_the_title_is_the_label_name_or_else_its_column(multiclass_bundle: TaskBundle) -> None:
    assert _card(multiclass_bundle).startswith("# Model card: label\n")  # params name it `label`
    assert _card(multiclass_bundle, name="target").startswith("# Model card: cultivar\n")
