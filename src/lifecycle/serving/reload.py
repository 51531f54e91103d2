"""Hot reload: the bundle now in the served folder swapped in without dropping a request.

Why swap rather than restart: a restart refuses connections while the new model loads, and
a retrained champion is promoted by replacing the bundle (`dvc pull`, `dvc checkout`). The
new bundle is loaded and verified beside the old one, in a thread off the event loop, and
only then does the app's service change, in one assignment. A request already running holds
the service it started with, so it finishes on the old model and logs that model's version;
every request after it gets the new one. A bundle that fails verification, or that takes
other inputs than the routes were built for, is refused: the old model keeps serving,
/ready stays 200, the log says why and `lifecycle_model_reloads{outcome="refused"}` counts it.

Triggered by SIGHUP (the served folder; a single process: with `serve.workers` > 1
uvicorn's supervisor answers SIGHUP by replacing the workers one by one, each loading the
folder) or by `POST /admin/reload` with the bearer token of the `LIFECYCLE_ADMIN_TOKEN`
environment variable (unset: the route answers 403, so no deployment exposes it by
accident), for the served folder or, with `{"bundle": "<folder>"}`, another one: fetch the
new bundle beside the served one (`dvc get ... -o models/v2`), reload from there, and the
served folder is never half-written. The token is a full trust: it loads a pickled model.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from lifecycle.errors import LifecycleError
from lifecycle.serving.routes import error_response, json_response
from lifecycle.serving.schemas import ErrorBody
from lifecycle.serving.service import Service, settle_heap

logger = logging.getLogger(__name__)

ADMIN_TOKEN = "LIFECYCLE_ADMIN_TOKEN"


class Reloader:
    """Reloads the app's service, one reload at a time.

    `follow` is the registry stage the service was started for (`serve --stage prod`): a
    reload without a folder then asks the registry again, in the repository `repo`, and
    fetches the stage's version beside the served folder when it changed (a promotion, a
    rollback), so SIGHUP after `promote` serves the new champion.
    """

    def __init__(self, app: FastAPI, follow: str | None = None, repo: Path = Path()) -> None:
        self.app = app
        self.follow = follow
        self.repo = repo
        self.lock = asyncio.Lock()

    def _load(self, old: Service, bundle_dir: Path | None) -> Service:
        """The service for `bundle_dir`, or for what the followed stage names now."""
        if bundle_dir is not None or self.follow is None:
            return old.reloaded(bundle_dir)
        from lifecycle.retraining.registry import served_version  # git and GTO: only when following
        from lifecycle.retraining.revisions import bundle_at

        named = served_version(self.repo, self.follow)
        folder = old.bundle_dir
        if old.settings.registry is None or named.commit != old.settings.registry.commit:
            folder = old.bundle_dir.parent / f"{named.version}-{named.commit[:12]}"
            if not folder.exists():  # fetched by an earlier reload: verified again on load
                bundle_at(named.commit, folder, self.repo)
        return old.reloaded(folder, registry=named)

    async def reload(self, bundle_dir: Path | None = None) -> tuple[Service, str | None]:
        """Swap in the bundle of `bundle_dir` (default: the served folder, or the followed
        stage's version); returns the service now serving and, when the bundle was refused, why."""
        async with self.lock:
            old: Service = self.app.state.service
            try:
                new = await run_in_threadpool(self._load, old, bundle_dir)
            except LifecycleError as error:
                old.metrics.reloads.labels("refused").inc()
                logger.error("reload refused, model %s keeps serving: %s", old.version, error)
                return old, str(error)
            self.app.state.service = new
            new.metrics.serve_version(new.version)
            new.metrics.reloads.labels("reloaded").inc()
            logger.info("reloaded: model %s replaces %s", new.version, old.version)
            del old
            settle_heap()
            return new, None


admin = APIRouter()


@admin.post(
    "/admin/reload",
    summary='Load a bundle beside the served one, then swap (bearer token); body: none, or {"bundle": folder}',
    responses={status: {"model": ErrorBody} for status in (400, 401, 403, 409)},
)
async def reload_bundle(request: Request) -> Response:
    expected = os.environ.get(ADMIN_TOKEN)
    if not expected:
        return error_response(403, ErrorBody(error=f"reload over HTTP is off: set {ADMIN_TOKEN} to a secret token"))
    given = request.headers.get("authorization", "")
    if not given.startswith("Bearer ") or not hmac.compare_digest(
        given.removeprefix("Bearer ").encode(), expected.encode()
    ):
        return error_response(401, ErrorBody(error="a valid bearer token is required (Authorization: Bearer ...)"))
    try:
        body = await request.json() if await request.body() else {}
        folder = Path(body["bundle"]) if isinstance(body, dict) and "bundle" in body else None
    except (ValueError, TypeError) as error:
        return error_response(400, ErrorBody(error=f'the body must be empty or {{"bundle": "<folder>"}}: {error}'))
    previous = request.app.state.service.version
    serving, refused = await request.app.state.reloader.reload(folder)
    if refused is not None:
        return error_response(409, ErrorBody(error=f"bundle refused, model {previous} keeps serving: {refused}"))
    return json_response({"reloaded": True, "model_version": serving.version, "previous": previous})
