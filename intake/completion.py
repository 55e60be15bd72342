"""The checks a finished upload must pass before it is attached to its case.

In order: the whole file's sha256 equals the metadata; the bundle opens with the
safe reader and verifies (manifest schema, every member's checksum, no unsafe
member); the manifest's customer, contract and case are the ones the upload was
made for, by that customer's token, for a case registered to that customer.
The first failure is the quarantine reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from collector.bundle import BundleError, open_bundle

from .auth import Registry
from .state import QUARANTINED, STORED, Upload, Uploads
from .store import AlreadyStored, Store

MAX_PROBLEMS = 3


def complete(upload: Upload, uploads: Uploads, store: Store, registry: Registry) -> Upload:
    """Store or quarantine a fully received upload; returns its final record."""
    data = uploads.data_path(upload.id)
    reason = refusal(data, upload, registry)
    if reason is None:
        try:
            attachment = store.attach(data, upload.metadata, upload.length)
        except AlreadyStored as error:
            reason = str(error)
        else:
            return uploads.finish(upload, STORED, attachment_id=attachment.attachment_id)
    store.quarantine(data, upload.id, upload.to_json(), reason)
    return uploads.finish(upload, QUARANTINED, reason=reason)


def refusal(data: Path, upload: Upload, registry: Registry) -> str | None:
    """Why the bundle cannot be attached, or None when it can."""
    received = _sha256(data)
    if received != upload.metadata.sha256:
        return f"sha256 mismatch: the metadata says {upload.metadata.sha256}, received {received}"
    try:
        with open_bundle(data) as bundle:
            problems = bundle.verify()
            manifest = bundle.manifest
    except BundleError as error:
        return str(error).replace(str(data), upload.metadata.filename)
    except Exception as error:
        # The one broad catch: a crafted file can break the 7z library in ways it
        # does not name. Such a bundle is refused, never allowed to crash the request.
        return f"{upload.metadata.filename} cannot be read: {type(error).__name__}: {error}"
    if problems:
        listed = "; ".join(str(p) for p in problems[:MAX_PROBLEMS])
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        return f"the bundle does not verify: {listed}{more}"
    return _identity_mismatch(manifest, upload, registry)


def _identity_mismatch(manifest: dict[str, Any], upload: Upload, registry: Registry) -> str | None:
    metadata = upload.metadata
    customer = manifest.get("customer", {})
    case = manifest.get("case", {})
    if customer.get("customer_number") != metadata.customer:
        return (
            f"the manifest's customer number {customer.get('customer_number')} is not "
            f"the upload's customer {metadata.customer}"
        )
    if upload.customer != metadata.customer:
        return f"the token's customer {upload.customer} did not make this upload"
    if customer.get("contract_number") != metadata.contract:
        return (
            f"the manifest's contract number {customer.get('contract_number')} is not "
            f"the upload's contract {metadata.contract}"
        )
    if case.get("id") != metadata.case:
        return f"the manifest's case {case.get('id')} is not the upload's case {metadata.case}"
    if registry.case_owner(metadata.case) != metadata.customer:
        return f"case {metadata.case} is not registered to customer {metadata.customer}"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
