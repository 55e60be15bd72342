"""The host context: the one door to the machine being collected from.

Nothing else in the tool reads os.environ, /etc or the clock directly; it asks a
Host. Tests build a Host over a fake sysroot, a fake PATH and a fixed clock.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import distro

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Host:
    """Where files are read from, how commands are found, what time it is."""

    sysroot: Path = Path("/")
    env: Mapping[str, str] = field(default_factory=dict)
    interactive: bool = False
    uid: int = field(default_factory=os.geteuid)
    clock: Callable[[], datetime] = _utc_now
    # The tool's own system-wide configuration lives on the machine that runs the
    # tool, not inside a --sysroot image, so it is not mapped through path().
    system_config_dir: Path = Path("/etc/pa-collect")

    @classmethod
    def from_process(cls, sysroot: Path | None = None) -> Host:
        """The live machine this process runs on."""
        return cls(
            sysroot=(sysroot or Path("/")).resolve(),
            env=dict(os.environ),
            interactive=sys.stdin.isatty(),
        )

    def path(self, host_path: str) -> Path:
        """Map an absolute host path (e.g. /etc/hosts) into the sysroot."""
        relative = PurePosixPath(host_path).relative_to("/")
        return self.sysroot / relative

    def which(self, command: str) -> str | None:
        return shutil.which(command, path=self.search_path)

    @property
    def search_path(self) -> str:
        return self.env.get("PATH") or DEFAULT_PATH

    def now(self) -> datetime:
        return self.clock()

    def hostname(self) -> str:
        """The collected host's name: the sysroot's /etc/hostname, else the kernel's."""
        if self.sysroot != Path("/"):
            try:
                name = self.path("/etc/hostname").read_text(encoding="utf-8").strip()
            except OSError:
                name = ""
            if name:
                return name
        return socket.gethostname()

    def fqdn(self) -> str:
        """The host's fully qualified name when the live host knows one (the
        resolver's answer for the kernel's name); a sysroot image has only its
        /etc/hostname, so its name is returned as is."""
        if self.sysroot != Path("/"):
            return self.hostname()
        return socket.getfqdn()

    @property
    def home(self) -> Path:
        return Path(self.env.get("HOME") or Path.home())

    @property
    def config_dir(self) -> Path:
        """The user's pa-collect config folder (XDG)."""
        base = self.env.get("XDG_CONFIG_HOME") or str(self.home / ".config")
        return Path(base) / "pa-collect"

    @property
    def state_dir(self) -> Path:
        """The user's pa-collect state folder (XDG): locks, receipts, resume state."""
        base = self.env.get("XDG_STATE_HOME") or str(self.home / ".local" / "state")
        return Path(base) / "pa-collect"

    def identity(self) -> dict[str, str]:
        """Host name, OS (from the sysroot's os-release) and the running kernel."""
        release = distro.LinuxDistribution(
            root_dir=None if self.sysroot == Path("/") else str(self.sysroot),
            include_lsb=False,
            include_uname=False,
        )
        uname = platform.uname()
        return {
            "hostname": self.hostname(),
            "os_name": release.name() or uname.system,
            "os_version": release.version(best=True),
            "os_id": release.id(),
            "kernel": uname.release,
            "architecture": uname.machine,
            "sysroot": str(self.sysroot),
        }

    @property
    def is_root(self) -> bool:
        return self.uid == 0

    def command_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for product commands: the caller's, with a C locale so
        output is in the formats our parsers know."""
        env = dict(self.env)
        env.update(extra or {})
        env.setdefault("PATH", DEFAULT_PATH)
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        return env
