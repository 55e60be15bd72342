"""The entry points the CLI calls: upload (or resume) a bundle, cancel, read a token."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from collector.errors import BadInput, UploadFailed
from collector.host import Host
from collector.upload.job import DEFAULT_CHUNK_SIZE, Progress, prepare, sha256_file
from collector.upload.receipt import Quarantined, Receipt, save_receipt
from collector.upload.retry import RetryPolicy, Transient
from collector.upload.session import Http, Secret, Timeouts
from collector.upload.sftp import upload_sftp
from collector.upload.state import clear_state, load_state, upload_lock
from collector.upload.target import HttpsTarget, SftpTarget, Target
from collector.upload.tus import TusClient
from collector.upload.tus_upload import upload_tus

log = logging.getLogger(__name__)
TOKEN_ENV = "PA_COLLECT_TOKEN"


def upload_bundle(
    bundle: Path,
    target: Target,
    *,
    token: str | None,
    case: str,
    customer: str,
    contract: str,
    host: Host,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    progress: Progress | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    product: str | None = None,
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
) -> Receipt:
    """Upload `bundle`, or resume its earlier upload; store and return the receipt.

    Raises UploadFailed (exit 3; the bundle is untouched) when the upload cannot
    finish, Quarantined (an UploadFailed, receipt stored) when the intake got the
    bundle but quarantined it, BadInput for unusable arguments, Locked when
    another process is uploading the same bundle.
    """
    secret = Secret(token) if token else None
    if isinstance(target, HttpsTarget) and secret is None:
        raise BadInput(f"no upload token: set ${TOKEN_ENV} or give --token-file")
    job = prepare(
        bundle,
        case=case,
        customer=customer,
        contract=contract,
        host=host,
        product=product,
        chunk_size=chunk_size,
        progress=progress,
    )
    retry = retry or RetryPolicy()
    timeouts = timeouts or Timeouts()
    with upload_lock(host, job.sha256):
        try:
            if isinstance(target, SftpTarget):
                receipt = upload_sftp(job, target, retry, timeouts)
            else:
                http = Http(
                    host=host,
                    token=secret,
                    ca_bundle=ca_bundle,
                    insecure=insecure,
                    timeouts=timeouts,
                )
                try:
                    receipt = upload_tus(job, target, http, retry)
                finally:
                    http.close()
        except Quarantined as quarantined:
            save_receipt(host, quarantined.receipt)
            raise
    save_receipt(host, receipt)
    return receipt


def cancel_upload(
    bundle: Path,
    *,
    token: str | None,
    host: Host,
    ca_bundle: Path | None = None,
    insecure: bool = False,
) -> bool:
    """Forget the unfinished upload of `bundle`, and ask its tus server to delete
    the partial data (termination). True when there was one."""
    digest = sha256_file(bundle)
    with upload_lock(host, digest):
        state = load_state(host, digest)
        if state is None:
            return False
        secret = Secret(token) if token else None
        http = Http(host=host, token=secret, ca_bundle=ca_bundle, insecure=insecure)
        try:
            TusClient(http, state.target, {}).terminate(state.upload_url)
        except UploadFailed as error:
            log.warning("the server did not delete %s: %s", state.upload_url, error)
        except Transient as error:
            # Not worth retrying: the server expires abandoned uploads itself.
            log.warning("could not reach %s: %s", state.upload_url, error)
        finally:
            http.close()
        clear_state(host, digest)
        return True


def read_token(host: Host, token_file: Path | None = None) -> str | None:
    """The upload token: from `token_file`, else $PA_COLLECT_TOKEN (host.env).

    Never from argv. A token file readable by others is used but warned about."""
    if token_file is None:
        return host.env.get(TOKEN_ENV, "").strip() or None
    try:
        mode = token_file.stat().st_mode
        text = token_file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise BadInput(f"cannot read token file {token_file}: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("token file %s is readable by others: chmod 600 %s", token_file, token_file)
    if not text:
        raise BadInput(f"token file {token_file} is empty")
    return text
