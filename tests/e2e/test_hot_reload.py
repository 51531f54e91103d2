"""Hot reload of a real server under load: the first run's bundle is served, four clients keep
predicting, the second run's bundle (same inputs, another model) replaces the folder's files
and `POST /admin/reload` swaps it in. No request fails, every answer and every logged row
names the model that answered it, a corrupt bundle is refused while the served one goes on,
SIGHUP reloads the served folder, and a bundle beside it can be named instead. A flood of
late labels through several reloads stores every label exactly once and answers no 5xx."""

from __future__ import annotations

import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from lifecycle.monitoring.labels import read_labels
from lifecycle.serving.prediction_log import read_prediction_log
from lifecycle.serving.reload import ADMIN_TOKEN
from tests.support.pipeline import FirstRun, SecondRun
from tests.support.serving import ServerProcess

pytestmark = pytest.mark.e2e

TOKEN = "a-test-token-for-reloads"


def predict_until(url: str, rows: list[dict[str, Any]], stop: threading.Event, answers: list[tuple]) -> None:
    """One client: single-row requests, back to back, until `stop`; (status, request id, version).
    A request that fails or hangs is an answer with no status, which the test counts: an
    exception would only end this thread, unseen."""
    with httpx.Client(base_url=url, timeout=30) as client:
        position = 0
        while not stop.is_set():
            try:
                answer = client.post("/predict", json=[rows[position % len(rows)]])
                body = answer.json()
                answers.append((answer.status_code, body.get("request_id"), body.get("model_version")))
            except httpx.HTTPError as error:
                answers.append((None, f"{type(error).__name__}: {error}", None))
            position += 1


def replace_files(folder: Path, source: Path) -> None:
    """The folder's bundle replaced by another, as `dvc checkout` of another revision would."""
    shutil.rmtree(folder)
    shutil.copytree(source, folder)


def version(server: ServerProcess) -> str:
    return httpx.get(f"{server.url}/metadata").json()["model_version"]


def test_a_reload_under_load_drops_nothing_and_a_bad_bundle_keeps_the_served_one(
    pipeline_run: FirstRun,
    second_run: SecondRun,
    known_rows: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first_dir, second_dir = pipeline_run.repo.path / "models/package", second_run.repo.path / "models/package"
    served = tmp_path / "served"
    shutil.copytree(first_dir, served)
    monkeypatch.setenv(ADMIN_TOKEN, TOKEN)
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with ServerProcess(served, url) as server:
        first = version(server)
        stop, answers = threading.Event(), []
        clients = [
            threading.Thread(target=predict_until, args=(server.url, known_rows, stop, answers)) for _ in range(4)
        ]
        for client in clients:
            client.start()
        time.sleep(1.0)
        replace_files(served, second_dir)
        assert httpx.post(f"{server.url}/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
        reloaded = httpx.post(f"{server.url}/admin/reload", headers=bearer, timeout=60)
        answered_before_swap = len(answers)
        time.sleep(1.0)
        stop.set()
        for client in clients:
            client.join()
        second = reloaded.json()["model_version"]
        assert reloaded.status_code == 200 and reloaded.json() == {
            "reloaded": True,
            "model_version": second,
            "previous": first,
        }
        assert second != first and version(server) == second

        # a corrupt bundle fetched beside the served one is refused: the served model goes on
        corrupt = tmp_path / "corrupt"
        shutil.copytree(first_dir, corrupt)
        (corrupt / "pipeline.joblib").write_bytes(b"not a model")
        refused = httpx.post(f"{server.url}/admin/reload", headers=bearer, json={"bundle": str(corrupt)}, timeout=60)
        assert refused.status_code == 409 and f"model {second} keeps serving" in refused.json()["error"]
        assert httpx.get(f"{server.url}/ready").status_code == 200 and version(server) == second
        assert httpx.post(f"{server.url}/predict", json=[known_rows[0]]).json()["model_version"] == second
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'lifecycle_model_reloads_total{outcome="reloaded"} 1.0' in metrics
        assert 'lifecycle_model_reloads_total{outcome="refused"} 1.0' in metrics
        assert f'lifecycle_model_info{{model_version="{first}",task="binary"}} 0.0' in metrics

        # SIGHUP reloads the served folder: the first bundle back in it
        replace_files(served, first_dir)
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while version(server) != first and time.monotonic() < deadline:
            time.sleep(0.2)
        assert version(server) == first
        # and a bundle beside it, named in the body
        beside = httpx.post(f"{server.url}/admin/reload", headers=bearer, json={"bundle": str(second_dir)}, timeout=60)
        assert beside.json() == {"reloaded": True, "model_version": second, "previous": first}
        assert httpx.get(f"{server.url}/ready").json() == {"status": "ready", "model_version": second}
        output = server.stop_gracefully()
    assert f"reload refused, model {second} keeps serving" in output

    assert len(answers) > 100 and all(status == 200 for status, _, _ in answers), [a for a in answers if a[0] != 200][
        :3
    ]
    versions = [v for _, _, v in answers]
    assert set(versions) == {first, second}
    assert versions[-1] == second and versions[0] == first
    # answers sent after the reload returned came from the new model (requests in flight then
    # may still finish on the old one, as they should)
    assert set(versions[answered_before_swap + 8 :]) == {second}
    logged = read_prediction_log(url)
    answered = {request_id: model for _, request_id, model in answers}
    by_request = logged.groupby("request_id")["model_version"].agg(set)
    assert all(by_request[request_id] == {model} for request_id, model in answered.items())


UNMATCHED_PER_REQUEST = 10  # labels for requests the log never held, sent with each matched one


def label_until(
    url: str, rows: list[dict[str, Any]], stop: threading.Event, sent: list[dict], answers: list[tuple]
) -> None:
    """One client: predict a row, then send its label (the answered label) in a body with
    labels of requests never logged, until `stop`; every label sent, every (status, body),
    a request that failed or hung as (None, the error)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        position = 0
        while not stop.is_set():
            position += 1
            try:
                predicted = client.post("/predict", json=[rows[position % len(rows)]])
                answers.append((predicted.status_code, predicted.json()))
                if predicted.status_code != 200:
                    continue
                body = predicted.json()
                actual = body["predictions"][0]["label"]
                labels = [{"request_id": body["request_id"], "row_index": 0, "actual": actual}]
                labels += [
                    {"request_id": uuid.uuid4().hex, "row_index": 0, "actual": actual}
                    for _ in range(UNMATCHED_PER_REQUEST)
                ]
                stored = client.post("/feedback", json=labels)
                answers.append((stored.status_code, stored.json()))
                if stored.status_code == 200:
                    sent.extend(labels)
            except httpx.HTTPError as error:
                answers.append((None, f"{type(error).__name__}: {error}"))


def test_a_flood_of_labels_through_reloads_stores_each_label_once_and_answers_no_5xx(
    pipeline_run: FirstRun,
    second_run: SecondRun,
    known_rows: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first_dir, second_dir = pipeline_run.repo.path / "models/package", second_run.repo.path / "models/package"
    monkeypatch.setenv(ADMIN_TOKEN, TOKEN)
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with ServerProcess(first_dir, url) as server:
        stop, sent, answers = threading.Event(), [], []
        clients = [
            threading.Thread(target=label_until, args=(server.url, known_rows, stop, sent, answers)) for _ in range(6)
        ]
        for client in clients:
            client.start()
        reloads = []
        for folder in (second_dir, first_dir, second_dir, first_dir):
            time.sleep(0.5)
            reloads.append(httpx.post(f"{server.url}/admin/reload", headers=bearer, json={"bundle": str(folder)}))
        time.sleep(0.5)
        stop.set()
        for client in clients:
            client.join()
        server.stop_gracefully()

    assert [answer.status_code for answer in reloads] == [200] * 4
    statuses = [status for status, _ in answers]
    assert statuses.count(200) == len(statuses), [body for status, body in answers if status != 200][:3]
    receipts = [body for _, body in answers if isinstance(body, dict) and "stored" in body]  # /feedback's
    assert len(receipts) > 20  # a flood: labels went on arriving through every reload
    assert sum(r["stored"] for r in receipts) == len(sent) and sum(r["unchanged"] for r in receipts) == 0
    assert sum(r["unmatched"] for r in receipts) == len(sent) - len(receipts)  # each request's own label matched
    stored = read_labels(url)
    assert len(stored) == len(sent)  # each label once: none lost, none twice
    assert {(row["request_id"], row["row_index"], row["actual"]) for row in sent} == set(
        zip(stored["request_id"], stored["row_index"], stored["actual"])
    )
