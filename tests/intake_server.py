"""A real `pa-intake` server for tests: a test CA, registered tokens and cases, and a
fixture that starts `pa-intake serve` on a free 127.0.0.1 port and always stops it.
Loaded as a pytest plugin by conftest.py, so every test module can use it."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import trustme

CASE = "TS012345678"
OTHER_CASE = "TS000000001"
PMR = "12345,678,672"
CUSTOMER_NO = "1234567"
OTHER_CUSTOMER = "7654321"
CONTRACT = "PA-778899"


def pa_intake_executable() -> str:
    beside_python = Path(sys.executable).with_name("pa-intake")
    found = str(beside_python) if beside_python.exists() else shutil.which("pa-intake")
    if found is None:
        pytest.fail("pa-intake is not installed: run `pip install -e .[test]` first")
    return found


def pa_collect_executable() -> str:
    beside_python = Path(sys.executable).with_name("pa-collect")
    return str(beside_python) if beside_python.exists() else str(shutil.which("pa-collect"))


def cli(*args: str, storage: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--storage", str(storage)] if storage is not None else []
    return subprocess.run(
        [pa_intake_executable(), *args, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- the server


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    tls = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(tls.ca))
    leaf.private_key_pem.write_to_path(str(tls.key))
    for index, blob in enumerate(leaf.cert_chain_pems):
        blob.write_to_path(str(tls.cert), append=index > 0)
    return tls


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Intake:
    storage: Path
    tls: Tls
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base}/files/"

    @property
    def log(self) -> Path:
        return self.storage.parent / f"intake-{self.port}.log"

    def start(self) -> Intake:
        command = [
            pa_intake_executable(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage",
            str(self.storage),
            "--tls-cert",
            str(self.tls.cert),
            "--tls-key",
            str(self.tls.key),
            *self.args,
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"pa-intake exited early:\n{self.log.read_text()}")
            try:
                if requests.options(self.endpoint, verify=str(self.tls.ca), timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        pytest.fail(f"pa-intake did not answer OPTIONS:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)

    def session(self, token: str | None = None) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # else $REQUESTS_CA_BUNDLE would override `verify`
        session.verify = str(self.tls.ca)
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        return session


MakeIntake = Callable[..., Intake]


@dataclass(frozen=True)
class Registered:
    """A storage folder with tokens and cases made by the CLI, copied for each server."""

    storage: Path
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    storage = tmp_path_factory.mktemp("registered") / "storage"
    tokens = {
        "customer": token(storage, "--customer", CUSTOMER_NO),
        "other": token(storage, "--customer", OTHER_CUSTOMER),
        "engineer": token(storage, "--engineer", "jdoe"),
    }
    for case, customer in [(CASE, CUSTOMER_NO), (PMR, CUSTOMER_NO), (OTHER_CASE, OTHER_CUSTOMER)]:
        result = cli("case", "add", case, "--customer", customer, storage=storage)
        assert result.returncode == 0, result.stderr
    return Registered(storage, tokens)


@pytest.fixture
def make_intake(tmp_path: Path, tls: Tls, registered: Registered) -> Iterator[MakeIntake]:
    """Start `pa-intake serve` with extra options, tokens and cases ready; always stopped."""
    started: list[Intake] = []

    def make(*args: str) -> Intake:
        storage = tmp_path / f"storage{len(started)}"
        shutil.copytree(registered.storage, storage)
        intake = Intake(storage, tls, args, tokens=dict(registered.tokens))
        started.append(intake)
        return intake.start()

    yield make
    for intake in started:
        intake.stop()


@pytest.fixture
def intake(make_intake: MakeIntake) -> Intake:
    return make_intake()


def token(storage: Path, *owner: str) -> str:
    result = cli("token", "add", *owner, storage=storage)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
