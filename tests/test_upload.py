"""collector.upload against real servers on 127.0.0.1: a third-party tus server
(tuspyserver under uvicorn), the same over TLS with a trustme CA, a fault-injecting
proxy in front of it, and OpenSSH's sshd for SFTP. Every process and thread is
started by a fixture and stopped in its teardown."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from collector.errors import BadInput, ExitStatus, UploadFailed
from collector.host import Host
from collector.upload import (
    HttpsTarget,
    Quarantined,
    Receipt,
    RetryPolicy,
    SftpTarget,
    Timeouts,
    cancel_upload,
    list_receipts,
    parse_target,
    read_token,
    target_from_settings,
    upload_bundle,
)
from collector.upload.job import product_from_name
from collector.upload.receipt import save_receipt
from collector.upload.session import Secret, bypasses_proxy, proxies_for
from collector.upload.state import ResumeState, load_state, save_state
from collector.upload.target import sftp_target

MiB = 1024 * 1024
CHUNK = MiB
TOKEN = "pa-Tok3n-s3cr3t-0123456789abcdef"
CASE = dict(case="TS012345678", customer="1234567", contract="PA-778899")
NAME = "TS012345678.pa-collect.db2.dbhost.20240501T120000Z.7z"
FAST = RetryPolicy(attempts=10, base=0.01, cap=0.05)
PATIENT = RetryPolicy(attempts=60, base=0.05, cap=0.25)
SSHD = Path("/usr/sbin/sshd")

TUS_APP = textwrap.dedent(
    """
    import json
    import os
    from pathlib import Path

    from fastapi import FastAPI, HTTPException, Request
    from tuspyserver import create_tus_router

    TOKEN = os.environ.get("TUS_TOKEN")
    VERDICT = os.environ.get("TUS_VERDICT")


    def auth(request: Request) -> None:
        if TOKEN and request.headers.get("authorization") != f"Bearer {TOKEN}":
            raise HTTPException(status_code=401, detail="unknown token")


    app = FastAPI()
    app.include_router(
        create_tus_router(
            prefix="files",
            files_dir=os.environ["TUS_FILES"],
            auth=auth,
            max_size=int(os.environ.get("TUS_MAX_SIZE", str(10**11))),
        )
    )

    if VERDICT:  # imitate pa-intake: a verdict on the last PATCH, and a receipt

        @app.middleware("http")
        async def verdict_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
            response = await call_next(request)
            uid = request.url.path.rstrip("/").rsplit("/", 1)[-1]
            info = Path(os.environ["TUS_FILES"], f"{uid}.info")
            if request.method == "PATCH" and response.status_code == 204 and info.exists():
                upload = json.loads(info.read_text())
                if upload["offset"] == upload["size"]:
                    response.headers["Pa-Intake-Status"] = VERDICT
                    if VERDICT == "stored":
                        response.headers["Pa-Intake-Attachment"] = f"ATT-{uid[:8]}"
                    else:
                        response.headers["Pa-Intake-Reason"] = "manifest.json does not validate"
            return response

    if VERDICT and os.environ.get("TUS_RECEIPT") == "1":

        @app.get("/files/{uid}/receipt")
        def receipt(uid: str) -> dict[str, object]:
            stored = VERDICT == "stored"
            return {
                "upload_id": uid,
                "attachment_id": f"ATT-{uid[:8]}" if stored else None,
                "status": VERDICT,
                "reason": None if stored else "manifest.json does not validate",
            }
    """
)


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    pytest.fail(f"server did not listen on {port}:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def make_bundle(folder: Path, size: int, name: str = NAME) -> Path:
    path = folder / name
    with path.open("wb") as stream:
        remaining = size
        while remaining:
            block = os.urandom(min(MiB, remaining))
            stream.write(block)
            remaining -= len(block)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_host(tmp_path: Path, **env: str) -> Host:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return Host(env={"HOME": str(home), **env})


# ---------------------------------------------------------------- tus server


@dataclass
class TusServer:
    folder: Path
    port: int
    env: dict[str, str]
    tls: tuple[Path, Path] | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def files(self) -> Path:
        return self.folder / "files"

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/files/"

    def start(self) -> TusServer:
        command = [sys.executable, "-m", "uvicorn", "tusapp:app", "--app-dir", str(self.folder)]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        if self.tls:
            command += ["--ssl-certfile", str(self.tls[0]), "--ssl-keyfile", str(self.tls[1])]
        log = self.folder / "server.log"
        env = {**os.environ, "TUS_FILES": str(self.files), **self.env}
        with log.open("ab") as output:
            self.process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        wait_for_port(self.port, self.process, log)
        return self

    def kill(self) -> None:
        if self.process is not None:
            stop(self.process)

    def stored(self, receipt: Receipt) -> Path:
        return self.files / receipt.upload_url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def tus_server(tmp_path: Path) -> Iterator[Callable[..., TusServer]]:
    """Start tuspyserver (under uvicorn) with extra environment and optional TLS."""
    started: list[TusServer] = []

    def start(tls: tuple[Path, Path] | None = None, **env: str) -> TusServer:
        folder = tmp_path / f"tus{len(started)}"
        folder.mkdir()
        (folder / "tusapp.py").write_text(TUS_APP)
        server = TusServer(folder, free_port(), env, tls)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.kill()


# ---------------------------------------------------------------- fault proxy


@dataclass
class Fault:
    """ "status": answer `status` without forwarding; "reset": RST after `after`
    body bytes; "stall": say nothing for `seconds`, then hang up."""

    kind: str
    status: int = 503
    after: int = 0
    seconds: float = 0.0


@dataclass
class ProxyState:
    upstream: int
    faults: dict[tuple[str, int], Fault] = field(default_factory=dict)
    delay: float = 0.0  # seconds per 64 KiB of PATCH body read
    hold: int | None = None  # hold the nth PATCH after reading its body
    drop_held: bool = False  # then drop it instead of forwarding it
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: dict[str, int] = field(default_factory=dict)
    patch_bytes: int = 0
    checksums: set[str] = field(default_factory=set)  # algorithms seen on PATCHes
    advertise: str | None = None  # add Tus-Checksum-Algorithm to OPTIONS answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, method: str) -> int:
        with self.lock:
            self.seen[method] = self.seen.get(method, 0) + 1
            return self.seen[method]


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_request(self) -> None:
        state = self.server.state
        number = state.count(self.command)
        fault = state.faults.get((self.command, number))
        body = self._read_body(state, fault)
        if body is None:
            return
        if fault is not None and fault.kind == "status":
            self._answer(fault.status, {"Tus-Resumable": "1.0.0"}, b"injected")
            return
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
            self._reset()
            return
        if self.command == "PATCH" and not self._checksum_matches(state, body):
            self._answer(460, {"Tus-Resumable": "1.0.0"}, b"checksum mismatch")
            return
        if self.command == "PATCH" and state.hold == number:
            state.held.set()
            state.release.wait(30)
            if state.drop_held:
                self._reset()
                return
        self._forward(state, body)

    do_GET = do_HEAD = do_POST = do_PATCH = do_OPTIONS = do_DELETE = do_request

    def _read_body(self, state: ProxyState, fault: Fault | None) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        parts: list[bytes] = []
        received = 0
        while received < length:
            if fault is not None and fault.kind == "reset" and received >= fault.after:
                self._reset()
                return None
            piece = self.rfile.read(min(64 * 1024, length - received))
            if not piece:  # the client went away mid-body
                self.close_connection = True
                return None
            parts.append(piece)
            received += len(piece)
            if self.command == "PATCH":
                with state.lock:
                    state.patch_bytes += len(piece)
                if state.delay:
                    time.sleep(state.delay)
        return b"".join(parts)

    def _checksum_matches(self, state: ProxyState, body: bytes) -> bool:
        """The tus checksum extension, which tuspyserver lacks, done here."""
        algorithm, _, digest = self.headers.get("Upload-Checksum", "").partition(" ")
        state.checksums.add(algorithm)
        if algorithm not in ("sha1", "sha256"):
            return False
        return base64.b64encode(hashlib.new(algorithm, body).digest()).decode() == digest

    def _forward(self, state: ProxyState, body: bytes) -> None:
        path = urlsplit(self.path)._replace(scheme="", netloc="").geturl() or "/"
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection("127.0.0.1", state.upstream, timeout=30)
        try:
            upstream.request(self.command, path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        except OSError:
            self._answer(502, {}, b"upstream unavailable")
            return
        finally:
            upstream.close()
        kept = {
            k: v
            for k, v in response.getheaders()
            if k.lower() not in HOP_BY_HOP | {"date", "server", "content-length"}
        }
        if self.command == "HEAD":
            kept["Content-Length"] = response.getheader("Content-Length", "0")
        if self.command == "OPTIONS" and state.advertise:
            kept["Tus-Checksum-Algorithm"] = state.advertise
        self._answer(response.status, kept, data)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ProxyState) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.state = state

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and killed clients are the point here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/files/"


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[TusServer], ProxyServer]]:
    servers: list[tuple[ProxyServer, threading.Thread]] = []

    def start(upstream: TusServer) -> ProxyServer:
        proxy = ProxyServer(ProxyState(upstream=upstream.port))
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        servers.append((proxy, thread))
        return proxy

    yield start
    for proxy, thread in servers:
        proxy.state.release.set()
        proxy.shutdown()
        proxy.server_close()
        thread.join(10)


def upload(bundle: Path, url: str, host: Host, **options: object) -> Receipt:
    settings: dict[str, object] = {
        "token": TOKEN,
        "host": host,
        "chunk_size": CHUNK,
        "retry": FAST,
        **CASE,
    }
    settings.update(options)
    return upload_bundle(bundle, parse_target(url), **settings)  # type: ignore[arg-type]


def resent(proxy: ProxyServer, bundle: Path) -> int:
    return proxy.state.patch_bytes - bundle.stat().st_size


# ---------------------------------------------------------------- unit tests


def test_parse_https_and_sftp_targets() -> None:
    assert parse_target("https://intake.example.com/files/") == HttpsTarget(
        url="https://intake.example.com/files/"
    )
    assert isinstance(parse_target("http://127.0.0.1:8080/files/"), HttpsTarget)
    target = parse_target("sftp://anon@sftp.ecurep.ibm.com:2222/toibm")
    assert target == SftpTarget(host="sftp.ecurep.ibm.com", user="anon", port=2222, folder="/toibm")
    assert str(target) == "sftp://anon@sftp.ecurep.ibm.com:2222/toibm"
    assert parse_target("sftp://u@h").folder == "."


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://intake.example.com/files/", "use https"),
        ("https://user:pw@intake.example.com/files/", "no credentials"),
        ("sftp://host.example.com/x", "give the SFTP user"),
        ("sftp://u:pw@host.example.com/x", "no password"),
        ("ftp://host/x", "use https"),
        ("https://h:99999/files/", "invalid port"),
    ],
)
def test_bad_targets_are_refused(url: str, words: str) -> None:
    with pytest.raises(BadInput, match=words) as error:
        parse_target(url)
    assert "pw@" not in str(error.value)


def test_target_from_settings(tmp_path: Path) -> None:
    settings = {
        "sftp_host": "sftp.example.com",
        "sftp_user": "ops",
        "sftp_port": "2022",
        "sftp_path": "/toibm",
        "sftp_known_hosts": "~/kh",
        "sftp_fingerprint": "SHA256:" + "A" * 43,
    }
    target = target_from_settings(settings, home=tmp_path)
    assert target == SftpTarget(
        host="sftp.example.com",
        user="ops",
        port=2022,
        folder="/toibm",
        known_hosts=tmp_path / "kh",
        fingerprint="SHA256:" + "A" * 43,
    )
    override = target_from_settings(settings, "https://i.example.com/files/", home=tmp_path)
    assert override == HttpsTarget(url="https://i.example.com/files/")
    with pytest.raises(BadInput, match="no upload target"):
        target_from_settings({}, home=tmp_path)
    with pytest.raises(BadInput, match="ssh-keygen"):
        sftp_target(host="h", user="u", fingerprint="MD5:aa:bb")


def test_proxies_follow_host_env_and_no_proxy() -> None:
    env = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".corp.example, 10.0.0.0/8, h:8443"}
    assert proxies_for("https://intake.ibm.com/files/", env) == {"https": "http://proxy:3128"}
    assert proxies_for("https://a.corp.example/files/", env) == {}
    assert proxies_for("https://10.1.2.3/files/", env) == {}
    assert proxies_for("https://h:8443/files/", env) == {}
    assert proxies_for("https://h/files/", env) == {"https": "http://proxy:3128"}
    assert proxies_for("http://intake.ibm.com/", env) == {}  # no http_proxy set
    assert proxies_for("http://x/", {"all_proxy": "http://p:1"}) == {"http": "http://p:1"}
    assert bypasses_proxy("anything", 443, "*")
    assert not bypasses_proxy("notcorp.example", 443, "corp.example")


def test_full_jitter_backoff_stays_within_its_ceiling() -> None:
    policy = RetryPolicy(base=1.0, cap=8.0, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert RetryPolicy(jitter=lambda: 0.0).delay(3) == 0.0
    assert RetryPolicy(cap=5.0, jitter=lambda: 0.0).delay(1, retry_after=30) == 5.0
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, base=0.5, cap=10, sleep=slept.append)
    for failures in range(1, 30):
        assert 0 <= policy.delay(failures) <= min(10, 0.5 * 2 ** (failures - 1))


def test_state_and_receipts_are_private(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    state = ResumeState(
        sha256="ab" * 32, bundle="b", size=3, target="t", upload_url="u", started="s"
    )
    save_state(host, state)
    path = host.state_dir / "uploads" / f"{'ab' * 32}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_state(host, "ab" * 32) == state
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    path.write_text("{not json")
    assert load_state(host, "ab" * 32) is None
    receipt = Receipt(
        transport="tus", target="t", upload_url="u", filename="f", case="c",
        attachment_id=None, status="uploaded", bytes=3, sha256="cd" * 32,
        started="2024-01-01T00:00:00Z", finished="2024-01-01T00:00:01Z",
    )  # fmt: skip
    saved = save_receipt(host, receipt)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert list_receipts(host) == [receipt]
    assert json.loads(saved.read_text()) == receipt.to_dict()


def test_token_comes_from_env_or_file_and_never_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = make_host(tmp_path, PA_COLLECT_TOKEN=TOKEN)
    assert read_token(host) == TOKEN
    assert read_token(make_host(tmp_path)) is None
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert read_token(host, token_file) == "pa-Tok3n-s3cr3t-0123456789abcdef"
    assert "chmod 600" in caplog.text and TOKEN not in caplog.text
    secret = Secret(TOKEN)
    assert TOKEN not in repr(secret) and TOKEN not in f"{secret}"
    assert secret.scrub(f"echo {TOKEN}") == "echo ***"
    with pytest.raises(BadInput) as error:
        Secret("two words")
    assert "two words" not in str(error.value)


def test_product_comes_from_the_bundle_name() -> None:
    assert product_from_name(NAME) == "db2"
    assert product_from_name("12345.678.672.pa-collect.mq+os.h.20240101T000000Z.7z") == "mq"
    assert product_from_name("random.7z") == "other"


def test_https_target_needs_a_token(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, 10)
    with pytest.raises(BadInput, match="PA_COLLECT_TOKEN"):
        upload(bundle, "https://127.0.0.1:9/files/", make_host(tmp_path), token=None)


# ---------------------------------------------------------------- tus over HTTP(S)


def test_upload_to_a_third_party_tus_server(
    tmp_path: Path, tus_server: Callable[..., TusServer]
) -> None:
    server = tus_server()
    bundle = make_bundle(tmp_path, 20 * MiB + 12345)
    host = make_host(tmp_path)
    seen: list[tuple[int, int]] = []
    receipt = upload(
        bundle, server.url, host, progress=lambda done, total: seen.append((done, total))
    )
    assert sha256(server.stored(receipt)) == sha256(bundle) == receipt.sha256
    assert receipt.status == "uploaded" and receipt.attachment_id is None
    assert receipt.bytes == bundle.stat().st_size and receipt.resent_bytes == 0
    assert receipt.upload_url.startswith(server.url) and receipt.transport == "tus"
    assert seen[-1] == (receipt.bytes, receipt.bytes)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert list_receipts(host) == [receipt]
    assert not list((host.state_dir / "uploads").glob("*.json"))  # resume state dropped


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_pem.write_to_path(str(key_file))
    for pem in cert.cert_chain_pems:
        pem.write_to_path(str(cert_file), append=True)
    return ca_file, cert_file, key_file


def test_https_verified_with_ca_bundle(
    tmp_path: Path, tus_server: Callable[..., TusServer], tls_files: tuple[Path, Path, Path]
) -> None:
    ca_file, cert_file, key_file = tls_files
    server = tus_server(tls=(cert_file, key_file))
    bundle = make_bundle(tmp_path, 3 * MiB)
    receipt = upload(bundle, server.url, make_host(tmp_path), ca_bundle=ca_file)
    assert receipt.upload_url.startswith("https://127.0.0.1:")
    assert sha256(server.stored(receipt)) == sha256(bundle)


def test_https_refused_without_the_ca(
    tmp_path: Path, tus_server: Callable[..., TusServer], tls_files: tuple[Path, Path, Path]
) -> None:
    _, cert_file, key_file = tls_files
    server = tus_server(tls=(cert_file, key_file))
    bundle = make_bundle(tmp_path, MiB)
    with pytest.raises(UploadFailed, match="cannot verify the TLS certificate") as error:
        upload(bundle, server.url, make_host(tmp_path))
    assert "--ca-bundle" in str(error.value)
    assert error.value.exit_status == ExitStatus.UPLOAD_FAILED
    assert not list(server.files.glob("*.info"))


def test_https_insecure_only_when_asked_and_warned(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    tls_files: tuple[Path, Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, cert_file, key_file = tls_files
    server = tus_server(tls=(cert_file, key_file))
    bundle = make_bundle(tmp_path, MiB)
    with caplog.at_level(logging.WARNING, logger="collector.upload"):
        receipt = upload(bundle, server.url, make_host(tmp_path), insecure=True)
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert "TLS certificate verification is OFF" in caplog.text


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", 503),
        Fault("status", 500),
        Fault("status", 409),
        Fault("status", 460),
        Fault("reset", after=CHUNK // 2),
    ],
    ids=["503", "500", "409", "460", "reset-mid-patch"],
)
def test_faults_are_retried(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
    fault: Fault,
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.faults = {("PATCH", 4): fault, ("PATCH", 5): fault, ("PATCH", 9): fault}
    bundle = make_bundle(tmp_path, 12 * MiB)
    receipt = upload(bundle, proxy.url, make_host(tmp_path))
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert proxy.state.seen["PATCH"] == 12 + 3
    # Each failure costs at most the chunk in flight.
    assert resent(proxy, bundle) <= 3 * CHUNK
    assert receipt.resent_bytes == 3 * CHUNK


def test_one_interruption_resends_less_than_two_chunks(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.faults = {("PATCH", 7): Fault("reset", after=CHUNK - 64 * 1024)}
    bundle = make_bundle(tmp_path, 20 * MiB)
    receipt = upload(bundle, proxy.url, make_host(tmp_path))
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert 0 < resent(proxy, bundle) < 2 * CHUNK
    print(f"\nresent after a reset mid-PATCH: {resent(proxy, bundle)} bytes")


def test_busy_server_on_creation_is_retried(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.faults = {("OPTIONS", 1): Fault("status", 503), ("POST", 1): Fault("status", 429)}
    bundle = make_bundle(tmp_path, 2 * MiB)
    receipt = upload(bundle, proxy.url, make_host(tmp_path))
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert proxy.state.seen["POST"] == 2


def test_gives_up_after_the_policy_and_keeps_state(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.faults = {("PATCH", n): Fault("status", 503) for n in range(3, 10)}
    bundle = make_bundle(tmp_path, 4 * MiB)
    host = make_host(tmp_path)
    policy = RetryPolicy(attempts=3, base=0.01, cap=0.02)
    with pytest.raises(UploadFailed, match=r"3 times in a row.*resumes the upload"):
        upload(bundle, proxy.url, host, retry=policy)
    assert bundle.exists()
    state = load_state(host, sha256(bundle))
    assert state is not None and state.upload_url.startswith(proxy.url)
    proxy.state.faults = {}
    receipt = upload(bundle, proxy.url, host)
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert receipt.upload_url == state.upload_url  # resumed, not a new upload


CLIENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from collector.host import Host
    from collector.upload import RetryPolicy, parse_target, upload_bundle

    bundle, url, home, token = sys.argv[1:]
    receipt = upload_bundle(
        Path(bundle), parse_target(url), token=token, case="TS012345678",
        customer="1234567", contract="PA-778899", host=Host(env={"HOME": home}),
        chunk_size=1024 * 1024, retry=RetryPolicy(base=0.05, cap=0.2),
    )
    print(receipt.resent_bytes)
    """
)


@pytest.mark.parametrize("in_flight", ["delivered", "lost"])
def test_client_killed_mid_upload_resumes(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
    in_flight: str,
) -> None:
    """SIGKILL the uploading process halfway, run it again. "delivered": the
    chunk the dead client had already written still reaches the server (what
    TCP does); "lost": the proxy drops it, as a network cut would."""
    server = tus_server()
    proxy = fault_proxy(server)
    if in_flight == "lost":
        proxy.state.hold, proxy.state.drop_held = 5, True
    else:
        proxy.state.delay = 0.02  # about 0.3 s per chunk
    bundle = make_bundle(tmp_path, 8 * MiB)
    host = make_host(tmp_path)
    command = [sys.executable, "-c", CLIENT, str(bundle), proxy.url, str(host.home), TOKEN]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            proxy.state.held.is_set() or proxy.state.patch_bytes >= 4 * MiB + CHUNK // 2
        ):
            assert first.poll() is None, first.communicate()
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
    finally:
        first.communicate(timeout=10)
    proxy.state.release.set()
    state = load_state(host, sha256(bundle))
    assert state is not None, "the killed run left no resume state"
    time.sleep(0.5)  # let the proxy drain what the dead client had already written
    before = proxy.state.patch_bytes

    proxy.state.delay = 0
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    [receipt] = list_receipts(host)
    assert receipt.upload_url == state.upload_url  # the same server upload, resumed
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert proxy.state.patch_bytes - before <= bundle.stat().st_size - 4 * MiB
    assert int(second.stdout.strip()) == receipt.resent_bytes < 2 * CHUNK
    assert 0 <= resent(proxy, bundle) < 2 * CHUNK
    if in_flight == "lost":
        assert resent(proxy, bundle) == receipt.resent_bytes == CHUNK
    print(
        f"\nclient killed ({in_flight}) after {before} bytes; resent {resent(proxy, bundle)} "
        f"bytes (proxy count), {receipt.resent_bytes} (resume state)"
    )


def test_server_killed_and_restarted_mid_upload(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.hold = 5  # the 5th PATCH waits in the proxy while we kill the server
    bundle = make_bundle(tmp_path, 10 * MiB)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(upload, bundle, proxy.url, make_host(tmp_path), retry=PATIENT)
        assert proxy.state.held.wait(30)
        server.kill()
        proxy.state.release.set()
        time.sleep(0.5)  # the client meets a dead server for a while
        server.start()
        receipt = future.result(timeout=120)
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert 0 < resent(proxy, bundle) < 2 * CHUNK
    print(f"\nresent after a server restart: {resent(proxy, bundle)} bytes")


@pytest.mark.parametrize("how", ["lost", "expired"])
def test_lost_or_expired_upload_starts_again(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.faults = {("PATCH", 3): Fault("reset")}
    bundle = make_bundle(tmp_path, 4 * MiB)
    host = make_host(tmp_path)
    with pytest.raises(UploadFailed):
        upload(bundle, proxy.url, host, retry=RetryPolicy(attempts=1))
    first = load_state(host, sha256(bundle))
    assert first is not None
    if how == "lost":
        shutil.rmtree(server.files)
    else:
        later = datetime.now(UTC) + timedelta(days=30)
        host = Host(env=host.env, clock=lambda: later)
    with caplog.at_level(logging.INFO, logger="collector.upload"):
        receipt = upload(bundle, proxy.url, host)
    assert receipt.upload_url != first.upload_url
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert ("no longer has" if how == "lost" else "expired") in caplog.text


def test_wrong_token_is_refused_without_leaking_it(
    tmp_path: Path, tus_server: Callable[..., TusServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = tus_server(TUS_TOKEN="the-right-token")
    bundle = make_bundle(tmp_path, MiB)
    host = make_host(tmp_path)
    with caplog.at_level(logging.DEBUG), pytest.raises(UploadFailed) as error:
        upload(bundle, server.url, host)
    message = str(error.value)
    assert "refused the token" in message and "HTTP 401" in message
    assert error.value.exit_status == ExitStatus.UPLOAD_FAILED
    assert TOKEN not in message and TOKEN not in repr(error.value) and TOKEN not in caplog.text
    assert bundle.exists() and not list_receipts(host)
    receipt = upload(bundle, server.url, host, token="the-right-token")
    assert sha256(server.stored(receipt)) == sha256(bundle)


def test_forbidden_case_names_case_and_customer(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    proxy = fault_proxy(tus_server())
    proxy.state.faults = {("POST", 1): Fault("status", 403)}
    with pytest.raises(
        UploadFailed, match="case TS012345678 is not registered for customer 1234567"
    ):
        upload(make_bundle(tmp_path, MiB), proxy.url, make_host(tmp_path))
    assert proxy.state.seen["POST"] == 1  # not retried


def test_bundle_over_the_servers_limit(
    tmp_path: Path, tus_server: Callable[..., TusServer]
) -> None:
    server = tus_server(TUS_MAX_SIZE=str(MiB))
    with pytest.raises(UploadFailed, match=r"at most 1048576 \(Tus-Max-Size\)"):
        upload(make_bundle(tmp_path, 2 * MiB), server.url, make_host(tmp_path))


def test_proxy_from_host_environment(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy_url = proxy.url.removesuffix("/files/")
    bundle = make_bundle(tmp_path, 2 * MiB)
    receipt = upload(bundle, server.url, make_host(tmp_path, HTTP_PROXY=proxy_url))
    assert proxy.state.seen.get("PATCH") == 2
    assert sha256(server.stored(receipt)) == sha256(bundle)
    (tmp_path / "b").mkdir()
    bypass = make_host(tmp_path / "b", HTTP_PROXY=proxy_url, NO_PROXY="localhost,127.0.0.1")
    upload(make_bundle(tmp_path / "b", MiB), server.url, bypass)
    assert proxy.state.seen.get("PATCH") == 2


@pytest.mark.parametrize(
    ("verdict", "endpoint"),
    [("stored", True), ("quarantined", True), ("stored", False), ("quarantined", False)],
    ids=["stored", "quarantined", "stored-headers-only", "quarantined-headers-only"],
)
def test_intake_verdict_makes_the_receipt(
    tmp_path: Path, tus_server: Callable[..., TusServer], verdict: str, endpoint: bool
) -> None:
    server = tus_server(TUS_VERDICT=verdict, TUS_RECEIPT="1" if endpoint else "0")
    bundle = make_bundle(tmp_path, 2 * MiB)
    host = make_host(tmp_path)
    if verdict == "stored":
        receipt = upload(bundle, server.url, host)
    else:
        with pytest.raises(Quarantined, match=r"quarantined it: manifest\.json does not validate"):
            upload(bundle, server.url, host)
        [receipt] = list_receipts(host)
    upload_id = receipt.upload_url.rsplit("/", 1)[1]
    assert receipt.status == verdict
    assert receipt.attachment_id == (f"ATT-{upload_id[:8]}" if verdict == "stored" else None)
    assert receipt.reason == (None if verdict == "stored" else "manifest.json does not validate")
    if endpoint:
        assert receipt.intake is not None and receipt.intake["upload_id"] == upload_id
    else:
        assert receipt.intake is None
    assert list_receipts(host) == [receipt]
    assert load_state(host, receipt.sha256) is None


@pytest.mark.parametrize("advertised", [None, "sha256,sha1", "md5"])
def test_every_chunk_carries_a_checksum(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
    advertised: str | None,
) -> None:
    proxy = fault_proxy(tus_server())
    proxy.state.advertise = advertised
    bundle = make_bundle(tmp_path, 3 * MiB)
    receipt = upload(bundle, proxy.url, make_host(tmp_path))
    assert proxy.state.checksums == {"sha256" if advertised == "sha256,sha1" else "sha1"}
    assert receipt.resent_bytes == 0  # the proxy answers 460 to any wrong checksum


def test_read_timeout_is_retried(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.faults = {("PATCH", 2): Fault("stall", seconds=3)}
    bundle = make_bundle(tmp_path, 3 * MiB)
    started = time.monotonic()
    timeouts = Timeouts(connect=2, read=0.5, final_read=5)
    receipt = upload(bundle, proxy.url, make_host(tmp_path), timeouts=timeouts)
    assert time.monotonic() - started < 3  # gave up waiting long before the proxy hung up
    assert sha256(server.stored(receipt)) == sha256(bundle)
    assert receipt.resent_bytes == CHUNK


def test_cancel_terminates_the_server_upload(
    tmp_path: Path,
    tus_server: Callable[..., TusServer],
    fault_proxy: Callable[[TusServer], ProxyServer],
) -> None:
    server = tus_server()
    proxy = fault_proxy(server)
    proxy.state.faults = {("PATCH", 2): Fault("status", 503)}
    bundle = make_bundle(tmp_path, 3 * MiB)
    host = make_host(tmp_path)
    with pytest.raises(UploadFailed):
        upload(bundle, proxy.url, host, retry=RetryPolicy(attempts=1))
    assert list(server.files.glob("*.info"))
    assert cancel_upload(bundle, token=TOKEN, host=host)
    assert proxy.state.seen.get("DELETE") == 1
    assert not list(server.files.glob("*.info"))
    assert load_state(host, sha256(bundle)) is None
    assert not cancel_upload(bundle, token=TOKEN, host=host)


# ---------------------------------------------------------------- SFTP


@dataclass
class SshServer:
    port: int
    user: str
    user_key: Path
    host_key_line: str  # "ssh-ed25519 AAAA..."
    fingerprint: str  # as ssh-keygen -lf prints it
    root: Path

    def known_hosts(
        self, folder: Path, key_line: str | None = None, port: int | None = None
    ) -> Path:
        path = folder / "known_hosts"
        path.write_text(f"[127.0.0.1]:{port or self.port} {key_line or self.host_key_line}\n")
        return path

    def target(
        self,
        drop: Path,
        *,
        known_hosts: Path | None = None,
        fingerprint: str | None = None,
        port: int | None = None,
    ) -> SftpTarget:
        return sftp_target(
            host="127.0.0.1",
            user=self.user,
            port=port or self.port,
            folder=str(drop),
            known_hosts=known_hosts,
            fingerprint=fingerprint,
            key_file=self.user_key,
        )


def keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH server not installed (/usr/sbin/sshd): apt-get install openssh-server")
    privsep = Path("/run/sshd")
    if os.geteuid() == 0 and not privsep.is_dir():
        privsep.mkdir(mode=0o755, parents=True)  # the package's service would create it
    root = tmp_path_factory.mktemp("sshd")
    host_key_line = keygen(root / "host_key")
    user_key_line = keygen(root / "user_key")
    (root / "authorized_keys").write_text(user_key_line + "\n")
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(root / "host_key.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        textwrap.dedent(
            f"""
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {root / "host_key"}
            AuthorizedKeysFile {root / "authorized_keys"}
            PidFile {root / "sshd.pid"}
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            Subsystem sftp internal-sftp
            LogLevel VERBOSE
            """
        )
    )
    log = root / "sshd.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=output)
    try:
        wait_for_port(port, process, log)
        user = pwd.getpwuid(os.geteuid()).pw_name
        yield SshServer(port, user, root / "user_key", host_key_line, fingerprint, root)
    finally:
        stop(process)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "toibm"
    folder.mkdir()
    return folder


def sftp_upload(bundle: Path, target: SftpTarget, host: Host, **options: object) -> Receipt:
    settings: dict[str, object] = {"token": None, "host": host, "chunk_size": CHUNK, "retry": FAST}
    settings.update(CASE)
    settings.update(options)
    return upload_bundle(bundle, target, **settings)  # type: ignore[arg-type]


def test_sftp_upload(tmp_path: Path, sshd: SshServer, drop: Path) -> None:
    bundle = make_bundle(tmp_path, 6 * MiB + 7)
    host = make_host(tmp_path)
    target = sshd.target(drop, known_hosts=sshd.known_hosts(tmp_path))
    seen: list[int] = []
    receipt = sftp_upload(bundle, target, host, progress=lambda done, total: seen.append(done))
    stored = drop / "db2" / NAME
    assert sha256(stored) == sha256(bundle) == receipt.sha256
    assert sorted(p.name for p in (drop / "db2").iterdir()) == [NAME]  # no .part left
    assert receipt.status == "uploaded" and receipt.attachment_id is None
    assert receipt.upload_url == f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{stored}"
    assert seen[-1] == bundle.stat().st_size and receipt.resent_bytes == 0
    assert list_receipts(host) == [receipt]


def test_sftp_default_known_hosts_in_home(tmp_path: Path, sshd: SshServer, drop: Path) -> None:
    host = make_host(tmp_path)
    (host.home / ".ssh").mkdir()
    sshd.known_hosts(host.home / ".ssh")
    receipt = sftp_upload(make_bundle(tmp_path, MiB), sshd.target(drop), host)
    assert (drop / "db2" / NAME).stat().st_size == receipt.bytes


@pytest.mark.parametrize("known", ["missing", "wrong-key", "no-file"])
def test_sftp_unknown_or_changed_host_key_is_refused(
    tmp_path: Path, sshd: SshServer, drop: Path, known: str
) -> None:
    if known == "wrong-key":
        known_hosts = sshd.known_hosts(tmp_path, keygen(tmp_path / "impostor"))
        words = "HOST KEY MISMATCH"
    elif known == "missing":
        known_hosts = sshd.known_hosts(tmp_path, port=sshd.port + 1)
        words = "is not in .*never accepted automatically"
    else:
        known_hosts = tmp_path / "absent"
        words = "is not in"
    before = known_hosts.read_text() if known_hosts.exists() else None
    target = sshd.target(drop, known_hosts=known_hosts)
    with pytest.raises(UploadFailed, match=words) as error:
        sftp_upload(make_bundle(tmp_path, MiB), target, make_host(tmp_path))
    assert sshd.fingerprint in str(error.value)  # the user can compare it out of band
    assert not list(drop.rglob("*"))
    assert (known_hosts.read_text() if known_hosts.exists() else None) == before  # not added


def test_sftp_pinned_fingerprint(tmp_path: Path, sshd: SshServer, drop: Path) -> None:
    bundle = make_bundle(tmp_path, MiB)
    host = make_host(tmp_path)  # no known_hosts at all: the pin is enough
    receipt = sftp_upload(bundle, sshd.target(drop, fingerprint=sshd.fingerprint), host)
    assert sha256(drop / "db2" / NAME) == receipt.sha256
    wrong = "SHA256:" + "A" * 43
    with pytest.raises(UploadFailed, match="not the pinned"):
        sftp_upload(bundle, sshd.target(drop, fingerprint=wrong), host)


def test_sftp_resumes_a_partial_upload(tmp_path: Path, sshd: SshServer, drop: Path) -> None:
    bundle = make_bundle(tmp_path, 6 * MiB)
    (drop / "db2").mkdir()
    prefix = 3 * MiB + 100
    (drop / "db2" / f"{NAME}.part").write_bytes(bundle.read_bytes()[:prefix])
    target = sshd.target(drop, fingerprint=sshd.fingerprint)
    receipt = sftp_upload(bundle, target, make_host(tmp_path))
    assert sha256(drop / "db2" / NAME) == sha256(bundle)
    assert receipt.sent_bytes == bundle.stat().st_size - prefix  # only the rest was sent
    assert receipt.resent_bytes == 0


def test_sftp_starts_again_over_a_foreign_partial(
    tmp_path: Path, sshd: SshServer, drop: Path
) -> None:
    bundle = make_bundle(tmp_path, 3 * MiB)
    (drop / "db2").mkdir()
    (drop / "db2" / f"{NAME}.part").write_bytes(os.urandom(MiB))
    target = sshd.target(drop, fingerprint=sshd.fingerprint)
    receipt = sftp_upload(bundle, target, make_host(tmp_path))
    assert sha256(drop / "db2" / NAME) == sha256(bundle)
    assert receipt.sent_bytes == bundle.stat().st_size


class TcpRelay:
    """127.0.0.1 relay to sshd that cuts the first connection after `cut_after`
    bytes from the client."""

    def __init__(self, upstream: int, cut_after: int) -> None:
        self.upstream = upstream
        self.cut_after = cut_after
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self.sockets += [client, server]
            limit = self.cut_after if self.connections == 1 else None
            for args in ((client, server, limit), (server, client, None)):
                thread = threading.Thread(target=self._pump, args=args, daemon=True)
                thread.start()
                self.threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        moved = 0
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
                moved += len(data)
                if limit is not None and moved >= limit:
                    break
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        for sock in self.sockets:
            sock.close()
        for thread in self.threads:
            thread.join(5)


def test_sftp_connection_drop_is_retried(tmp_path: Path, sshd: SshServer, drop: Path) -> None:
    bundle = make_bundle(tmp_path, 8 * MiB)
    relay = TcpRelay(sshd.port, cut_after=4 * MiB)
    try:
        target = sshd.target(drop, fingerprint=sshd.fingerprint, port=relay.port)
        receipt = sftp_upload(bundle, target, make_host(tmp_path))
    finally:
        relay.close()
    assert relay.connections == 2
    assert sha256(drop / "db2" / NAME) == sha256(bundle)
    assert receipt.resent_bytes < 4 * MiB
    print(f"\nSFTP resent after a dropped connection: {receipt.resent_bytes} bytes")
