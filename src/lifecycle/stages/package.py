"""package: bundle the fitted pipeline, its schema, lineage, model card and reference profile."""

from __future__ import annotations

import logging

from lifecycle import paths
from lifecycle.artifacts import BundleMetadata, BundleMetrics, FeatureRoles, Lineage, TrainMetrics
from lifecycle.config import PIPELINE_SECTIONS, load_params
from lifecycle.monitoring.reference import build_reference
from lifecycle.packaging.bundle import Bundle, write_bundle
from lifecycle.packaging.card import model_card
from lifecycle.packaging.inference import PICKLED_MODULES, inference_pipeline
from lifecycle.packaging.lineage import code_sha256, dvc_md5, library_versions
from lifecycle.packaging.onnx_check import checked_onnx_file
from lifecycle.packaging.schema import infer_schema
from lifecycle.stages.runner import run_stage
from lifecycle.storage import file_digest, read_joblib, read_json, read_parquet

logger = logging.getLogger(__name__)


def main() -> None:
    params = load_params()
    roles = FeatureRoles.read(paths.FEATURE_ROLES)
    trained = TrainMetrics.read(paths.TRAIN_METRICS)
    train = read_parquet(paths.INTERIM_TRAIN)
    test_metrics = read_json(paths.EVALUATE_METRICS)
    pipeline = inference_pipeline(read_joblib(paths.FEATURIZER), read_joblib(paths.MODEL))
    schema = infer_schema(train, roles.inputs, roles.roles, params.validation.columns, params.preprocess.na_values)
    metadata = BundleMetadata(
        model_version=file_digest(paths.MODEL)[:12],
        target=roles.target,
        task=roles.task,
        classes=roles.classes,
        threshold=None if trained.threshold is None else trained.threshold.threshold,
        unknown_category=params.package.unknown_category,
        rows={"train": len(train), "test": test_metrics["rows"]},
        model=trained.model,
        chosen_by=trained.chosen_by,
        lineage=Lineage(
            data_md5=dvc_md5([paths.INTERIM_TRAIN, paths.INTERIM_TEST, paths.FEATURES_TRAIN, paths.FEATURES_TEST]),
            model_md5=dvc_md5([paths.FEATURIZER, paths.MODEL]),
            pipeline_code_sha256=code_sha256(PICKLED_MODULES),
        ),
        params=params.model_dump(mode="json", include=set(PIPELINE_SECTIONS)),
        metrics=BundleMetrics(test=test_metrics, cross_validation=trained.cv),
        libraries=library_versions(),
    )
    test_slices = read_json(paths.SLICE_METRICS)
    reference = build_reference(train, Bundle(pipeline, schema, metadata), params.package, test_slices)
    files = reference.files()
    if params.package.onnx:
        test = read_parquet(paths.INTERIM_TEST)
        inputs = Bundle(pipeline, schema, metadata).input_columns
        files |= checked_onnx_file(pipeline, inputs, test, metadata.threshold, params.package.onnx_tolerance)
    write_bundle(paths.PACKAGE_DIR, pipeline, schema, metadata, model_card(metadata, schema), files)
    logger.info("packaged model %s into %s", metadata.model_version, paths.PACKAGE_DIR)


if __name__ == "__main__":
    run_stage(main)
