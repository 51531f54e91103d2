"""HTTP GET with the standard library: one request, or one with retries and backoff.

`urllib.request` keeps the pipeline free of a runtime HTTP client dependency. Every
failure becomes an `HttpFailure` naming the URL and, when the server answered, its status.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lifecycle.errors import LifecycleError

logger = logging.getLogger(__name__)

_HEADERS = {"User-Agent": "lifecycle-collect", "Accept": "application/json, text/csv, */*"}


class HttpFailure(LifecycleError):
    """A GET that failed; `status` is None when no HTTP answer arrived (connection, timeout)."""

    def __init__(self, url: str, status: int | None, reason: str) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        answer = f"HTTP {status} {reason}" if status is not None else reason
        super().__init__(f"GET {url} failed: {answer}")

    @property
    def retryable(self) -> bool:
        """Server errors and connection failures may pass; a client error (4xx) will not."""
        return self.status is None or self.status >= 500


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def with_query(url: str, params: dict[str, int | str]) -> str:
    """`url` with `params` added to (or replacing keys of) its query string."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({key: str(value) for key, value in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query)))


def fetch(url: str, timeout: float) -> bytes:
    """The body of a successful GET of `url`, read into memory."""
    request = urllib.request.Request(url, headers=_HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise HttpFailure(url, error.code, str(error.reason)) from None
    except urllib.error.URLError as error:
        raise HttpFailure(url, None, f"cannot connect ({error.reason})") from None
    except TimeoutError:
        raise HttpFailure(url, None, f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as error:
        raise HttpFailure(url, None, f"connection failed ({error!r})") from None


def fetch_with_retries(url: str, timeout: float, retries: int, backoff: float) -> bytes:
    """`fetch`, retrying server errors and connection failures with exponential backoff."""
    attempt = 0
    while True:
        try:
            return fetch(url, timeout)
        except HttpFailure as failure:
            if not failure.retryable:
                raise
            if attempt == retries:
                reason = f"{failure.reason} (gave up after {attempt + 1} attempt(s))"
                raise HttpFailure(url, failure.status, reason) from None
            delay = backoff * 2**attempt
            logger.warning("%s; retry %d of %d in %.2f s", failure, attempt + 1, retries, delay)
            time.sleep(delay)
            attempt += 1
