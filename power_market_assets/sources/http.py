"""The shared HTTP session: timeouts, retries with backoff, rate limiting, atomic downloads.

Every ISO client talks through one `HttpClient`. It never logs or raises headers, request
bodies or query parameters that look like credentials: URLs in messages have such parameters
replaced by `***`, and any secret value registered with `add_secret` / `add_credentials` (or
learnt from a request it sends: URL user info, Authorization and key headers, credential form
fields) is scrubbed from every message the client produces, in every form it travels in
(literal, URL-encoded, JSON-escaped, base64 of `user:password`). Some endpoints echo the request
into their reason phrase or body, so every text built from a response goes through one point,
`HttpClient.response_problem`, and every SourceError through `HttpClient.error`.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import json as jsonlib
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
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

import requests

from power_market_assets.formats.archive import atomic_path

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SECRET_NAME = re.compile(
    r"(key|token|password|passwd|secret|signature|sig|auth|credential|code)", re.I
)
_QUERY_PAIR = re.compile(r"([?&;])([^=&#\s]+)=([^&#\s'\"]*)")
# Credentials written as `name: value`, `name=value` or `"name": "value"` in free text (an
# echoed header, form or JSON reply), whether or not the value was registered.
_CREDENTIAL_FIELD = re.compile(
    r"(?P<name>(?:proxy-)?authorization|ocp-apim-subscription-key|x-api-key|api[-_]?key|"
    r"subscription[-_]?key|password|passwd|client_secret|(?:id|access|refresh)_token)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>(?:(?:Bearer|Basic|Digest|Token)\s+)?[^\s&,;\"'|]+)",
    re.I,
)
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=%-]{6,}", re.I)
_USER_FIELDS = frozenset({"username", "user", "userid", "user_id", "login"})
BODY_EXCERPT_CHARS = 300
_BODY_READ_BYTES = 8192


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


def _redact_credential_fields(text: str) -> str:
    """`Authorization: Bearer x`, `password=x`, `"id_token": "x"`, `Basic x` -> `***`."""
    text = _CREDENTIAL_FIELD.sub(lambda m: f"{m['name']}{m['sep']}***", text)
    return _AUTH_SCHEME.sub(lambda m: f"{m['scheme']} ***", text)


def secret_forms(value: str) -> set[str]:
    """The ways a secret travels in a request or an echo of it: literal, URL-encoded (path,
    query and form styles) and JSON-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    forms.add(jsonlib.dumps(value)[1:-1])
    forms.add(jsonlib.dumps(value, ensure_ascii=False)[1:-1])
    return forms


def basic_token(user: str, password: str) -> str:
    """The base64 `user:password` of HTTP Basic auth."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _excerpt(text: str) -> str:
    return " ".join(text.split())


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
        self._forms: tuple[str, ...] = ()  # every form of every secret, longest first
        self._secrets_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"HttpClient(timeout={self.timeout}, max_retries={self.max_retries}, "
            f"min_interval={self.min_interval})"
        )

    # -- secrets -------------------------------------------------------------------------

    def add_secret(self, value: str | None) -> None:
        """Register a value (password, token, key) to scrub, in all its forms, from every
        message."""
        if not value or len(value) < 3:
            return
        with self._secrets_lock:
            if value in self._secrets:
                return
            self._secrets.add(value)
            forms = set(self._forms) | {f for f in secret_forms(value) if len(f) >= 3}
            self._forms = tuple(sorted(forms, key=len, reverse=True))

    def add_credentials(self, user: str | None, password: str | None) -> None:
        """Register a user and password, and their HTTP Basic token."""
        self.add_secret(user)
        self.add_secret(password)
        if user and password:
            token = basic_token(user, password)
            self.add_secret(token)
            self.add_secret(token.rstrip("="))

    def scrub(self, text: str) -> str:
        """`text` without any registered secret (in any form) or credential-like field."""
        text = _redact_text_urls(str(text))
        for form in self._forms:
            text = text.replace(form, "***")
        return _redact_credential_fields(text)

    def safe_url(self, url: str) -> str:
        return self.scrub(redact_url(url))

    def error(self, message: str, *, url: str = "", status: int | None = None) -> SourceError:
        """The one way a SourceError is built: its text and URL scrubbed."""
        return SourceError(
            self.scrub(message), url=self.safe_url(url) if url else "", status=status
        )

    def response_problem(self, response: requests.Response) -> str:
        """`HTTP <status> <reason>: <body excerpt>`, scrubbed (endpoints echo requests)."""
        try:
            head = next(response.iter_content(_BODY_READ_BYTES), b"")
        except (requests.RequestException, OSError, StopIteration):
            head = b""
        reason = response.reason or ""
        if isinstance(reason, bytes):
            reason = reason.decode("latin-1")
        # Scrub the whole text first, then cut: a cut secret is no longer recognized.
        body = self.scrub(_excerpt(head.decode("utf-8", "replace")))
        problem = self.scrub(f"HTTP {response.status_code} {_excerpt(reason)}".strip())
        if body:
            problem += f": {body[:BODY_EXCERPT_CHARS]}"
        return problem

    def learn_secrets(
        self, url: str, params: Any = None, headers: dict[str, str] | None = None, data: Any = None
    ) -> None:
        """Register the credentials a request carries, so no echo of it can leak them."""
        parts = urlsplit(url)
        if parts.username or parts.password:
            self.add_credentials(unquote(parts.username or ""), unquote(parts.password or ""))
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        pairs += list(params.items()) if isinstance(params, dict) else []
        pairs += list(data.items()) if isinstance(data, dict) else []
        for name, value in pairs:
            if is_secret_name(str(name)) or str(name).lower() in _USER_FIELDS:
                self.add_secret(str(value))
        for name, value in {**self.session.headers, **(headers or {})}.items():
            if is_secret_name(str(name)):
                self._learn_header(str(value))

    def _learn_header(self, value: str) -> None:
        self.add_secret(value)
        scheme, _, credential = value.partition(" ")
        if not credential:
            return
        self.add_secret(credential.strip())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credential.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return
            user, _, password = decoded.partition(":")
            self.add_credentials(user, password)

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
        """Run `attempt_fn` with retries. It returns a value or raises _Retryable/SourceError.

        The final SourceError is raised outside the `except` block, so it carries no
        `__context__` holding an unscrubbed reason.
        """
        attempt = 0
        while True:
            self._throttle()
            try:
                return attempt_fn()
            except _Retryable as exc:
                failure = exc
            reason = self.scrub(failure.reason)
            if attempt >= self.max_retries:
                raise self.error(
                    f"{self._describe(method, url)} failed after {attempt + 1} attempts: {reason}",
                    url=url,
                    status=failure.status,
                )
            delay = failure.retry_after
            if delay is None:
                delay = self.backoff_delay(attempt)
            log.warning(
                "%s: %s; retry %d/%d in %.2fs",
                self._describe(method, url),
                reason,
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
        self.learn_secrets(url, params, headers, data)
        failure: Exception | None = None
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
            failure = _Retryable(f"timed out ({type(exc).__name__})")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            failure = _Retryable(f"connection failed ({type(exc).__name__})")
        except requests.RequestException as exc:
            failure = self.error(
                f"{self._describe(method, url)} failed: {type(exc).__name__}", url=url
            )
        if failure is not None:  # raised here: requests' own text (raw URL) is not chained
            raise failure
        if response.status_code >= 400:
            raise self._failure(method, url, response)
        return response

    def _failure(self, method: str, url: str, response: requests.Response) -> Exception:
        """A _Retryable for a retryable status, else a SourceError; closes the response."""
        status = response.status_code
        try:
            retry_after = self._retry_after(response) if status == 429 else None
            problem = self.response_problem(response)
        finally:
            response.close()
        if status in RETRY_STATUSES:
            return _Retryable(problem, status=status, retry_after=retry_after)
        return self.error(
            f"{self._describe(method, url)} failed: {problem}", url=url, status=status
        )

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
            raise self.error(
                f"refusing unsafe download path {str(dest)!r} for {self.safe_url(url)}", url=url
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
