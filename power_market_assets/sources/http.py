"""The shared HTTP session: timeouts, retries with backoff, rate limiting, atomic downloads.

Every ISO client talks through one `HttpClient`. It never logs or raises headers, request
bodies or query parameters that look like credentials: URLs in messages have such parameters
replaced by `***`, and any secret value registered with `add_secret` is scrubbed from every
message the client produces.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from power_market_assets.formats.archive import atomic_path

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SECRET_NAME = re.compile(
    r"(key|token|password|passwd|secret|signature|sig|auth|credential|code)", re.I
)
_QUERY_PAIR = re.compile(r"([?&;])([^=&#\s]+)=([^&#\s'\"]*)")


class SourceError(RuntimeError):
    """A request failed for good; names the (redacted) URL and the HTTP status if any."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        self.url = url
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    size_bytes: int
    sha256: str
    url: str  # redacted
    downloaded_at_utc: datetime


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact_url(url: str) -> str:
    """The URL with the values of credential-like query parameters replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:  # user:password@host
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if is_secret_name(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def full_url(url: str, params: dict[str, Any] | None) -> str:
    """The URL with `params` encoded into its query, as requests sends it."""
    if not params:
        return url
    return requests.Request("GET", url, params=params).prepare().url or url


def _redact_text_urls(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}={'***' if is_secret_name(name) else value}"

    return _QUERY_PAIR.sub(repl, text)


class HttpClient:
    """A requests.Session with timeouts, retries, backoff with jitter and a rate limit.

    - `timeout`: (connect, read) seconds for every request.
    - `max_retries`: extra attempts after the first one for retryable failures (connection
      errors, read timeouts, truncated bodies, HTTP 429/500/502/503/504).
    - `base_delay`, `max_delay`: exponential backoff `base_delay * 2**attempt`, capped, with
      jitter (a random factor in [0.5, 1]). A 429 with `Retry-After` waits that long instead
      (capped at `max_retry_after`).
    - `min_interval`: minimum seconds between the starts of two requests (rate limit).
    - `sleep`: injectable for tests.
    """

    def __init__(
        self,
        *,
        timeout: tuple[float, float] = (10.0, 120.0),
        max_retries: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        max_retry_after: float = 120.0,
        min_interval: float = 0.0,
        user_agent: str = "power-market-assets/0.1",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.timeout = timeout
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.min_interval = min_interval
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._last_start = 0.0
        self._secrets: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"HttpClient(timeout={self.timeout}, max_retries={self.max_retries}, "
            f"min_interval={self.min_interval})"
        )

    # -- secrets -------------------------------------------------------------------------

    def add_secret(self, value: str | None) -> None:
        """Register a value (password, token, key) to scrub from every message."""
        if value and len(value) >= 3:
            self._secrets.add(value)

    def scrub(self, text: str) -> str:
        text = _redact_text_urls(text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def safe_url(self, url: str) -> str:
        return self.scrub(redact_url(url))

    # -- plumbing ------------------------------------------------------------------------

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _throttle(self) -> None:
        if self.min_interval <= 0:
            return
        with self._lock:
            wait = self._last_start + self.min_interval - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            self._last_start = time.monotonic()

    def backoff_delay(self, attempt: int) -> float:
        delay = min(self.max_delay, self.base_delay * (2**attempt))
        return delay * (0.5 + 0.5 * self._rng.random())

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        return max(0.0, min(seconds, self.max_retry_after))

    def _describe(self, method: str, url: str) -> str:
        return f"{method} {self.safe_url(url)}"

    def _with_retries(
        self,
        method: str,
        url: str,
        attempt_fn: Callable[[], Any],
    ) -> Any:
        """Run `attempt_fn` with retries. It returns a value or raises _Retryable/SourceError."""
        attempt = 0
        while True:
            self._throttle()
            try:
                return attempt_fn()
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    raise SourceError(
                        self.scrub(
                            f"{self._describe(method, url)} failed after {attempt + 1} "
                            f"attempts: {exc.reason}"
                        ),
                        url=self.safe_url(url),
                        status=exc.status,
                    ) from None
                delay = exc.retry_after if exc.retry_after is not None else None
                if delay is None:
                    delay = self.backoff_delay(attempt)
                log.warning(
                    "%s: %s; retry %d/%d in %.2fs",
                    self._describe(method, url),
                    self.scrub(exc.reason),
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)
                attempt += 1

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        data: Any,
        json: Any,
        stream: bool,
    ) -> requests.Response:
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                headers=headers,
                data=data,
                json=json,
                stream=stream,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            raise SourceError(
                self.scrub(f"{self._describe(method, url)} failed: {type(exc).__name__}"),
                url=self.safe_url(url),
            ) from None
        if response.status_code in RETRY_STATUSES:
            retry_after = self._retry_after(response) if response.status_code == 429 else None
            status = response.status_code
            reason = response.reason
            response.close()
            raise _Retryable(f"HTTP {status} {reason}", status=status, retry_after=retry_after)
        if response.status_code >= 400:
            status = response.status_code
            reason = response.reason
            response.close()
            raise SourceError(
                f"{self._describe(method, url)} failed: HTTP {status} {reason}",
                url=self.safe_url(url),
                status=status,
            )
        return response

    # -- public API ----------------------------------------------------------------------

    def request_bytes(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
        json: Any = None,
        validate: Callable[[bytes], None] | None = None,
    ) -> bytes:
        """Send a request and return the whole body (retried on transient failures).

        `validate` may raise ValueError for a body that is wrong in a way worth retrying
        (an HTML error page with status 200, an empty body).
        """
        full = full_url(url, params)

        def attempt() -> bytes:
            response = self._send(
                method, url, params=params, headers=headers, data=data, json=json, stream=False
            )
            body = response.content
            expected = response.headers.get("Content-Length")
            if expected is not None and expected.isdigit() and int(expected) != len(body):
                raise _Retryable(f"truncated body: got {len(body)} of {expected} bytes")
            if validate is not None:
                try:
                    validate(body)
                except ValueError as exc:
                    raise _Retryable(f"unexpected body: {exc}") from None
            return body

        return self._with_retries(method, full, attempt)

    def get_bytes(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        validate: Callable[[bytes], None] | None = None,
    ) -> bytes:
        return self.request_bytes("GET", url, params=params, headers=headers, validate=validate)

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
        json: Any = None,
    ) -> Any:
        """Send a request and decode a JSON body; a non-JSON body (HTML page) is retried."""
        import json as jsonlib

        holder: list[Any] = []

        def check(body: bytes) -> None:
            if not body.strip():
                raise ValueError("empty body where JSON was expected")
            try:
                holder.append(jsonlib.loads(body))
            except (UnicodeDecodeError, jsonlib.JSONDecodeError):
                start = body[:40].decode("latin-1", "replace").strip()
                raise ValueError(f"not JSON (starts with {start!r})") from None

        self.request_bytes(
            method, url, params=params, headers=headers, data=data, json=json, validate=check
        )
        return holder[-1]

    def get_json(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return self.request_json("GET", url, params=params, headers=headers)

    def post_json(
        self,
        url: str,
        *,
        data: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return self.request_json("POST", url, data=data, json=json, headers=headers)

    def download(
        self,
        url: str,
        dest: Path | str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        json: Any = None,
        expected_size: int | None = None,
        validate: Callable[[Path], None] | None = None,
    ) -> DownloadResult:
        """Stream a body to `dest` through a temp file; rename into place only when complete.

        A body shorter than its Content-Length or than `expected_size` (ERCOT's ContentSize)
        is retried and finally raises SourceError; no partial file is ever left at `dest`.
        `validate(temp_path)` may raise ValueError to reject (and retry) a wrong body.
        """
        dest = Path(dest)
        full = full_url(url, params)
        if ".." in dest.parts or not dest.name:
            # The file name usually comes from the ISO's listing: never trust it to stay
            # inside the downloads folder.
            raise SourceError(
                self.scrub(f"refusing unsafe download path {str(dest)!r} for {self.safe_url(url)}"),
                url=self.safe_url(url),
            )

        def attempt() -> DownloadResult:
            response = self._send(
                method, url, params=params, headers=headers, data=None, json=json, stream=True
            )
            digest = hashlib.sha256()
            size = 0
            try:
                with atomic_path(dest) as temp:
                    try:
                        with open(temp, "wb") as out:
                            for chunk in response.iter_content(chunk_size=1 << 16):
                                if chunk:
                                    out.write(chunk)
                                    digest.update(chunk)
                                    size += len(chunk)
                            out.flush()
                            os.fsync(out.fileno())
                    except (
                        requests.ConnectionError,
                        requests.exceptions.ChunkedEncodingError,
                        requests.Timeout,
                    ) as exc:
                        declared = response.headers.get("Content-Length", "?")
                        raise _Retryable(
                            f"truncated body: connection broke after {size} of {declared} "
                            f"bytes ({type(exc).__name__})"
                        ) from None
                    declared = response.headers.get("Content-Length")
                    if declared is not None and declared.isdigit() and int(declared) != size:
                        raise _Retryable(f"truncated body: got {size} of {declared} bytes")
                    # The body's kind first: an HTML page is reported as such, not by size.
                    if validate is not None:
                        try:
                            validate(temp)
                        except ValueError as exc:
                            raise _Retryable(f"unexpected body: {exc}") from None
                    if expected_size is not None and size != expected_size:
                        raise _Retryable(
                            f"size mismatch: got {size} bytes, expected {expected_size}"
                        )
            finally:
                response.close()
            return DownloadResult(
                path=dest,
                size_bytes=size,
                sha256=digest.hexdigest(),
                url=self.safe_url(full),
                downloaded_at_utc=datetime.now(UTC),
            )

        return self._with_retries(method, full, attempt)


class _Retryable(Exception):
    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def is_zip_file(path: Path) -> None:
    """A `validate` callback for downloads that must be zips (ERCOT sends HTML pages too)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        if not head:
            raise ValueError("empty body where a zip was expected")
        raise ValueError(f"not a zip (starts with {head!r})")


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
