"""Scheduled snapshots as a systemd service and timer pair.

`pa-collect-snapshot-<product>.service` runs the same command line as the cron
entry (collector.schedule.Entry) at low CPU and I/O priority, appending its
output to the log file; `.timer` starts it on a calendar with a random delay,
so that many hosts (or products) do not all start at the same second. Units go
to the user's systemd folder, or with --system to /etc/systemd/system.
"""

from __future__ import annotations

from pathlib import Path

from collector.errors import BadInput, NoBundle
from collector.host import Host
from collector.schedule import DAILY_HOUR, Entry, Every, Scheduled

PREFIX = "pa-collect-snapshot-"
SYSTEM_DIR = Path("/etc/systemd/system")
SYSTEM_DIR_ENV = "PA_COLLECT_SYSTEMD_DIR"  # another system unit folder (tests)
MAX_DELAY = 900  # seconds of RandomizedDelaySec, at most
STOP_MARGIN = 60  # seconds systemd waits beyond the snapshot's own budget


def unit_names(product: str) -> tuple[str, str]:
    return f"{PREFIX}{product}.service", f"{PREFIX}{product}.timer"


def unit_folder(host: Host, system: bool) -> Path:
    if system:
        return Path(host.env.get(SYSTEM_DIR_ENV) or SYSTEM_DIR)
    return host.config_dir.parent / "systemd" / "user"


def on_calendar(every: Every) -> str:
    if every.unit == "m":
        return f"*-*-* *:00/{every.amount}:00"
    if every.unit == "h":
        return f"*-*-* 00/{every.amount}:00:00"
    return f"*-*-* {DAILY_HOUR:02d}:00:00"


def render_service(entry: Entry) -> str:
    environment = " ".join(_quote(f"{name}={value}") for name, value in entry.environment)
    command = " ".join(_quote(arg.replace("$", "$$")) for arg in entry.argv())
    return (
        "[Unit]\n"
        f"Description=pa-collect snapshot of {entry.product}\n"
        "\n[Service]\n"
        "Type=oneshot\n"
        f"Environment={environment}\n"
        f"ExecStart={command}\n"
        f"StandardOutput=append:{_specifiers(str(entry.log))}\n"
        f"StandardError=append:{_specifiers(str(entry.log))}\n"
        "Nice=10\n"
        "IOSchedulingClass=best-effort\n"
        "IOSchedulingPriority=7\n"
        f"TimeoutStartSec={int(entry.budget) + STOP_MARGIN}\n"
    )


def render_timer(entry: Entry) -> str:
    delay = min(entry.every.seconds // 4, MAX_DELAY)
    return (
        "[Unit]\n"
        f"Description=pa-collect snapshot of {entry.product}, every "
        f"{entry.every.amount}{entry.every.unit}\n"
        "\n[Timer]\n"
        f"OnCalendar={on_calendar(entry.every)}\n"
        f"RandomizedDelaySec={delay}\n"
        "Persistent=false\n"
        "\n[Install]\n"
        "WantedBy=timers.target\n"
    )


def install_units(entry: Entry, host: Host, system: bool) -> list[Path]:
    folder = unit_folder(host, system)
    if system and not host.is_root and SYSTEM_DIR_ENV not in host.env:
        raise BadInput(f"--system writes units to {folder}: run as root")
    service, timer = unit_names(entry.product)
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in ((service, render_service(entry)), (timer, render_timer(entry))):
            (folder / name).write_text(text, encoding="utf-8")
            written.append(folder / name)
    except OSError as error:
        raise NoBundle(f"cannot write systemd units in {folder}: {error.strerror}") from None
    return written


def remove_units(host: Host, product: str, system: bool) -> list[Path]:
    removed = []
    for name in unit_names(product):
        path = unit_folder(host, system) / name
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def list_units(host: Host) -> list[Scheduled]:
    found = []
    for system in (False, True):
        for timer in sorted(unit_folder(host, system).glob(f"{PREFIX}*.timer")):
            product = timer.name[len(PREFIX) : -len(".timer")]
            service = timer.with_name(f"{PREFIX}{product}.service")
            schedule, command = _value(timer, "OnCalendar"), _value(service, "ExecStart")
            found.append(Scheduled(product, str(timer), schedule, command))
    return found


def enable_hint(product: str, system: bool) -> str:
    scope = "" if system else " --user"
    _, timer = unit_names(product)
    return f"systemctl{scope} daemon-reload && systemctl{scope} enable --now {timer}"


def _value(unit: Path, key: str) -> str:
    try:
        lines = unit.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    return next((line.split("=", 1)[1] for line in lines if line.startswith(key + "=")), "")


def _specifiers(text: str) -> str:
    """systemd expands %-specifiers in unit settings (and $VARIABLES in
    ExecStart=, which render_service escapes itself)."""
    return text.replace("%", "%%")


def _quote(text: str) -> str:
    """One word of a systemd command line or Environment= list, double-quoted."""
    return '"' + _specifiers(text).replace("\\", "\\\\").replace('"', '\\"') + '"'
