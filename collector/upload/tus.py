"""The tus 1.0.0 protocol, client side: one method per request, no policy.

core (HEAD, PATCH), creation (POST), checksum (Upload-Checksum on every PATCH),
termination (DELETE), expiration (Upload-Expires), plus pa-intake's receipt
(Pa-Intake-* headers on the last PATCH, GET <upload>/receipt). Each response is
sorted here into: a result, `Transient` (retry), `Gone` (the server no longer
has the upload: start a new one) or UploadFailed with what to fix.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from collector.errors import UploadFailed
from collector.upload.job import iso_utc
from collector.upload.retry import Transient
from collector.upload.session import Http

TUS_VERSION = "1.0.0"
TRANSIENT_STATUSES = {408, 409, 423, 429, 460, 500, 502, 503, 504}
BUNDLE_TYPE = "application/x-7z-compressed"


class Gone(Exception):
    """404/410: the upload expired, was terminated, or the server forgot it."""


@dataclass(frozen=True)
class Capabilities:
    max_size: int | None
    checksum: str  # "sha256" or "sha1"
    extensions: frozenset[str]


@dataclass(frozen=True)
class Patched:
    offset: int
    expires: str | None
    headers: Mapping[str, str]


class TusClient:
    """Requests against one tus endpoint; `metadata` also words the 403 message."""

    def __init__(self, http: Http, endpoint: str, metadata: Mapping[str, str]) -> None:
        self.http = http
        self.endpoint = endpoint
        self.metadata = metadata

    def capabilities(self) -> Capabilities:
        response = self._send("OPTIONS", self.endpoint)
        self._check(response, "OPTIONS")
        versions = _list(response.headers.get("Tus-Version", ""))
        if not versions and "Tus-Resumable" not in response.headers:
            raise UploadFailed(f"{self.endpoint} is not a tus upload endpoint: check upload_url")
        if versions and TUS_VERSION not in versions:
            raise UploadFailed(f"{self.endpoint} speaks tus {', '.join(versions)}, not 1.0.0")
        extensions = frozenset(_list(response.headers.get("Tus-Extension", "")))
        if "Tus-Extension" in response.headers and "creation" not in extensions:
            raise UploadFailed(f"{self.endpoint} does not support tus upload creation")
        algorithms = _list(response.headers.get("Tus-Checksum-Algorithm", "").lower())
        max_size = response.headers.get("Tus-Max-Size", "")
        return Capabilities(
            max_size=int(max_size) if max_size.isdigit() else None,
            checksum="sha256" if "sha256" in algorithms else "sha1",
            extensions=extensions,
        )

    def create(self, size: int) -> tuple[str, str | None]:
        """POST a new upload; its absolute URL and expiry."""
        headers = {"Upload-Length": str(size), "Upload-Metadata": encode_metadata(self.metadata)}
        response = self._send("POST", self.endpoint, headers=headers)
        self._check(response, "POST")
        if response.status_code != 201 or "Location" not in response.headers:
            raise UploadFailed(
                f"the server answered the upload creation with HTTP {response.status_code} "
                "and no Location: is upload_url a tus endpoint?"
            )
        url = urljoin(self.endpoint, response.headers["Location"])
        if _origin(url) != _origin(self.endpoint):
            # The token goes wherever the upload lives; keep it on the configured server.
            raise UploadFailed(f"the server placed the upload on another server ({url})")
        return url, expires(response.headers)

    def offset(self, url: str, size: int) -> int:
        """HEAD: the server's offset. Gone when unknown, expired or of another length."""
        response = self._send("HEAD", url)
        if response.status_code in (404, 410):
            raise Gone(url)
        self._check(response, "HEAD")
        if response.headers.get("Upload-Length", str(size)) != str(size):
            raise Gone(url)
        return _offset(response)

    def patch(
        self,
        url: str,
        offset: int,
        chunk: bytes,
        algorithm: str,
        *,
        final: bool,
        on_sent: Callable[[int], None] | None = None,
    ) -> Patched:
        digest = hashlib.new(algorithm, chunk).digest()
        headers = {
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            "Upload-Checksum": f"{algorithm} {base64.b64encode(digest).decode()}",
        }
        body = ChunkBody(chunk, on_sent)
        read_timeout = self.http.timeouts.final_read if final else None
        response = self._send("PATCH", url, headers=headers, body=body, read_timeout=read_timeout)
        if response.status_code in (404, 410):
            raise Gone(url)
        self._check(response, "PATCH")
        return Patched(_offset(response), expires(response.headers), response.headers)

    def terminate(self, url: str) -> None:
        response = self._send("DELETE", url)
        if response.status_code not in (404, 410):
            self._check(response, "DELETE")

    def receipt(self, url: str) -> dict[str, Any] | None:
        """pa-intake's receipt document; None from a server that has none."""
        response = self._send("GET", url.rstrip("/") + "/receipt", accept="application/json")
        if response.status_code in (404, 405, 501):
            return None
        self._check(response, "GET receipt")
        try:
            document = response.json()
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: ChunkBody | None = None,
        read_timeout: float | None = None,
        accept: str | None = None,
    ) -> requests.Response:
        sent = {"Tus-Resumable": TUS_VERSION, **(headers or {})}
        if accept:
            sent["Accept"] = accept
        return self.http.request(method, url, headers=sent, body=body, read_timeout=read_timeout)

    def _check(self, response: requests.Response, action: str) -> None:
        """Raise unless 2xx; the message says what the user can do about it."""
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = self._detail(response)
        if status in TRANSIENT_STATUSES or status >= 500:
            what = {409: "offset conflict", 460: "chunk checksum mismatch"}.get(status, "")
            raise Transient(
                f"{action}: HTTP {status} {what or response.reason}{detail}",
                retry_after=_retry_after(response),
            )
        raise UploadFailed(self._refusal(status, action) + detail)

    def _refusal(self, status: int, action: str) -> str:
        case, customer = self.metadata.get("case"), self.metadata.get("customer")
        if status == 401:
            return (
                "the intake refused the token (HTTP 401): check $PA_COLLECT_TOKEN or "
                "the token file; it must be a valid token issued to your customer number"
            )
        if status == 403 and action == "POST":
            return (
                f"the intake refused the upload (HTTP 403): case {case} is not registered "
                f"for customer {customer}, or the token belongs to another customer"
            )
        if status == 403:
            return f"the intake refused {action} (HTTP 403): the token may not use this upload"
        if status == 413:
            return "the bundle is larger than the intake accepts (HTTP 413)"
        if status == 400:
            return (
                f"the intake rejected the upload request (HTTP 400): check the case ({case}), "
                f"customer number ({customer}) and contract number"
            )
        if 300 <= status < 400:
            return f"{action} was redirected (HTTP {status}): set upload_url to the final address"
        return f"{action}: unexpected HTTP {status} from the intake"

    def _detail(self, response: requests.Response) -> str:
        """The server's own words, short, printable, and never echoing the token."""
        text = response.text if response.content else ""
        try:
            document = json.loads(text)
            if isinstance(document, dict):
                text = str(document.get("detail") or document.get("error") or document)
        except ValueError:
            pass
        text = re.sub(r"[^\x20-\x7e]+", " ", text).strip()[:200]
        if self.http.token is not None:
            text = self.http.token.scrub(text)
        return f" [server: {text}]" if text else ""


class ChunkBody:
    """A chunk as a readable body, so progress moves while the chunk is on the wire."""

    def __init__(self, data: bytes, on_sent: Callable[[int], None] | None) -> None:
        self._view = memoryview(data)
        self._position = 0
        self._on_sent = on_sent

    def __len__(self) -> int:
        return len(self._view)

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else min(len(self._view), self._position + size)
        block = bytes(self._view[self._position : end])
        self._position = end
        if block and self._on_sent is not None:
            self._on_sent(len(block))
        return block


def encode_metadata(metadata: Mapping[str, str]) -> str:
    """tus Upload-Metadata: comma-separated `key base64(value)`."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items())


def expires(headers: Mapping[str, str]) -> str | None:
    """Upload-Expires (RFC 7231 date) as ISO UTC, or None."""
    text = headers.get("Upload-Expires")
    if not text:
        return None
    try:
        return iso_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError):
        return None


def _offset(response: requests.Response) -> int:
    text = response.headers.get("Upload-Offset", "")
    if not text.isdigit():
        raise Transient(f"the server sent no valid Upload-Offset (HTTP {response.status_code})")
    return int(text)


def _retry_after(response: requests.Response) -> float | None:
    text = response.headers.get("Retry-After", "")
    return float(text) if text.isdigit() else None


def _list(header: str) -> list[str]:
    return [item.strip() for item in header.split(",") if item.strip()]


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port
