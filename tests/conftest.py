"""Shared fixtures: a fake host (sysroot + fake commands) and ways to run the
installed `pa-collect` against it and open what it wrote with the real 7-Zip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# Fixtures for a real pa-intake server (tls, registered, make_intake, intake).
pytest_plugins = ["intake_server"]

DATA = Path(__file__).parent / "data"
SEVEN_ZIP = shutil.which("7z") or shutil.which("7zz")
CUSTOMER = ["--customer-number", "1234567", "--contract-number", "PA-778899"]


@dataclass
class FakeHost:
    sysroot: Path
    bin: Path
    home: Path
    out: Path

    def env(self, **extra: str) -> dict[str, str]:
        """An environment with only the fake commands on PATH and a private HOME."""
        env = {
            "PATH": str(self.bin),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }
        if "SYSTEMROOT" in os.environ:  # pragma: no cover - not on Linux
            env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
        env.update(extra)
        return env

    def add_command(self, name: str, script: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(0o755)


@pytest.fixture
def fake_host(tmp_path: Path) -> FakeHost:
    return build_fake_host(tmp_path)


def build_fake_host(folder: Path) -> FakeHost:
    """The fake OS host under `folder` (module-scoped fixtures call it directly)."""
    host = FakeHost(folder / "sysroot", folder / "bin", folder / "home", folder / "out")
    shutil.copytree(DATA / "os" / "sysroot", host.sysroot, symlinks=True)
    shutil.copytree(DATA / "os" / "bin", host.bin)
    host.home.mkdir()
    host.out.mkdir()
    return host


@pytest.fixture
def product_host(fake_host: FakeHost) -> Callable[[str], FakeHost]:
    """The fake OS host plus a fake product installation: tests/data/<product>/
    sysroot (merged over the OS tree) and bin (fake product commands)."""

    def install(product: str) -> FakeHost:
        source = DATA / product
        if (source / "sysroot").is_dir():
            shutil.copytree(
                source / "sysroot", fake_host.sysroot, symlinks=True, dirs_exist_ok=True
            )
        if (source / "bin").is_dir():
            shutil.copytree(source / "bin", fake_host.bin, dirs_exist_ok=True)
        return fake_host

    return install


def samples_dir(product: str) -> Path:
    """The real IBM-format samples for a product, from $PA_SAMPLES_DIR (skip if unset)."""
    root = os.environ.get("PA_SAMPLES_DIR")
    if not root:
        pytest.skip("PA_SAMPLES_DIR is not set")
    folder = Path(root) / product
    if not folder.is_dir():
        pytest.skip(f"no {product} samples in {root}")
    return folder


def pa_collect_executable() -> str:
    found = shutil.which("pa-collect")
    if found is None:
        pytest.fail("pa-collect is not installed: run `pip install -e .[test]` first")
    return found


RunPa = Callable[..., subprocess.CompletedProcess[str]]


def run_pa_command(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    input: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed pa-collect (module-scoped fixtures call it directly)."""
    return subprocess.run(
        [pa_collect_executable(), *args],
        env=env,
        input=input,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def run_pa() -> RunPa:
    return run_pa_command


def collect_on(
    fake_host: FakeHost, run_pa: RunPa, *extra: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """A batch collection of the os product on the fake host."""
    return run_pa(
        "--product",
        "os",
        "--batch",
        "--json",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
        *CUSTOMER,
        *extra,
        env=fake_host.env(**env),
    )


def only_bundle(folder: Path) -> Path:
    bundles = sorted(folder.glob("*.7z"))
    assert len(bundles) == 1, f"expected one bundle in {folder}, found {bundles}"
    return bundles[0]


def seven_zip(*args: str) -> subprocess.CompletedProcess[str]:
    if SEVEN_ZIP is None:
        pytest.fail("7-Zip is not installed (Debian package 7zip); .ci/run installs it")
    return subprocess.run([SEVEN_ZIP, *args], capture_output=True, text=True, timeout=300)


def extract(bundle: Path, target: Path, password: str | None = None) -> dict[str, object]:
    """Extract with the real 7z binary; return the parsed manifest."""
    result = seven_zip("x", "-y", f"-o{target}", f"-p{password or ''}", str(bundle))
    assert result.returncode == 0, result.stdout + result.stderr
    manifest: dict[str, object] = json.loads((target / "manifest.json").read_text())
    return manifest


def no_traceback(result: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in result.stderr and "Traceback" not in result.stdout
