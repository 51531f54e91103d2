"""Command line: `python -m lifecycle predict --input rows.csv --output predictions.csv`,
`python -m lifecycle serve` (the HTTP service, settings from params.yaml's `serve` section),
`python -m lifecycle report --base REV` (the pull-request review and its gate),
`python -m lifecycle remote start|stop|check|push|pull` (the DVC remote and a local S3 server),
`python -m lifecycle labels --source labels.csv` (late labels in bulk, beside the prediction log,
from a file, a URL or a source block such as '{kind: sql, url: ..., table: ...}'),
`python -m lifecycle monitor --since DATE --until DATE` (drift, live performance, alerts; exit
codes in lifecycle.monitoring.outcome),
`python -m lifecycle challenge --champion-stage prod` (champion against challenger on one
holdout; exit 1: the champion stays, 2: cannot be judged),
`python -m lifecycle holdout --since DATE --until DATE --output live.parquet` (the log's labelled
predictions as a holdout: a challenge on live traffic),
`python -m lifecycle promote` (register HEAD's model and assign it `prod` once it won),
`python -m lifecycle smoke --url URL` (a running service serves the bundle and answers as it does;
exit codes in lifecycle.serving.smoke)."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from datetime import datetime
from pathlib import Path

from lifecycle import paths
from lifecycle.config import load_params
from lifecycle.errors import LifecycleError
from lifecycle.logs import configure_logging
from lifecycle.packaging.batch import CHUNK_ROWS, score_file
from lifecycle.packaging.bundle import load_bundle

logger = logging.getLogger("lifecycle")

REMOTE_ACTIONS = {
    "start": "start SeaweedFS on 127.0.0.1 (data in .s3/) and give this clone's remote its credentials",
    "stop": "stop the SeaweedFS server started from this clone",
    "check": "say in one line why the remote would fail `dvc pull` (with --write: `dvc push`), or that it works",
    "push": "check that the remote takes writes, `dvc push --run-cache`, then the outputs of every recorded run",
    "pull": "check the remote, then `dvc pull --run-cache`",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lifecycle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="score a CSV or Parquet file with the packaged model")
    predict.add_argument("--input", required=True, type=Path, help="rows to score (.csv or .parquet)")
    predict.add_argument("--output", required=True, type=Path, help="where to write predictions (.csv or .parquet)")
    predict.add_argument("--bundle", default=paths.PACKAGE_DIR, type=Path, help="model bundle folder")
    predict.add_argument("--chunk-rows", default=CHUNK_ROWS, type=int, help="rows scored at a time (bounds memory)")
    serve = commands.add_parser("serve", help="serve the packaged model over HTTP (settings: params.yaml `serve`)")
    serve.add_argument("--bundle", default=paths.PACKAGE_DIR, type=Path, help="model bundle folder")
    served = serve.add_mutually_exclusive_group()
    served.add_argument("--stage", help="instead of --bundle: the registry's version in this stage (e.g. prod)")
    served.add_argument("--rev", help="instead of --bundle: the bundle of this git revision (commit, tag, branch)")
    serve.add_argument("--host", help="override serve.host (the address to listen on; 0.0.0.0: every interface)")
    serve.add_argument("--port", type=int, help="override serve.port")
    serve.add_argument("--engine", choices=["fast_path", "onnx"], help="override serve.engine")
    serve.add_argument("--workers", type=_workers, help="override serve.workers (processes serving the port)")
    serve.add_argument("--shadow", help="override serve.shadow (a challenger's bundle folder, scored off the path)")
    serve.add_argument("--log-url", help="override serve.log.url (a SQLAlchemy URL)")
    serve.add_argument("--log-table", help="override serve.log.table")
    serve.add_argument("--labels-key", type=_columns, help=LABELS_KEY_HELP)
    report = commands.add_parser("report", help="review the workspace against a base revision (Markdown + gate)")
    report.add_argument("--base", help="git revision to compare with (default: merge base with report.base_branch)")
    report.add_argument("--output", default=Path("reports/review.md"), type=Path, help="Markdown file to write")
    remote = commands.add_parser("remote", help="the DVC remote: a local S3 server, a check, push and pull")
    remote.add_argument(
        "action", choices=list(REMOTE_ACTIONS), help="; ".join(f"{k}: {v}" for k, v in REMOTE_ACTIONS.items())
    )
    remote.add_argument("--remote", help="a remote named in .dvc/config (default: the default remote)")
    remote.add_argument("--write", action="store_true", help="check: also check that the remote takes writes")
    labels = commands.add_parser("labels", help="store late labels in bulk beside the prediction log")
    labels.add_argument(
        "--source",
        required=True,
        help="a .csv, .parquet or .jsonl file (local or http(s)), or a source block as params.yaml's `sources:` "
        "takes it, e.g. '{kind: sql, url: \"sqlite:///outcomes.sqlite\", table: arrivals}' or "
        "'{kind: http_api, url: ..., pagination: page}'; columns request_id, row_index, actual, "
        "or the columns of serve.log.labels_key and actual",
    )
    labels.add_argument("--bundle", default=paths.PACKAGE_DIR, type=Path, help="model bundle whose classes labels take")
    labels.add_argument("--log-url", help="override serve.log.url (the prediction log's database)")
    labels.add_argument("--labels-key", type=_columns, help=LABELS_KEY_HELP)
    monitor = commands.add_parser(
        "monitor", help="judge a window of the prediction log: drift, live performance, alerts (exit 1: alert)"
    )
    monitor.add_argument("--since", required=True, type=_moment, help="window start, a date or ISO date-time (UTC)")
    monitor.add_argument("--until", required=True, type=_moment, help="window end (excluded)")
    monitor.add_argument("--bundle", default=paths.PACKAGE_DIR, type=Path, help="the bundle that served the window")
    monitor.add_argument("--log-url", help="override serve.log.url (the prediction log's database)")
    monitor.add_argument("--output", default=paths.MONITOR_METRICS, type=Path, help="the JSON to write")
    monitor.add_argument("--report-dir", default=paths.MONITOR_REPORT_DIR, type=Path, help="the report folder")
    monitor.add_argument(
        "--reference-since", type=_moment, help="judge drift against the log from here (with --reference-until)"
    )
    monitor.add_argument("--reference-until", type=_moment, help="end of that reference window (excluded)")
    challenge = commands.add_parser(
        "challenge", help="champion against challenger on one holdout (exit 1: the champion stays, 2: not judged)"
    )
    champion = challenge.add_mutually_exclusive_group(required=True)
    champion.add_argument("--champion", type=Path, help="the champion's bundle folder")
    champion.add_argument(
        "--champion-rev", help="a git revision (commit, branch, registry tag) whose bundle is champion"
    )
    champion.add_argument("--champion-stage", help="the registry stage (e.g. prod) whose version is champion")
    challenge.add_argument("--challenger", default=paths.PACKAGE_DIR, type=Path, help="the challenger's bundle")
    challenge.add_argument(
        "--holdout", type=Path, help="override challenge.holdout (a .parquet or .csv of labelled rows)"
    )
    challenge.add_argument("--output", default=paths.CHALLENGE_METRICS, type=Path, help="the JSON to write")
    challenge.add_argument("--report-dir", default=paths.CHALLENGE_REPORT_DIR, type=Path, help="the report folder")
    holdout = commands.add_parser(
        "holdout", help="write the log's labelled predictions of a window as a holdout for challenge --holdout"
    )
    holdout.add_argument("--since", required=True, type=_moment, help="window start, a date or ISO date-time (UTC)")
    holdout.add_argument("--until", required=True, type=_moment, help="window end (excluded)")
    holdout.add_argument("--output", required=True, type=Path, help="the .parquet file to write")
    holdout.add_argument("--bundle", default=paths.PACKAGE_DIR, type=Path, help="the bundle whose answers to take")
    holdout.add_argument("--log-url", help="override serve.log.url (the prediction log's database)")
    promote = commands.add_parser(
        "promote", help="register HEAD's model and assign it a stage, if it won its challenge (exit 1: it did not)"
    )
    promote.add_argument("--stage", default="prod", help="the registry stage to assign (default prod)")
    promote.add_argument("--challenge", default=paths.CHALLENGE_METRICS, type=Path, help="the challenge's JSON")
    smoke = commands.add_parser(
        "smoke", help="check a running service: ready, the bundle's version, its answers (exit 2-5: which failed)"
    )
    smoke.add_argument("--url", required=True, help="the service's base URL, e.g. http://127.0.0.1:8000")
    smoke.add_argument("--bundle", default=paths.PACKAGE_DIR, type=Path, help="the bundle it must serve")
    smoke.add_argument("--stage", help="also require /metadata to name this registry stage (serve --stage)")
    smoke.add_argument(
        "--wait", default=0.0, type=float, help="seconds to wait for /ready to answer 200 (a service just started)"
    )
    return parser


LABELS_KEY_HELP = (
    "override serve.log.labels_key: the input columns identifying what a label is about, comma-separated "
    "('' for labels by request id only, e.g. to serve another task's bundle with these params)"
)


def _columns(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, at least 1, got {text!r}")
    return int(text)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date or ISO 8601 date-time, got {text!r}") from None


def _monitor(args: argparse.Namespace) -> int:
    """Judge the window; write the report only when there is something to judge. One line says
    why the command exits as it does."""
    from lifecycle.monitoring.monitor import Stopwatch, run_monitor
    from lifecycle.monitoring.outcome import MonitorError
    from lifecycle.monitoring.report import write_outputs

    params = load_params()
    log = params.serve.log.model_copy(update={"url": args.log_url} if args.log_url else {})
    if (args.reference_since is None) != (args.reference_until is None):
        logger.error("give both --reference-since and --reference-until, or neither")
        return 2
    between = None if args.reference_since is None else (args.reference_since, args.reference_until)
    try:
        result = run_monitor(args.bundle, log, args.since, args.until, params.monitor, between)
    except MonitorError as error:
        logger.error("%s", error)
        return int(error.code)
    stopwatch = Stopwatch()
    write_outputs(result, args.output, args.report_dir)
    stopwatch.lap("report")
    (logger.warning if result.alerts else logger.info)("%s", result.verdict)
    return int(result.exit_code)


def _labels(args: argparse.Namespace) -> None:
    """Check every label against the bundle's task (and key values against its schema), then
    store them in one transaction."""
    from lifecycle.monitoring.keyed_labels import key_kinds
    from lifecycle.monitoring.label_files import describe, label_source, read_label_source, refuse_wrong_labels
    from lifecycle.monitoring.labels import LabelStore
    from lifecycle.serving.feedback import FeedbackReader
    from lifecycle.serving.prediction_log import now

    settings = load_params().serve.log
    bundle = load_bundle(args.bundle)
    key = key_kinds(bundle.schema, settings.labels_key if args.labels_key is None else args.labels_key)
    source = label_source(args.source)
    labels = read_label_source(source, FeedbackReader(bundle.schema, key))
    refuse_wrong_labels(labels, bundle.task, bundle.classes, describe(source))
    store = LabelStore(args.log_url or settings.url, settings.labels_table, settings.table, key)
    try:
        receipt = store.add(labels, now())
    finally:
        store.close()
    logger.info(
        "%s: %d stored, %d unchanged (already stored), %d unmatched (no logged prediction)",
        describe(source),
        receipt.stored,
        receipt.unchanged,
        receipt.unmatched,
    )


def _challenge(args: argparse.Namespace) -> int:
    """Score both bundles on the holdout and decide; write the outputs only when judged. Exit
    0: the challenger wins, 1: the champion stays, 2: it cannot be judged (one line why)."""
    import tempfile

    from lifecycle.retraining.challenge import run_challenge
    from lifecycle.retraining.registry import stage_version
    from lifecycle.retraining.report import write_outputs
    from lifecycle.retraining.revisions import bundle_at

    settings = load_params().challenge
    holdout = args.holdout or Path(settings.holdout)
    with tempfile.TemporaryDirectory(prefix="champion-") as scratch:
        try:
            revision = args.champion_rev or (args.champion_stage and stage_version(Path(), args.champion_stage).commit)
            champion = args.champion or bundle_at(revision, Path(scratch) / "package")
            result = run_challenge(champion, args.challenger, holdout, settings)
        except LifecycleError as error:
            logger.error("%s", error)
            return 2
        write_outputs(result, args.output, args.report_dir)
    decision = result.decision
    (logger.info if decision.challenger_wins else logger.warning)(
        "%s: %s", "the challenger wins" if decision.challenger_wins else "the champion stays", decision.reasons[0]
    )
    return 0 if decision.challenger_wins else 1


def _holdout(args: argparse.Namespace) -> None:
    """Write the window's labelled predictions as a holdout file (one line why not)."""
    from lifecycle.retraining.live_holdout import live_holdout, write_live_holdout

    log = load_params().serve.log
    log = log.model_copy(update={"url": args.log_url} if args.log_url else {})
    frame = live_holdout(load_bundle(args.bundle), log, args.since, args.until)
    write_live_holdout(frame, args.output)
    logger.info(
        "wrote %d labelled rows to %s: python -m lifecycle challenge --holdout %s",
        len(frame),
        args.output,
        shlex.quote(str(args.output)),  # a command to paste, whatever the file is called
    )


def _promote(args: argparse.Namespace) -> int:
    """Exit 0: promoted; 1: the gate failed (the challenger lost, or judged another bundle); 2:
    nothing to promote by (no challenge, uncommitted dvc.lock, a registry that refuses)."""
    from lifecycle.retraining.registry import PromotionRefused, promote

    try:
        promote(Path(), args.stage, args.challenge)
    except PromotionRefused as error:
        logger.error("%s", error)
        return 1
    except LifecycleError as error:
        logger.error("%s", error)
        return 2
    return 0


def _smoke(args: argparse.Namespace) -> int:
    """Exit 0: the service passed every check; otherwise the code of the first it failed."""
    from lifecycle.serving.smoke import SmokeFailure, smoke_test

    try:
        logger.info("smoke test passed: %s", smoke_test(args.url, args.bundle, args.stage, args.wait))
    except SmokeFailure as error:
        logger.error("smoke test failed, %s", error)
        return int(error.code)
    return 0


def _report(args: argparse.Namespace) -> int:
    """Write the review; exit 1 when the gate fails, so CI fails the pull request."""
    from lifecycle.review.report import default_base, write_report

    settings = load_params().report
    result = write_report(args.base or default_base(settings.base_branch), settings, args.output)
    if not result.passed:
        logger.error("%s", result.summary().replace("**", ""))
        return 1
    return 0


def _serve(args: argparse.Namespace) -> None:
    # Imported here: the batch command must not need the web stack.
    from lifecycle.serving.app import serve

    settings = load_params().serve
    log_updates = {"url": args.log_url, "table": args.log_table}
    log = settings.log.model_copy(update={k: v for k, v in log_updates.items() if v})
    if args.labels_key is not None:
        log = log.model_copy(update={"labels_key": args.labels_key})
    overrides = {
        "host": args.host,
        "port": args.port,
        "engine": args.engine,
        "workers": args.workers,
        "shadow": args.shadow,
    }
    updates = {"log": log, **{k: v for k, v in overrides.items() if v is not None}}
    if args.stage is None and args.rev is None:
        serve(args.bundle, settings.model_copy(update=updates))
        return
    import tempfile

    from lifecycle.retraining.registry import served_version
    from lifecycle.retraining.revisions import bundle_at

    registry = served_version(Path(), args.stage, args.rev)
    with tempfile.TemporaryDirectory(prefix="served-") as scratch:
        bundle = bundle_at(registry.commit, Path(scratch) / "package")
        logger.info(
            "serving %s %s (stage %s, commit %s)",
            registry.artifact,
            registry.version,
            registry.stage,
            registry.commit[:12],
        )
        serve(bundle, settings.model_copy(update={**updates, "registry": registry}), follow=args.stage)


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors print one line and return 1."""
    configure_logging()
    args = _parser().parse_args(argv)
    try:
        if args.command == "predict":
            score_file(load_bundle(args.bundle), args.input, args.output, args.chunk_rows)
        elif args.command == "serve":
            _serve(args)
        elif args.command == "report":
            return _report(args)
        elif args.command == "remote":
            from lifecycle.remote.commands import run_remote_command

            return run_remote_command(args.action, Path.cwd(), args.remote, args.write)
        elif args.command == "labels":
            _labels(args)
        elif args.command == "monitor":
            return _monitor(args)
        elif args.command == "challenge":
            return _challenge(args)
        elif args.command == "holdout":
            _holdout(args)
        elif args.command == "promote":
            return _promote(args)
        elif args.command == "smoke":
            return _smoke(args)
    except LifecycleError as error:
        logger.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
