"""Records from a JSON HTTP API, with page, offset or next-link pagination."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import urljoin

import pandas as pd

from lifecycle.config import HttpApiSource
from lifecycle.errors import LifecycleError
from lifecycle.sources.base import frame_from_records, read_source
from lifecycle.sources.http import fetch_with_retries, with_query

logger = logging.getLogger(__name__)

_MISSING = object()


def _lookup(body: object, dotted: str) -> object:
    """The value at a dotted path such as `data.items`, or `_MISSING`."""
    node = body
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _get_json(url: str, settings: HttpApiSource) -> object:
    body = fetch_with_retries(url, settings.timeout_seconds, settings.max_retries, settings.backoff_seconds)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LifecycleError(f"GET {url} did not return valid JSON: {error}") from None


def _records(body: object, url: str, records_path: str | None) -> list[object]:
    records = body if records_path is None else _lookup(body, records_path)
    if records is _MISSING:
        raise LifecycleError(f"GET {url}: the response has no {records_path!r} (records_path)")
    if not isinstance(records, list):
        where = "the response body" if records_path is None else f"{records_path!r} (records_path)"
        raise LifecycleError(f"GET {url}: {where} is {type(records).__name__}, not a list of records")
    return records


def _page_urls(settings: HttpApiSource) -> Iterator[str]:
    """The URL of every page for page/offset pagination (the caller stops on an empty page)."""
    size = {settings.size_param: settings.page_size}
    number = 0
    while True:
        if settings.pagination == "page":
            yield with_query(settings.url, {settings.page_param: settings.start_page + number, **size})
        else:
            yield with_query(settings.url, {settings.offset_param: number * settings.page_size, **size})
        number += 1


def _numbered_pages(settings: HttpApiSource) -> Iterator[tuple[str, list[object]]]:
    for url in _page_urls(settings):
        records = _records(_get_json(url, settings), url, settings.records_path)
        if not records:
            return
        yield url, records


def _linked_pages(settings: HttpApiSource) -> Iterator[tuple[str, list[object]]]:
    url: str | None = settings.url
    while url is not None:
        body = _get_json(url, settings)
        records = _records(body, url, settings.records_path)
        if not records:
            return
        yield url, records
        link = _lookup(body, settings.next_link_path)
        url = urljoin(url, link) if isinstance(link, str) and link else None


def _pages(settings: HttpApiSource) -> Iterator[tuple[str, list[object]]]:
    if settings.pagination == "none":
        url = settings.url
        return iter([(url, _records(_get_json(url, settings), url, settings.records_path))])
    if settings.pagination == "next_link":
        return _linked_pages(settings)
    return _numbered_pages(settings)


@read_source.register
def _(settings: HttpApiSource) -> pd.DataFrame:
    records: list[object] = []
    for count, (url, page) in enumerate(_pages(settings), start=1):
        if count > settings.max_pages:
            raise LifecycleError(
                f"http_api source {settings.url} has more than {settings.max_pages} pages "
                f"(max_pages); page {count} is {url}"
            )
        logger.info("page %d: %d records from %s", count, len(page), url)
        records.extend(page)
    return frame_from_records(records, f"http_api source {settings.url}")
