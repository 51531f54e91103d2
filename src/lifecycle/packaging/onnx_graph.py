"""The fitted pipeline as an ONNX graph: the bundle's portable model (`model.onnx`).

Why not skl2onnx: its converter for scikit-learn 1.9's HistGradientBoosting fails (it
hands ONNX a Python boolean as the leaves' `nodes_missing_value_tracks_true`), and once that
is cast it still reads every split as `x <= threshold` in float32: it ignores categorical
splits (bitsets of categories) and the model's own categorical encoder, which puts the
categorical columns first. On the flights test split that converted model disagrees with
the pipeline by up to 0.80 in probability and flips two thirds of the decisions.

So the graph is built here from the tables the service's compiled path reads
(`lifecycle.serving.fast_path`), which are proven equal to the pipeline:

- inputs are the columns the `ColumnTransformer` receives: `numeric` (float64, one column
  per numeric feature, NaN for missing) and `categorical` (strings, `MISSING_CATEGORY` for
  missing). The project's own steps before it (difference features, datetime parts in a
  time zone) are not ONNX operators and run in the caller (`onnx_check.onnx_inputs`);
- numbers are imputed and standardised in float64, as the fitted imputer and scaler do;
- each category maps through a `LabelEncoder` to the code the model's trees read;
- the trees are one `TreeEnsemble` (ai.onnx.ml opset 5) in float64, categorical splits as
  set membership, missing values sent where scikit-learn sends them, the baseline as a
  first one-leaf tree so the sum runs in scikit-learn's order;
- the model's link function (sigmoid, softmax, exp or identity) gives the output `scores`:
  what `FastPath.scores` gives. onnxruntime's sigmoid and softmax may round the last bit
  differently from scikit-learn's; the output `raw` (the sums before the link) equals
  scikit-learn's bit for bit, so the service applies the model's own link to it
  (`lifecycle.serving.onnx_path`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.compose import ColumnTransformer
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.pipeline import Pipeline

from lifecycle.errors import LifecycleError
from lifecycle.featurization.transformers import MISSING_CATEGORY
from lifecycle.serving.fast_path import UNSEEN_CATEGORY, FastPath, compile_fast_path

OPSETS = {"": 21, "ai.onnx.ml": 5}
NUMERIC_INPUT = "numeric"
CATEGORICAL_INPUT = "categorical"
OUTPUT = "scores"
RAW_OUTPUT = "raw"  # the trees' sums before the link, for callers that apply the model's own link

_BRANCH_LEQ = 0
_BRANCH_MEMBER = 6
_LINKS = {"LogitLink": "Sigmoid", "MultinomialLogit": "Softmax", "LogLink": "Exp", "IdentityLink": None}


@dataclass
class _Ensemble:
    """The attributes of one TreeEnsemble node, filled tree by tree."""

    roots: list[int] = field(default_factory=list)
    features: list[int] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    splits: list[float] = field(default_factory=list)
    true_ids: list[int] = field(default_factory=list)
    true_leafs: list[int] = field(default_factory=list)
    false_ids: list[int] = field(default_factory=list)
    false_leafs: list[int] = field(default_factory=list)
    missing_true: list[int] = field(default_factory=list)
    members: list[float] = field(default_factory=list)
    leaf_targets: list[int] = field(default_factory=list)
    leaf_weights: list[float] = field(default_factory=list)

    def leaf(self, target: int, weight: float) -> int:
        self.leaf_targets.append(target)
        self.leaf_weights.append(float(weight))
        return len(self.leaf_weights) - 1

    def branch(self, feature: int, mode: int, split: float, missing_left: bool, members: list[float]) -> int:
        self.features.append(feature)
        self.modes.append(mode)
        self.splits.append(split)
        self.missing_true.append(int(missing_left))
        if mode == _BRANCH_MEMBER:
            self.members.extend([*members, np.nan])
        for column in (self.true_ids, self.true_leafs, self.false_ids, self.false_leafs):
            column.append(0)
        return len(self.features) - 1

    def constant_tree(self, target: int, weight: float) -> None:
        """A tree of one leaf (ONNX trees start at a branch: both sides reach the leaf)."""
        leaf = self.leaf(target, weight)
        node = self.branch(0, _BRANCH_LEQ, 0.0, False, [])
        self.true_ids[node], self.false_ids[node] = leaf, leaf
        self.true_leafs[node], self.false_leafs[node] = 1, 1
        self.roots.append(node)

    def node(self, n_targets: int) -> onnx.NodeProto:
        def tensor(values: list[float], dtype: type) -> onnx.TensorProto:
            return numpy_helper.from_array(np.asarray(values, dtype=dtype))

        attributes = {"membership_values": tensor(self.members, np.float64)} if self.members else {}
        return helper.make_node(
            "TreeEnsemble",
            ["model_input"],
            [RAW_OUTPUT],
            domain="ai.onnx.ml",
            aggregate_function=1,  # SUM
            post_transform=0,  # NONE: the link function is a node of its own
            n_targets=n_targets,
            tree_roots=self.roots,
            nodes_featureids=self.features,
            nodes_modes=tensor(self.modes, np.uint8),
            nodes_splits=tensor(self.splits, np.float64),
            nodes_truenodeids=self.true_ids,
            nodes_trueleafs=self.true_leafs,
            nodes_falsenodeids=self.false_ids,
            nodes_falseleafs=self.false_leafs,
            nodes_missing_value_tracks_true=self.missing_true,
            leaf_targetids=self.leaf_targets,
            leaf_weights=tensor(self.leaf_weights, np.float64),
            **attributes,
        )


def _in_bitset(bitsets: np.ndarray, row: int, value: int) -> bool:
    return bool((int(bitsets[row, value // 32]) >> (value % 32)) & 1)


def _left_categories(node: np.void, values: list[float], left_bitsets: np.ndarray, path: FastPath) -> list[float]:
    """The codes (never NaN: NaN takes nodes_missing_value_tracks_true) a categorical split
    sends left, decided as scikit-learn's predictor decides them (`_predict_one_from_raw_data`):
    negative or unknown codes follow the missing values."""
    known, index_map = path.bitsets
    missing_left = bool(node["missing_go_to_left"])
    left = []
    for value in values:
        if value < 0:
            goes_left = missing_left
        elif value > 255:
            raise LifecycleError(f"ONNX export: category code {value} beyond the 256 a tree can split on")
        elif _in_bitset(left_bitsets, int(node["bitset_idx"]), int(value)):
            goes_left = True
        elif _in_bitset(known, int(index_map[node["feature_idx"]]), int(value)):
            goes_left = False
        else:
            goes_left = missing_left
        if goes_left:
            left.append(value)
    return left


Codes = dict[int, list[float]]  # model column -> every code the graph can feed it


def _add_tree(ensemble: _Ensemble, predictor: TreePredictor, target: int, codes: Codes, path: FastPath) -> None:
    nodes = predictor.nodes
    if nodes[0]["is_leaf"]:
        ensemble.constant_tree(target, nodes[0]["value"])
        return

    def visit(index: int) -> tuple[int, int]:
        """(position, 1 if a leaf else 0) of the tree node `index` in the ensemble's arrays."""
        node = nodes[index]
        if node["is_leaf"]:
            return ensemble.leaf(target, node["value"]), 1
        feature, missing_left = int(node["feature_idx"]), bool(node["missing_go_to_left"])
        if node["is_categorical"]:
            left = _left_categories(node, codes[feature], predictor.raw_left_cat_bitsets, path)
            # An empty set: every code goes right, as `x <= -inf` sends it.
            mode, split = (_BRANCH_MEMBER, 0.0) if left else (_BRANCH_LEQ, -np.inf)
        else:
            left, mode, split = [], _BRANCH_LEQ, float(node["num_threshold"])
        position = ensemble.branch(feature, mode, split, missing_left, left)
        ensemble.true_ids[position], ensemble.true_leafs[position] = visit(int(node["left"]))
        ensemble.false_ids[position], ensemble.false_leafs[position] = visit(int(node["right"]))
        return position, 0

    ensemble.roots.append(visit(0)[0])


def _tree_ensemble(path: FastPath) -> onnx.NodeProto:
    """Every tree of the model, after one constant tree per output holding the baseline."""
    model = path.model
    codes: Codes = {}
    for slot, position in enumerate(path.categorical_positions):
        column = int(np.flatnonzero(path.model_order == position)[0])
        codes[column] = sorted({v for v in path.categorical_codes[slot].values() if not np.isnan(v)})
    ensemble = _Ensemble()
    for target, baseline in enumerate(np.ravel(model._baseline_prediction)):
        ensemble.constant_tree(target, baseline)
    for trees in model._predictors:
        for target, predictor in enumerate(trees):
            _add_tree(ensemble, predictor, target, codes, path)
    return ensemble.node(model.n_trees_per_iteration_)


def _constant(name: str, values: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(values, name=name)


def _numeric_nodes(path: FastPath) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """numeric -> imputed (fitted statistics) -> minus mean -> divided by scale, in float64."""
    block = path.numeric
    nodes = [
        helper.make_node("IsNaN", [NUMERIC_INPUT], ["numeric_missing"]),
        helper.make_node("Where", ["numeric_missing", "numeric_fill", NUMERIC_INPUT], ["numeric_imputed"]),
    ]
    constants = [_constant("numeric_fill", block.fill.astype(np.float64))]
    current = "numeric_imputed"
    for step, values in (("Sub", block.mean), ("Div", block.scale)):
        if values is not None:
            constants.append(_constant(f"numeric_{step.lower()}", values.astype(np.float64)))
            nodes.append(helper.make_node(step, [current, f"numeric_{step.lower()}"], [f"numeric_{step.lower()}_out"]))
            current = f"numeric_{step.lower()}_out"
    nodes.append(helper.make_node("Identity", [current], ["numeric_features"]))
    return nodes, constants


def _categorical_nodes(path: FastPath) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Each categorical column -> the code the trees read; an unknown value -> the unseen code."""
    nodes, constants, coded = [], [], []
    for slot, codes in enumerate(path.categorical_codes):
        known = [key for key in codes if key != UNSEEN_CATEGORY]
        constants.append(_constant(f"cat_{slot}_index", np.array([slot], dtype=np.int64)))
        nodes.append(helper.make_node("Gather", [CATEGORICAL_INPUT, f"cat_{slot}_index"], [f"cat_{slot}"], axis=1))
        nodes.append(
            helper.make_node(
                "LabelEncoder",
                [f"cat_{slot}"],
                [f"cat_{slot}_code"],
                domain="ai.onnx.ml",
                keys_strings=[str(key) for key in known],
                values_tensor=numpy_helper.from_array(np.array([codes[k] for k in known], dtype=np.float64)),
                default_tensor=numpy_helper.from_array(np.array([codes[UNSEEN_CATEGORY]], dtype=np.float64)),
            )
        )
        coded.append(f"cat_{slot}_code")
    nodes.append(helper.make_node("Concat", coded, ["categorical_features"], axis=1))
    return nodes, constants


def _link(path: FastPath) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """raw (n, outputs) -> scores: (n,) for one output, (n, k) class probabilities otherwise;
    with the constants these nodes read (only those: onnxruntime warns of any other)."""
    name = type(path.model._loss.link).__name__
    if name not in _LINKS:
        raise LifecycleError(f"ONNX export: the model's link function {name} has no ONNX operator here")
    operator = _LINKS[name]
    if operator == "Softmax":
        return [helper.make_node("Softmax", [RAW_OUTPUT], [OUTPUT], axis=1)], []
    squeeze = helper.make_node("Squeeze", [RAW_OUTPUT, "output_axis"], ["raw_1d"])
    link = helper.make_node(operator or "Identity", ["raw_1d"], [OUTPUT])
    return [squeeze, link], [_constant("output_axis", np.array([1], dtype=np.int64))]


def graph_columns(pipeline: Pipeline) -> tuple[list[str], list[str]]:
    """The columns of the graph's `numeric` and `categorical` inputs, in order."""
    transformer: ColumnTransformer = pipeline.named_steps["features"].named_steps["columns"]
    columns = {name: [str(c) for c in cols] for name, _, cols in transformer.transformers_}
    return columns.get("num", []), columns.get("cat", [])


def export_onnx(pipeline: Pipeline, input_names: list[str]) -> onnx.ModelProto | None:
    """The ONNX model of the pipeline, or None when the pipeline is not of the compiled shape
    (`lifecycle.serving.fast_path`: ordinal categories into HistGradientBoosting)."""
    path = compile_fast_path(pipeline, input_names)
    if path is None:
        return None
    numeric_names, categorical_names = graph_columns(pipeline)
    # An input, its nodes and constants for each kind of column the table has.
    inputs, nodes, constants, parts = [], [], [], []
    for names, name, kind, build, part in (
        (numeric_names, NUMERIC_INPUT, TensorProto.DOUBLE, _numeric_nodes, "numeric_features"),
        (categorical_names, CATEGORICAL_INPUT, TensorProto.STRING, _categorical_nodes, "categorical_features"),
    ):
        if names:
            inputs.append(helper.make_tensor_value_info(name, kind, [None, len(names)]))
            built, values = build(path)
            nodes += built
            constants += values
            parts.append(part)
    # The ColumnTransformer's output order, then the order the model's own encoder reads.
    produced = [*path.numeric_positions, *path.categorical_positions]
    order = np.array([produced.index(int(p)) for p in path.model_order], dtype=np.int64)
    assemble = [
        helper.make_node("Concat", parts, ["features"], axis=1),
        helper.make_node("Gather", ["features", "model_order"], ["model_input"], axis=1),
    ]
    outputs = path.model.n_trees_per_iteration_
    scores_shape = [None, outputs] if outputs > 1 else [None]
    link, link_constants = _link(path)
    graph = helper.make_graph(
        [*nodes, *assemble, _tree_ensemble(path), *link],
        "lifecycle_pipeline",
        inputs,
        [
            helper.make_tensor_value_info(OUTPUT, TensorProto.DOUBLE, scores_shape),
            helper.make_tensor_value_info(RAW_OUTPUT, TensorProto.DOUBLE, [None, outputs]),
        ],
        initializer=[
            *constants,
            _constant("model_order", order),
            *link_constants,
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()])
    model.producer_name = "lifecycle"
    helper.set_model_props(
        model,
        {
            "numeric_columns": json.dumps(numeric_names),
            "categorical_columns": json.dumps(categorical_names),
            "missing_category": MISSING_CATEGORY,
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model
