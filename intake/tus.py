"""The tus 1.0.0 protocol: constants and header parsing, with the upload
contract's metadata (see /work/briefs/upload-contract.md and the OpenAPI file).

Everything here is pure: a header goes in, a value or a ProtocolError comes out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from email.utils import formatdate
from typing import Any

from .errors import IntakeError, ProtocolError
from .identifiers import (
    CONTRACT_PATTERN,
    SHA256_PATTERN,
    check_customer,
    check_filename,
    normalize_case,
)

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
# Preferred first: clients pick sha256 when it is listed.
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
METADATA_KEYS = ("filename", "case", "customer", "contract", "sha256")
CHECKSUM_MISMATCH = 460


@dataclass(frozen=True, kw_only=True)
class Metadata:
    """The Upload-Metadata every upload must carry, validated."""

    filename: str
    case: str
    customer: str
    contract: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def encode(self) -> str:
        """The Upload-Metadata header value again (for HEAD responses)."""
        return ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in self.as_dict().items()
        )


@dataclass(frozen=True)
class Checksum:
    """An Upload-Checksum header: the algorithm and the digest the body must have."""

    algorithm: str
    digest: bytes

    def new(self) -> Any:
        return CHECKSUMS[self.algorithm]()


def protocol_headers() -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION}


def options_headers(max_size: int) -> dict[str, str]:
    return protocol_headers() | {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
    }


def check_resumable(value: str | None) -> None:
    if value != TUS_VERSION:
        raise ProtocolError(
            412, f"Tus-Resumable must be {TUS_VERSION}", {"Tus-Version": TUS_VERSION}
        )


def check_content_type(value: str | None) -> None:
    media_type = (value or "").split(";")[0].strip().lower()
    if media_type != OFFSET_OCTET_STREAM:
        raise ProtocolError(415, f"Content-Type must be {OFFSET_OCTET_STREAM}")


def parse_count(name: str, value: str | None) -> int:
    """A non-negative integer header such as Upload-Length or Upload-Offset."""
    if value is None or not value.strip().isdigit() or not value.strip().isascii():
        raise ProtocolError(400, f"{name} must be a non-negative integer")
    return int(value.strip())


def parse_checksum(value: str | None) -> Checksum | None:
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUMS:
        raise ProtocolError(400, f"unsupported checksum algorithm {algorithm!r}")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(400, "Upload-Checksum digest is not base64") from None
    if len(digest) != CHECKSUMS[algorithm]().digest_size:
        raise ProtocolError(400, f"Upload-Checksum digest has the wrong size for {algorithm}")
    return Checksum(algorithm, digest)


def parse_metadata(value: str | None) -> Metadata:
    """Upload-Metadata: `key base64(value)` pairs; every contract key is required."""
    pairs = _metadata_pairs(value or "")
    missing = [key for key in METADATA_KEYS if not pairs.get(key)]
    if missing:
        raise ProtocolError(400, f"Upload-Metadata lacks {', '.join(missing)}")
    try:
        metadata = Metadata(
            filename=check_filename(pairs["filename"]),
            case=normalize_case(pairs["case"]),
            customer=check_customer(pairs["customer"]),
            contract=pairs["contract"],
            sha256=pairs["sha256"].lower(),
        )
    except IntakeError as error:
        raise ProtocolError(400, f"Upload-Metadata: {error}") from None
    if not CONTRACT_PATTERN.match(metadata.contract):
        raise ProtocolError(400, f"Upload-Metadata: bad contract number {metadata.contract!r}")
    if not SHA256_PATTERN.match(metadata.sha256):
        raise ProtocolError(400, "Upload-Metadata: sha256 must be 64 hex digits")
    return metadata


def metadata_from_dict(document: Mapping[str, str]) -> Metadata:
    return Metadata(**{key: document[key] for key in METADATA_KEYS})


def http_date(timestamp: float) -> str:
    """RFC 7231 IMF-fixdate, as Upload-Expires wants."""
    return formatdate(timestamp, usegmt=True)


def _metadata_pairs(header: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for element in header.split(","):
        if not element.strip():
            continue
        key, _, encoded = element.strip().partition(" ")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise ProtocolError(400, f"Upload-Metadata value of {key!r} is not base64") from None
    return pairs
