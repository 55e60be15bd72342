"""pa-intake, the reference intake server, as real `pa-intake serve` processes on
127.0.0.1 over HTTPS (a trustme test CA), fed real bundles made by `pa-collect`
on the fake host."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import py7zr
import pytest
import requests
from conftest import (
    build_fake_host,
    collect_on,
    no_traceback,
    only_bundle,
    run_pa_command,
)
from intake_server import (
    CASE,
    CONTRACT,
    CUSTOMER_NO,
    OTHER_CASE,
    OTHER_CUSTOMER,
    PMR,
    Intake,
    MakeIntake,
    cli,
)
from jsonschema import Draft202012Validator
from pa_intake.app import routes

CHUNK = 2048
OPENAPI = Path(__file__).parents[1] / "schemas" / "intake.openapi.yaml"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- bundles, made once per module by the installed pa-collect on the fake host


@dataclass(frozen=True)
class Bundles:
    good: Path
    other_customer: Path
    pmr: Path
    tampered: Path


def _collect(root: Path, *extra: str) -> Path:
    host = build_fake_host(root)

    result = collect_on(host, run_pa_command, *extra)
    assert result.returncode == 0, result.stderr
    return only_bundle(host.out)


def _tamper(bundle: Path, target: Path, work: Path) -> Path:
    """The same bundle re-packed with one collected file altered after collection."""
    with py7zr.SevenZipFile(bundle, "r") as archive:
        archive.extractall(work)
    victim = next(p for p in sorted(work.rglob("*.txt")) if p.name != "manifest.json")
    victim.write_bytes(victim.read_bytes() + b"\nan extra line nobody collected\n")
    with py7zr.SevenZipFile(target, "w") as archive:
        for path in sorted(work.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(work).as_posix())
    return target


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Bundles:
    root = tmp_path_factory.mktemp("bundles")
    good = _collect(root / "good", "--case", CASE)
    other = _collect(root / "other", "--case", CASE, "--customer-number", OTHER_CUSTOMER)
    pmr = _collect(root / "pmr", "--pmr", PMR)
    tampered = _tamper(good, root / good.name, root / "tampered")
    return Bundles(good, other, pmr, tampered)


# -- raw tus requests


def metadata(bundle: Path, **overrides: str) -> dict[str, str]:
    values = {
        "filename": bundle.name,
        "case": CASE,
        "customer": CUSTOMER_NO,
        "contract": CONTRACT,
        "sha256": sha256(bundle.read_bytes()),
    }
    return values | overrides


def encode_metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(
    intake: Intake,
    bundle: Path,
    token: str | None = None,
    length: int | None = None,
    **overrides: str,
) -> requests.Response:
    headers = {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": str(bundle.stat().st_size if length is None else length),
        "Upload-Metadata": encode_metadata(metadata(bundle, **overrides)),
    }
    session = intake.session(intake.tokens["customer"] if token is None else token)
    return session.post(intake.endpoint, headers=headers, timeout=30)


def upload_url(intake: Intake, bundle: Path, **overrides: str) -> str:
    response = create(intake, bundle, **overrides)
    assert response.status_code == 201, response.text
    return urljoin(intake.endpoint, response.headers["Location"])


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def patch(
    intake: Intake,
    url: str,
    data: bytes,
    offset: int,
    *,
    token: str | None = None,
    upload_checksum: str | None = "",
    content_type: str = "application/offset+octet-stream",
) -> requests.Response:
    headers = {
        "Tus-Resumable": "1.0.0",
        "Content-Type": content_type,
        "Upload-Offset": str(offset),
    }
    if upload_checksum is not None:
        headers["Upload-Checksum"] = upload_checksum or checksum(data)
    session = intake.session(intake.tokens["customer"] if token is None else token)
    return session.patch(url, data=data, headers=headers, timeout=60)


def head(intake: Intake, url: str, token: str | None = None) -> requests.Response:
    session = intake.session(intake.tokens["customer"] if token is None else token)
    return session.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=30)


def send_all(intake: Intake, url: str, data: bytes, start: int = 0) -> requests.Response:
    offset, response = start, None
    while offset < len(data) or response is None:
        response = patch(intake, url, data[offset : offset + CHUNK], offset)
        assert response.status_code == 204, (response.status_code, response.text)
        offset = int(response.headers["Upload-Offset"])
    return response


def receipt(intake: Intake, url: str) -> dict[str, object]:
    response = intake.session(intake.tokens["customer"]).get(f"{url}/receipt", timeout=30)
    assert response.status_code == 200, response.text
    document: dict[str, object] = response.json()
    return document


def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# -- conformance: the tus project's own client


def test_tuspy_uploads_a_bundle_over_https(
    intake: Intake, bundles: Bundles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tusclient import client

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(intake.tls.ca))  # tuspy passes verify=True
    tus = client.TusClient(
        intake.endpoint, headers={"Authorization": f"Bearer {intake.tokens['customer']}"}
    )
    # A stream we close: tuspy leaves the files it opens by path to the garbage collector.
    with bundles.good.open("rb") as stream:
        uploader = tus.uploader(
            file_stream=stream,
            chunk_size=CHUNK,
            upload_checksum=True,
            metadata=metadata(bundles.good),
        )
        uploader.upload()

    local = sha256(bundles.good.read_bytes())
    stored = intake.storage / CASE / bundles.good.name
    assert sha256(stored.read_bytes()) == local
    assert uploader.request.response_headers["pa-intake-status"] == "stored"
    document = receipt(intake, uploader.url)
    assert document["status"] == "stored"
    assert document["sha256"] == local
    assert document["size"] == bundles.good.stat().st_size
    assert document["attachment_id"] == uploader.request.response_headers["pa-intake-attachment"]
    assert document["case"] == CASE and document["filename"] == bundles.good.name
    assert document["reason"] is None and str(document["received_at"]).endswith("Z")


def test_options_advertises_the_contract(intake: Intake) -> None:
    response = requests.options(intake.endpoint, verify=str(intake.tls.ca), timeout=10)
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation,checksum,termination,expiration"
    assert response.headers["Tus-Max-Size"] == str(10 * 1024**3)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha256,sha1"


def test_plain_http_is_refused_by_a_tls_server(intake: Intake) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.options(f"http://127.0.0.1:{intake.port}/files/", timeout=5)


# -- protocol errors


def test_creation_answers_location_and_expiry(intake: Intake, bundles: Bundles) -> None:
    response = create(intake, bundles.good)
    assert response.status_code == 201
    assert response.headers["Location"].startswith("/files/")
    assert response.headers["Tus-Resumable"] == "1.0.0"
    expires = parsedate_to_datetime(response.headers["Upload-Expires"])
    assert 23 * 3600 < expires.timestamp() - time.time() <= 24 * 3600
    url = urljoin(intake.endpoint, response.headers["Location"])
    answer = head(intake, url)
    assert answer.status_code == 200
    assert answer.headers["Upload-Offset"] == "0"
    assert answer.headers["Upload-Length"] == str(bundles.good.stat().st_size)
    assert answer.headers["Cache-Control"] == "no-store"


def test_wrong_offset_is_409(intake: Intake, bundles: Bundles) -> None:
    url = upload_url(intake, bundles.good)
    data = bundles.good.read_bytes()
    assert patch(intake, url, data[:CHUNK], 0).status_code == 204
    response = patch(intake, url, data[:CHUNK], 0)
    assert response.status_code == 409
    assert response.headers["Upload-Offset"] == str(CHUNK)
    assert patch(intake, url, data[CHUNK + 1 : CHUNK + 10], CHUNK + 1).status_code == 409
    assert head(intake, url).headers["Upload-Offset"] == str(CHUNK)


def test_bad_checksum_is_460_and_nothing_of_the_chunk_is_kept(
    intake: Intake, bundles: Bundles
) -> None:
    url = upload_url(intake, bundles.good)
    data = bundles.good.read_bytes()
    assert patch(intake, url, data[:CHUNK], 0).status_code == 204
    wrong = checksum(b"something else")
    response = patch(intake, url, data[CHUNK : 2 * CHUNK], CHUNK, upload_checksum=wrong)
    assert response.status_code == 460
    assert head(intake, url).headers["Upload-Offset"] == str(CHUNK)
    partial = intake.storage / "uploads" / upload_id(url) / "data"
    assert partial.stat().st_size == CHUNK
    # sha1 is accepted too, and the upload goes on from where it was.
    sha1 = checksum(data[CHUNK : 2 * CHUNK], "sha1")
    response = patch(intake, url, data[CHUNK : 2 * CHUNK], CHUNK, upload_checksum=sha1)
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == str(2 * CHUNK)
    unknown = patch(intake, url, b"x", 2 * CHUNK, upload_checksum="md5 AAAA")
    assert unknown.status_code == 400


def test_wrong_content_type_is_415(intake: Intake, bundles: Bundles) -> None:
    url = upload_url(intake, bundles.good)
    response = patch(intake, url, b"data", 0, content_type="application/octet-stream")
    assert response.status_code == 415
    assert head(intake, url).headers["Upload-Offset"] == "0"


def test_unknown_upload_is_404(intake: Intake) -> None:
    url = f"{intake.endpoint}{'0' * 32}"
    assert head(intake, url).status_code == 404
    assert patch(intake, url, b"data", 0).status_code == 404
    assert head(intake, f"{intake.endpoint}not-an-id").status_code == 404


def test_oversize_is_413(intake: Intake, bundles: Bundles) -> None:
    assert create(intake, bundles.good, length=10 * 1024**3 + 1).status_code == 413
    small = upload_url(intake, bundles.good)
    data = bundles.good.read_bytes()
    past = patch(intake, small, data + b"one byte too many", 0)
    assert past.status_code == 413
    assert head(intake, small).headers["Upload-Offset"] == "0"


def test_small_max_size_is_advertised_and_enforced(
    make_intake: MakeIntake, bundles: Bundles
) -> None:
    intake = make_intake("--max-size", "4K")
    options = requests.options(intake.endpoint, verify=str(intake.tls.ca), timeout=10)
    assert options.headers["Tus-Max-Size"] == "4096"
    assert create(intake, bundles.good).status_code == 413


def test_missing_or_unknown_token_is_401(intake: Intake, bundles: Bundles) -> None:
    response = create(intake, bundles.good, token="")
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]
    forged = intake.tokens["customer"][:-4] + "AAAA"
    assert create(intake, bundles.good, token=forged).status_code == 401
    url = upload_url(intake, bundles.good)
    assert head(intake, url, token="").status_code == 401
    assert patch(intake, url, b"data", 0, token=forged).status_code == 401


def test_another_customers_token_is_403(intake: Intake, bundles: Bundles) -> None:
    # Their token, our case and customer number in the metadata.
    assert create(intake, bundles.good, token=intake.tokens["other"]).status_code == 403
    # Their token, their customer number, our case.
    response = create(intake, bundles.good, token=intake.tokens["other"], customer=OTHER_CUSTOMER)
    assert response.status_code == 403
    # Our upload, their token.
    url = upload_url(intake, bundles.good)
    data = bundles.good.read_bytes()
    assert head(intake, url, token=intake.tokens["other"]).status_code == 403
    assert patch(intake, url, data[:CHUNK], 0, token=intake.tokens["other"]).status_code == 403
    assert head(intake, url).headers["Upload-Offset"] == "0"


def test_an_unregistered_case_is_403(intake: Intake, bundles: Bundles) -> None:
    assert create(intake, bundles.good, case="TS099999999").status_code == 403
    assert create(intake, bundles.good, case=OTHER_CASE).status_code == 403


def test_engineer_tokens_cannot_upload(intake: Intake, bundles: Bundles) -> None:
    assert create(intake, bundles.good, token=intake.tokens["engineer"]).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [{"sha256": "not-hex"}, {"case": "TS1"}, {"filename": "../escape.7z"}, {"customer": "x"}],
)
def test_bad_metadata_is_400(intake: Intake, bundles: Bundles, overrides: dict[str, str]) -> None:
    assert create(intake, bundles.good, **overrides).status_code == 400


def test_missing_tus_resumable_is_412(intake: Intake, bundles: Bundles) -> None:
    session = intake.session(intake.tokens["customer"])
    response = session.post(
        intake.endpoint,
        headers={
            "Upload-Length": "10",
            "Upload-Metadata": encode_metadata(metadata(bundles.good)),
        },
        timeout=10,
    )
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"


def test_termination_is_204_then_410(intake: Intake, bundles: Bundles) -> None:
    url = upload_url(intake, bundles.good)
    assert patch(intake, url, bundles.good.read_bytes()[:CHUNK], 0).status_code == 204
    session = intake.session(intake.tokens["customer"])
    response = session.delete(url, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
    assert response.status_code == 204
    assert not (intake.storage / "uploads" / upload_id(url) / "data").exists()
    assert head(intake, url).status_code == 410
    assert patch(intake, url, b"more", CHUNK).status_code == 410
    assert session.delete(url, headers={"Tus-Resumable": "1.0.0"}, timeout=10).status_code == 410
    unknown = f"{intake.endpoint}{'f' * 32}"
    assert session.delete(unknown, headers={"Tus-Resumable": "1.0.0"}).status_code == 404


# -- completion


def test_a_good_bundle_is_stored_atomically(intake: Intake, bundles: Bundles) -> None:
    url = upload_url(intake, bundles.good)
    data = bundles.good.read_bytes()
    last = send_all(intake, url, data)
    assert last.headers["Pa-Intake-Status"] == "stored"
    case_dir = intake.storage / CASE
    stored = case_dir / bundles.good.name
    assert sha256(stored.read_bytes()) == sha256(data)
    assert stored.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in case_dir.iterdir() if not p.name.startswith(".")] == [stored.name]
    assert not list(case_dir.rglob("*.tmp")) and not list(case_dir.rglob("*.part"))
    assert not (intake.storage / "uploads" / upload_id(url) / "data").exists()
    assert not (intake.storage / "quarantine").exists()
    document = receipt(intake, url)
    assert document["attachment_id"] == last.headers["Pa-Intake-Attachment"]
    # HEAD on a finished upload tells the outcome too.
    answer = head(intake, url)
    assert answer.headers["Upload-Offset"] == str(len(data))
    assert answer.headers["Pa-Intake-Status"] == "stored"
    # The same bundle again is the same attachment, not a second copy.
    again = send_all(intake, upload_url(intake, bundles.good), data)
    assert again.headers["Pa-Intake-Attachment"] == last.headers["Pa-Intake-Attachment"]


def test_a_pmr_bundle_is_stored_under_its_pmr(intake: Intake, bundles: Bundles) -> None:
    url = upload_url(intake, bundles.pmr, case=PMR)
    last = send_all(intake, url, bundles.pmr.read_bytes())
    assert last.headers["Pa-Intake-Status"] == "stored"
    assert (intake.storage / PMR / bundles.pmr.name).is_file()


@pytest.mark.parametrize(
    ("which", "overrides", "reason"),
    [
        ("good", {"sha256": "0" * 64}, "sha256 mismatch"),
        ("tampered", {}, "altered after collection"),
        ("other_customer", {}, f"customer number {OTHER_CUSTOMER}"),
        ("good", {"contract": "PA-000001"}, "contract number"),
    ],
)
def test_a_bad_bundle_is_quarantined_with_the_reason(
    intake: Intake, bundles: Bundles, which: str, overrides: dict[str, str], reason: str
) -> None:
    bundle: Path = getattr(bundles, which)
    url = upload_url(intake, bundle, **overrides)
    last = send_all(intake, url, bundle.read_bytes())
    assert last.headers["Pa-Intake-Status"] == "quarantined"
    assert reason in last.headers["Pa-Intake-Reason"]
    assert "Pa-Intake-Attachment" not in last.headers
    folder = intake.storage / "quarantine" / upload_id(url)
    assert reason in (folder / "reason.txt").read_text()
    assert (folder / bundle.name).read_bytes() == bundle.read_bytes()
    assert not (intake.storage / CASE).exists()
    document = receipt(intake, url)
    assert document["status"] == "quarantined"
    assert reason in str(document["reason"])
    assert document["attachment_id"] is None


def test_a_file_that_is_not_a_bundle_is_quarantined(intake: Intake, tmp_path: Path) -> None:
    fake = tmp_path / f"{CASE}.pa-collect.os.fake.7z"
    fake.write_bytes(b"7z\xbc\xaf\x27\x1c" + os.urandom(3000))
    url = upload_url(intake, fake)
    last = send_all(intake, url, fake.read_bytes())
    assert last.headers["Pa-Intake-Status"] == "quarantined"
    assert str(intake.storage) not in last.headers["Pa-Intake-Reason"]


# -- robustness


def _slow_patch(
    intake: Intake,
    url: str,
    first: bytes,
    rest: bytes,
    offset: int,
    release: threading.Event,
    with_checksum: bool = True,
) -> tuple[threading.Thread, threading.Event, dict[str, Any]]:
    """A PATCH that sends `first`, waits for `release`, then sends `rest` (chunked)."""
    sent = threading.Event()
    outcome: dict[str, Any] = {}

    def body() -> Iterator[bytes]:
        yield first
        sent.set()
        release.wait(30)
        yield rest

    def run() -> None:
        headers = {
            "Tus-Resumable": "1.0.0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
        }
        if with_checksum:
            headers["Upload-Checksum"] = checksum(first + rest)
        try:
            outcome["response"] = intake.session(intake.tokens["customer"]).patch(
                url, data=body(), headers=headers, timeout=60
            )
        except requests.RequestException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert sent.wait(10)
    time.sleep(0.5)  # the server has read the first part
    return thread, sent, outcome


def test_a_server_killed_mid_upload_resumes_at_the_persisted_offset(
    make_intake: MakeIntake, bundles: Bundles
) -> None:
    intake = make_intake()
    data = bundles.good.read_bytes()
    url = upload_url(intake, bundles.good)
    assert patch(intake, url, data[:CHUNK], 0).status_code == 204

    release = threading.Event()
    thread, _, outcome = _slow_patch(
        intake, url, data[CHUNK : CHUNK + 1000], data[CHUNK + 1000 : 2 * CHUNK], CHUNK, release
    )
    intake.kill()  # SIGKILL in the middle of the second chunk
    release.set()
    thread.join(30)
    assert "error" in outcome or outcome["response"].status_code >= 500

    intake.start()  # same storage, same port
    answer = head(intake, url)
    assert answer.status_code == 200
    assert answer.headers["Upload-Offset"] == str(CHUNK)
    last = send_all(intake, url, data, start=CHUNK)
    assert last.headers["Pa-Intake-Status"] == "stored"
    stored = intake.storage / CASE / bundles.good.name
    assert sha256(stored.read_bytes()) == sha256(data)


def test_an_upload_complete_at_a_crash_is_finished_on_restart(
    make_intake: MakeIntake, bundles: Bundles
) -> None:
    intake = make_intake()
    data = bundles.good.read_bytes()
    url = upload_url(intake, bundles.good)
    assert patch(intake, url, data[:CHUNK], 0).status_code == 204
    intake.kill()
    # As if the last chunk was synced and acknowledged just before the crash.
    folder = intake.storage / "uploads" / upload_id(url)
    (folder / "data").write_bytes(data)
    record = json.loads((folder / "upload.json").read_text())
    (folder / "upload.json").write_text(json.dumps(record | {"offset": len(data)}))
    intake.start()
    deadline = time.monotonic() + 15
    while "Pa-Intake-Status" not in head(intake, url).headers and time.monotonic() < deadline:
        time.sleep(0.1)
    assert head(intake, url).headers["Pa-Intake-Status"] == "stored"
    assert (intake.storage / CASE / bundles.good.name).read_bytes() == data
    finished = patch(intake, url, b"", len(data))  # a client asking again gets the outcome
    assert finished.status_code == 204 and finished.headers["Pa-Intake-Status"] == "stored"


def _cut_off(intake: Intake, url: str, chunk: bytes, sent: int, with_checksum: bool) -> None:
    """Send a PATCH's headers and the first `sent` bytes of its body, then hang up."""
    lines = [
        f"PATCH {urlparse(url).path} HTTP/1.1",
        f"Host: 127.0.0.1:{intake.port}",
        "Tus-Resumable: 1.0.0",
        f"Authorization: Bearer {intake.tokens['customer']}",
        "Content-Type: application/offset+octet-stream",
        "Upload-Offset: 0",
        f"Content-Length: {len(chunk)}",
    ]
    if with_checksum:
        lines.append(f"Upload-Checksum: {checksum(chunk)}")
    context = ssl.create_default_context(cafile=str(intake.tls.ca))
    with (
        socket.create_connection(("127.0.0.1", intake.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + chunk[:sent])
        time.sleep(0.5)


def test_a_cut_off_chunk_keeps_what_arrived_unless_it_has_a_checksum(
    intake: Intake, bundles: Bundles
) -> None:
    data = bundles.good.read_bytes()
    plain = upload_url(intake, bundles.good)
    _cut_off(intake, plain, data[:CHUNK], 1000, with_checksum=False)
    deadline = time.monotonic() + 10
    while head(intake, plain).headers["Upload-Offset"] != "1000" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert head(intake, plain).headers["Upload-Offset"] == "1000"
    assert patch(intake, plain, data[1000:CHUNK], 1000).status_code == 204

    checked = upload_url(intake, bundles.good)
    _cut_off(intake, checked, data[:CHUNK], 1000, with_checksum=True)
    # Nothing of the checksummed chunk was kept: the whole chunk goes again at 0.
    assert patch(intake, checked, data[:CHUNK], 0).status_code == 204
    assert (intake.storage / "uploads" / upload_id(checked) / "data").read_bytes() == data[:CHUNK]


def test_a_stalled_body_is_cut_off_at_the_read_timeout(
    make_intake: MakeIntake, bundles: Bundles
) -> None:
    intake = make_intake("--read-timeout", "1s")
    data = bundles.good.read_bytes()
    url = upload_url(intake, bundles.good)
    release = threading.Event()
    started = time.monotonic()
    thread, _, outcome = _slow_patch(
        intake, url, data[:1000], data[1000:CHUNK], 0, release, with_checksum=False
    )
    deadline = time.monotonic() + 10
    while head(intake, url).headers["Upload-Offset"] != "1000" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert head(intake, url).headers["Upload-Offset"] == "1000"
    assert time.monotonic() - started < 8
    release.set()
    thread.join(30)
    response = outcome.get("response")
    assert response is None or response.status_code == 408


def test_writes_to_one_upload_are_serialized(intake: Intake, bundles: Bundles) -> None:
    data = bundles.good.read_bytes()
    url = upload_url(intake, bundles.good)
    release = threading.Event()
    thread, _, outcome = _slow_patch(intake, url, data[:1000], data[1000:CHUNK], 0, release)
    # A second writer at the same offset waits for the first, then finds it moved on.
    rival: dict[str, requests.Response] = {}
    racer = threading.Thread(
        target=lambda: rival.setdefault("response", patch(intake, url, b"z" * CHUNK, 0))
    )
    racer.start()
    time.sleep(0.5)
    release.set()
    thread.join(30)
    racer.join(30)
    assert outcome["response"].status_code == 204
    assert rival["response"].status_code == 409
    partial = intake.storage / "uploads" / upload_id(url) / "data"
    assert partial.read_bytes() == data[:CHUNK]


def test_too_many_concurrent_uploads_is_429(make_intake: MakeIntake, bundles: Bundles) -> None:
    intake = make_intake("--max-concurrent", "1")
    data = bundles.good.read_bytes()
    first = upload_url(intake, bundles.good)
    second = upload_url(intake, bundles.pmr, case=PMR)
    release = threading.Event()
    thread, _, outcome = _slow_patch(intake, first, data[:1000], data[1000:CHUNK], 0, release)
    busy = patch(intake, second, bundles.pmr.read_bytes()[:CHUNK], 0)
    assert busy.status_code == 429
    assert int(busy.headers["Retry-After"]) > 0
    assert create(intake, bundles.good).status_code == 429
    release.set()
    thread.join(30)
    assert outcome["response"].status_code == 204
    assert patch(intake, second, bundles.pmr.read_bytes()[:CHUNK], 0).status_code == 204


def test_a_stale_partial_upload_expires(make_intake: MakeIntake, bundles: Bundles) -> None:
    intake = make_intake("--expire-after", "1s")
    data = bundles.good.read_bytes()
    url = upload_url(intake, bundles.good)
    response = patch(intake, url, data[:CHUNK], 0)
    assert response.status_code == 204
    assert parsedate_to_datetime(response.headers["Upload-Expires"]).timestamp() < time.time() + 3
    partial = intake.storage / "uploads" / upload_id(url) / "data"
    deadline = time.monotonic() + 15
    while partial.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not partial.exists(), "the sweep did not remove the stale upload"
    assert head(intake, url).status_code in (404, 410)
    assert patch(intake, url, data[CHUNK : 2 * CHUNK], CHUNK).status_code in (404, 410)


# -- engineers


def test_engineer_endpoints_and_the_cli(intake: Intake, bundles: Bundles, tmp_path: Path) -> None:
    data = bundles.good.read_bytes()
    last = send_all(intake, upload_url(intake, bundles.good), data)
    engineer = intake.session(intake.tokens["engineer"])

    listing = engineer.get(f"{intake.base}/cases/{CASE}/bundles", timeout=10)
    assert listing.status_code == 200
    (entry,) = listing.json()
    assert entry["filename"] == bundles.good.name
    assert entry["sha256"] == sha256(data) and entry["size"] == len(data)
    assert entry["attachment_id"] == last.headers["Pa-Intake-Attachment"]
    assert entry["received_at"].endswith("Z")
    download = engineer.get(f"{intake.base}/cases/{CASE}/bundles/{bundles.good.name}")
    assert download.status_code == 200 and download.content == data

    customer = intake.session(intake.tokens["customer"])
    assert customer.get(f"{intake.base}/cases/{CASE}/bundles").status_code == 403
    assert intake.session().get(f"{intake.base}/cases/{CASE}/bundles").status_code == 401
    assert engineer.get(f"{intake.base}/cases/TS099999999/bundles").status_code == 404
    assert engineer.get(f"{intake.base}/cases/{CASE}/bundles/nothing.7z").status_code == 404

    listed = cli("list", CASE, "--json", storage=intake.storage)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [entry]
    plain = cli("list", CASE, storage=intake.storage)
    assert bundles.good.name in plain.stdout and sha256(data) in plain.stdout
    target = tmp_path / "copy.7z"
    got = cli("get", CASE, bundles.good.name, "-o", str(target), storage=intake.storage)
    assert got.returncode == 0, got.stderr
    assert target.read_bytes() == data
    again = cli("get", CASE, bundles.good.name, "-o", str(target), storage=intake.storage)
    assert again.returncode == 2 and "exists" in again.stderr


def test_the_openapi_file_describes_every_endpoint(intake: Intake, bundles: Bundles) -> None:
    yaml = pytest.importorskip("yaml")
    validator = pytest.importorskip("openapi_spec_validator")
    spec = yaml.safe_load(OPENAPI.read_text())
    validator.validate(spec)
    described = {
        (path.rstrip("/"), method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (route.path.rstrip("/"), method)
        for route in routes()
        for method in route.methods or ()
        if not (method == "HEAD" and "GET" in (route.methods or ()))
    }
    assert served == described

    url = upload_url(intake, bundles.good)
    schemas = spec["components"]["schemas"]
    Draft202012Validator(schemas["Receipt"]).validate(receipt(intake, url))
    send_all(intake, url, bundles.good.read_bytes())
    Draft202012Validator(schemas["Receipt"]).validate(receipt(intake, url))
    listing = intake.session(intake.tokens["engineer"]).get(f"{intake.base}/cases/{CASE}/bundles")
    for entry in listing.json():
        Draft202012Validator(schemas["Attachment"]).validate(entry)


# -- tokens and the command line


def test_tokens_are_stored_hashed_and_never_logged(intake: Intake, bundles: Bundles) -> None:
    send_all(intake, upload_url(intake, bundles.good), bundles.good.read_bytes())
    create(intake, bundles.good, token=intake.tokens["customer"] + "x")  # a 401
    stored = (intake.storage / "auth" / "tokens.json").read_text()
    log = intake.log.read_text()
    for value in intake.tokens.values():
        secret = value.split("_", 2)[2]
        assert secret not in stored
        assert secret not in log
    assert "Authorization" not in log
    assert (intake.storage / "auth" / "tokens.json").stat().st_mode & 0o777 == 0o600
    listed = cli("token", "list", storage=intake.storage)
    assert listed.returncode == 0 and "customer" in listed.stdout and "jdoe" in listed.stdout


def test_a_revoked_token_is_refused(intake: Intake, bundles: Bundles) -> None:
    token_id = intake.tokens["customer"].split("_")[1]
    assert cli("token", "revoke", token_id, storage=intake.storage).returncode == 0
    assert create(intake, bundles.good).status_code == 401


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["token", "add"], ["--customer", "--engineer"]),
        (["token", "add", "--customer", "12ab"], ["bad customer number"]),
        (["case", "add", "TS1234", "--customer", CUSTOMER_NO], ["bad case number"]),
        (["case", "add", CASE, "--customer", OTHER_CUSTOMER], ["registered to another"]),
        (["case", "add", CASE], ["--customer"]),
        (["serve", "--max-size", "lots"], ["is not a size"]),
        (["serve", "--expire-after", "soon"], ["is not a duration"]),
        (["serve", "--tls-cert", "cert.pem"], ["--tls-cert and --tls-key"]),
        (["list", "TS099999999"], ["no bundles for case"]),
        (["get", CASE, "nothing.7z"], ["no bundle"]),
        (["frobnicate"], ["No such command"]),
    ],
)
def test_bad_cli_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    storage = tmp_path / "storage"
    assert cli("case", "add", CASE, "--customer", CUSTOMER_NO, storage=storage).returncode == 0
    (storage / CASE).mkdir()
    result = cli(*args, storage=storage)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert no_traceback(result), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pa-intake: error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
