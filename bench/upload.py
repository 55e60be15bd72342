"""Upload throughput against curl, and bytes resent after an interruption.

Starts `pa-intake serve` on 127.0.0.1 (plain HTTP: the protocol's cost, not
TLS's), makes a ~500 MB bundle, then:
  1. curl creates an upload (POST) and sends the whole file in ONE PATCH;
  2. pa-collect's tus client uploads the same bundle in 8 MiB checksummed chunks;
  3. a pa-collect upload is SIGKILLed halfway and run again: bytes resent.
Prints seconds, MB/s, the ratio pa-collect/curl (target >= 0.8) and the resent bytes.

    python bench/upload.py [--size 500] [--workdir /tmp/pa-bench]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

import requests

sys.path.insert(0, str(Path(__file__).parent))

from common import MiB, timed

from collector.archive import write_bundle
from collector.bundle import open_bundle
from collector.manifest import manifest_bytes

CASE, CUSTOMER, CONTRACT = "TS012345678", "1234567", "PA-778899"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CountingRelay:
    """A loopback TCP relay in front of the intake that counts client->server bytes,
    so resent bytes are measured on the wire, not taken from the client's word."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self._server.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while data := source.recv(1 << 20):
                if count:
                    with self._lock:
                        self.sent += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def make_bundle(folder: Path, size: int) -> Path:
    """A real bundle of this host plus `size` bytes of incompressible data, so the
    intake's completion checks (sha256, manifest, case, customer) pass."""
    small = folder / "small"
    small.mkdir()
    subprocess.run(
        [
            "pa-collect",
            "--product",
            "os",
            "--batch",
            "--case",
            CASE,
            "--customer-number",
            CUSTOMER,
            "--contract-number",
            CONTRACT,
            "--output",
            str(small),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    original = next(small.glob("*.7z"))
    tree = folder / "tree"
    with open_bundle(original) as bundle:
        manifest = bundle.manifest
        bundle.extract(tree)
    payload = tree / "os" / "files" / "payload.bin"
    digest = hashlib.sha256()
    with payload.open("wb") as out:
        for _ in range(size // MiB):
            block = os.urandom(MiB)
            out.write(block)
            digest.update(block)
    manifest["items"].append(
        {
            "plugin": "os",
            "name": "payload",
            "kind": "file",
            "source": "/payload.bin",
            "outcome": "ok",
            "reason": None,
            "path": "os/files/payload.bin",
            "size": size,
            "sha256": digest.hexdigest(),
            "original_size": size,
            "truncated": False,
            "redactions": 0,
        }
    )
    members = [
        (path, path.relative_to(tree).as_posix())
        for path in sorted(tree.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    ]
    bundle_path = folder / original.name
    write_bundle(bundle_path, members, manifest_bytes(manifest), level=0)
    return bundle_path


def intake_cli(storage: Path, *args: str) -> str:
    result = subprocess.run(
        ["pa-intake", *args, "--storage", str(storage)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def start_intake(storage: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            "pa-intake",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage",
            str(storage),
            "--max-size",
            "4G",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if requests.options(f"http://127.0.0.1:{port}/files/", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("pa-intake did not start")


def metadata(bundle: Path, sha256: str) -> str:
    values = {
        "filename": bundle.name,
        "case": CASE,
        "customer": CUSTOMER,
        "contract": CONTRACT,
        "sha256": sha256,
    }
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def curl_upload(endpoint: str, bundle: Path, token: str, sha256: str) -> None:
    created = requests.post(
        endpoint,
        headers={
            "Tus-Resumable": "1.0.0",
            "Authorization": f"Bearer {token}",
            "Upload-Length": str(bundle.stat().st_size),
            "Upload-Metadata": metadata(bundle, sha256),
        },
    )
    created.raise_for_status()
    url = urljoin(endpoint, created.headers["Location"])
    subprocess.run(
        [
            "curl",
            "-sS",
            "-f",
            "-X",
            "PATCH",
            "-H",
            "Tus-Resumable: 1.0.0",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            "Upload-Offset: 0",
            "-H",
            "Content-Type: application/offset+octet-stream",
            "-H",
            "Expect:",
            "--data-binary",
            f"@{bundle}",
            url,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


UPLOAD_SCRIPT = """
import json, sys
from pathlib import Path
from collector.host import Host
from collector.upload import parse_target, upload_bundle
receipt = upload_bundle(Path(sys.argv[1]), parse_target(sys.argv[2]), token=sys.argv[3],
    case=sys.argv[4], customer=sys.argv[5], contract=sys.argv[6], host=Host.from_process())
print(json.dumps(receipt.to_dict()))
"""


def pa_collect_upload(
    endpoint: str, bundle: Path, token: str, env: dict[str, str], kill_at: float | None = None
) -> dict[str, object] | None:
    """Run an upload in its own process; with `kill_at`, SIGKILL it once the server
    holds that fraction of the bundle."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            UPLOAD_SCRIPT,
            str(bundle),
            endpoint,
            token,
            CASE,
            CUSTOMER,
            CONTRACT,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if kill_at is not None:
        wait_for_offset(Path(env["XDG_STATE_HOME"]), token, bundle.stat().st_size * kill_at)
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"upload failed: {err.decode()[-500:]}")
    return dict(json.loads(out))


def wait_for_offset(state_home: Path, token: str, offset: float) -> None:
    """Poll the client's resume state for its upload URL, then the server's offset."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for state in (state_home / "pa-collect" / "uploads").glob("*.json"):
            url = json.loads(state.read_text()).get("upload_url")
            head = requests.head(
                url, headers={"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
            )
            if int(head.headers.get("Upload-Offset", 0)) >= offset:
                return
        time.sleep(0.02)
    raise SystemExit("the upload never got halfway")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500, help="bundle size in MiB")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pa-bench")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        work = Path(scratch)
        bundle = make_bundle(work, args.size * MiB)
        import hashlib

        digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
        bundle_size = bundle.stat().st_size
        storage = work / "storage"
        token = intake_cli(storage, "token", "add", "--customer", CUSTOMER)
        intake_cli(storage, "case", "add", CASE, "--customer", CUSTOMER)
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}/files/"
        server = start_intake(storage, port)
        env = {**os.environ, "HOME": str(work / "home"), "XDG_STATE_HOME": str(work / "state")}
        try:
            curl_time = timed(lambda: curl_upload(endpoint, bundle, token, digest))
            ours: dict[str, object] = {}
            ours_time = timed(
                lambda: ours.update(pa_collect_upload(endpoint, bundle, token, env) or {})
            )
            env["XDG_STATE_HOME"] = str(work / "state2")
            relay = CountingRelay(port)
            relayed = f"http://127.0.0.1:{relay.port}/files/"
            pa_collect_upload(relayed, bundle, token, env, kill_at=0.5)
            resumed = pa_collect_upload(relayed, bundle, token, env) or {}
            on_wire = relay.sent
        finally:
            server.terminate()
            server.wait(timeout=30)
    size_mb = args.size * MiB / 1e6
    print(f"bundle: {size_mb:.0f} MB; pa-intake on 127.0.0.1 (HTTP)")
    print(f"{'method':<46}{'seconds':>9}{'MB/s':>9}")
    print(f"{'curl: POST + one PATCH':<46}{curl_time:>9.2f}{size_mb / curl_time:>9.1f}")
    print(
        f"{'pa-collect: 8 MiB checksummed chunks':<46}{ours_time:>9.2f}{size_mb / ours_time:>9.1f}"
    )
    print(f"throughput ratio pa-collect/curl: {curl_time / ours_time:.2f} (target >= 0.8)")
    resent = max(0, on_wire - bundle_size)
    print(
        f"killed (SIGKILL) at 50% and run again: {resumed.get('status')}; {on_wire} bytes on "
        f"the wire for a {bundle_size}-byte bundle: resent {resent} bytes = "
        f"{resent / (8 * MiB):.2f} chunks (HTTP headers included)"
    )


if __name__ == "__main__":
    main()
