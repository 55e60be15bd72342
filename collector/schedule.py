"""Unattended snapshots: the scheduled command line and its cron entries.

A scheduled run is one command line: `<absolute pa-collect> snapshot --product P
--batch ...` with absolute paths, HOME and PATH set on the line itself (cron's
environment is PATH=/usr/bin:/bin and little else), and its output appended to
a log file. It goes into the invoking user's crontab (python-crontab over the
real `crontab` program), into /etc/cron.d/pa-collect (--system, as root), or
into a systemd service and timer pair (collector.timer). Every entry carries
the comment `pa-collect:<product>`: list and remove touch nothing else.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import zlib
from dataclasses import dataclass
from pathlib import Path

from crontab import CronTab

from collector.errors import BadInput, NoBundle
from collector.host import Host

TAG = "pa-collect:"
CRON_D = Path("/etc/cron.d/pa-collect")
CRON_D_ENV = "PA_COLLECT_CRON_D"  # another cron.d file (tests)
CRON_D_HEADER = "# pa-collect snapshots: managed by `pa-collect schedule --system`"
DAILY_HOUR = 2  # daily snapshots run in the quiet hours
UNITS = {"m": 60, "h": 3600, "d": 86400}
# Amounts that divide the next unit evenly, so runs stay evenly spaced.
AMOUNTS = {"m": (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), "h": (1, 2, 3, 4, 6, 8, 12), "d": (1,)}


@dataclass(frozen=True)
class Every:
    amount: int
    unit: str  # "m", "h" or "d"

    @classmethod
    def parse(cls, text: str) -> Every:
        found = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text.lower())
        if found is None or int(found.group(1)) not in AMOUNTS[found.group(2)]:
            raise BadInput(
                f"--every {text!r}: use minutes that divide an hour (5m, 15m, 30m), "
                "hours that divide a day (1h, 6h, 12h), or 1d"
            )
        return cls(int(found.group(1)), found.group(2))

    @property
    def seconds(self) -> int:
        return self.amount * UNITS[self.unit]

    def cron(self, minute: int) -> str:
        """The five time fields; `minute` spreads hourly and daily runs."""
        if self.unit == "m":
            return f"*/{self.amount} * * * *"
        if self.unit == "h":
            return f"{minute} */{self.amount} * * *"
        return f"{minute} {DAILY_HOUR} * * *"


@dataclass(frozen=True)
class Entry:
    """One scheduled snapshot of one product."""

    product: str
    every: Every
    executable: str  # absolute path of pa-collect
    environment: tuple[tuple[str, str], ...]  # HOME and PATH for the run
    options: tuple[str, ...]  # snapshot options after --product, paths absolute
    log: Path
    budget: float

    @property
    def tag(self) -> str:
        return TAG + self.product

    @property
    def minute(self) -> int:
        """A stable minute per product, so hourly snapshots of several
        products do not all start at :00."""
        return zlib.crc32(self.product.encode()) % 60

    def argv(self) -> list[str]:
        return [self.executable, "snapshot", "--product", self.product, "--batch", *self.options]

    def shell_command(self) -> str:
        """The line /bin/sh runs: environment, command, output to the log."""
        env = " ".join(f"{name}={shlex.quote(value)}" for name, value in self.environment)
        return f"{env} {shlex.join(self.argv())} >> {shlex.quote(str(self.log))} 2>&1"


@dataclass(frozen=True)
class Scheduled:
    """A schedule found by `schedule list`."""

    product: str
    where: str
    schedule: str
    command: str

    def as_dict(self) -> dict[str, str]:
        return {
            "product": self.product,
            "where": self.where,
            "schedule": self.schedule,
            "command": self.command,
        }


def find_executable(host: Host, argv0: str) -> str:
    """The absolute path of the running pa-collect, else the one on PATH."""
    here = Path(argv0)
    if here.name == "pa-collect" and here.is_file():
        return str(here.absolute())
    found = host.which("pa-collect")
    if found is None:
        raise BadInput("cannot find the pa-collect program to schedule (not on PATH)")
    return str(Path(found).absolute())


def cron_line(entry: Entry) -> str:
    """The command part of a crontab line: cron turns an unescaped % into a newline."""
    return entry.shell_command().replace("%", "\\%")


def install_cron(entry: Entry, host: Host, system: bool) -> str:
    """Write (or replace) the entry; return where it went."""
    tab, path = _open(host, system)
    tab.remove_all(comment=entry.tag)
    job = tab.new(command=cron_line(entry), comment=entry.tag, user=_user(host) if system else None)
    job.setall(entry.every.cron(entry.minute))
    return _save(tab, path)


def remove_cron(host: Host, product: str, system: bool) -> int:
    """Remove the product's entry; return how many lines went."""
    if system and not cron_d_path(host).is_file():
        return 0
    tab, path = _open(host, system)
    removed = int(tab.remove_all(comment=TAG + product))
    if removed:
        _save(tab, path)
    return removed


def list_cron(host: Host) -> list[Scheduled]:
    """Our entries in the user's crontab and in the cron.d file (when readable)."""
    found = _ours(_user_tab(), "crontab")
    path = cron_d_path(host)
    if path.is_file() and os.access(path, os.R_OK):
        found += _ours(CronTab(user=False, tab=path.read_text(encoding="utf-8")), str(path))
    return found


def cron_d_path(host: Host) -> Path:
    return Path(host.env.get(CRON_D_ENV) or CRON_D)


def _open(host: Host, system: bool) -> tuple[CronTab, Path | None]:
    if not system:
        return _user_tab(), None
    path = cron_d_path(host)
    if not host.is_root and CRON_D_ENV not in host.env:
        raise BadInput(f"--system writes {path}: run as root (or leave out --system)")
    text = path.read_text(encoding="utf-8") if path.is_file() else CRON_D_HEADER + "\n"
    return CronTab(user=False, tab=text), path


def _user_tab() -> CronTab:
    """The invoking user's crontab, through the `crontab` program."""
    try:
        return CronTab(user=True)
    except OSError as error:
        raise NoBundle(f"cannot read the crontab: {error}") from None


def _save(tab: CronTab, path: Path | None) -> str:
    try:
        if path is None:
            tab.write()
            return "crontab"
        # Written beside it under a dotted name, which cron ignores, then renamed.
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(tab.render(), encoding="utf-8")
        partial.chmod(0o644)
        os.replace(partial, path)
    except OSError as error:
        raise NoBundle(f"cannot write the schedule: {error}") from None
    return str(path)


def _ours(tab: CronTab, where: str) -> list[Scheduled]:
    return [
        Scheduled(str(job.comment)[len(TAG) :], where, str(job.slices), str(job.command))
        for job in tab
        if str(job.comment).startswith(TAG)
    ]


def _user(host: Host) -> str:
    try:
        return pwd.getpwuid(host.uid).pw_name
    except KeyError:
        return str(host.uid)
