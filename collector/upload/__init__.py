"""Attach a bundle to the service request: resumable upload over HTTPS (tus) or SFTP.

The API the CLI uses (`pa-collect --upload`, `pa-collect upload BUNDLE`,
`pa-collect uploads`)::

    target = target_from_settings(profile_document, upload_url=opt_upload_url, home=host.home)
    token = read_token(host, token_file)          # $PA_COLLECT_TOKEN or --token-file
    receipt = upload_bundle(
        bundle, target, token=token, case="TS012345678", customer="1234567",
        contract="PA-778899", host=host, ca_bundle=None, insecure=False,
        progress=lambda done, total: ..., chunk_size=8 * 1024 * 1024,
    )                                             # -> Receipt; UploadFailed exits 3
    receipt.to_dict()                             # for --json
    list_receipts(host)                           # -> list[Receipt], oldest first
    cancel_upload(bundle, token=token, host=host) # drop an unfinished upload

Transports:
- HttpsTarget: tus 1.0.0 (core, creation, checksum, termination, expiration)
  over requests, per briefs/upload-contract.md. Resume state in
  host.state_dir/uploads/<sha256>.json; the server's offset is the truth.
- SftpTarget: paramiko; host key from known_hosts or a pinned fingerprint, never
  auto-accepted; key authentication; <folder>/<product>/<name>.part, then renamed.

Both retry network failures with exponential backoff and full jitter
(RetryPolicy) and store a Receipt in host.state_dir/receipts/<sha256>.json.

Errors: UploadFailed (exit 3, bundle kept, state kept so the same command
resumes); Quarantined, an UploadFailed whose .receipt is also stored; BadInput
(no token for https, missing bundle or --ca-bundle, bad target); Locked when
another process uploads the same bundle.

Nothing here prints: progress goes to the callback as (done, total) while bytes
are on the wire (done can step back after a failed chunk; rate and ETA are the
caller's), and warnings (retries, resume, --insecure) go to the
`collector.upload` logger. The token never appears in messages, logs or reprs.

Profile keys for the target (SETTING_KEYS; the profile schema must allow them):
upload_url, sftp_host, sftp_port, sftp_user, sftp_path, sftp_known_hosts,
sftp_fingerprint, sftp_key_file.
"""

from collector.upload.api import cancel_upload, read_token, upload_bundle
from collector.upload.job import DEFAULT_CHUNK_SIZE, Progress
from collector.upload.receipt import Quarantined, Receipt, list_receipts
from collector.upload.retry import RetryPolicy
from collector.upload.session import Timeouts
from collector.upload.target import (
    SETTING_KEYS,
    HttpsTarget,
    SftpTarget,
    Target,
    parse_target,
    target_from_settings,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SETTING_KEYS",
    "HttpsTarget",
    "Progress",
    "Quarantined",
    "Receipt",
    "RetryPolicy",
    "SftpTarget",
    "Target",
    "Timeouts",
    "cancel_upload",
    "list_receipts",
    "parse_target",
    "read_token",
    "target_from_settings",
    "upload_bundle",
]
