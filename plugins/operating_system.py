"""os: the operating system under the product.

Collects the OS name and version, kernel, uptime, CPU, memory, disks and mounts,
resource limits, time zone and NTP state, the installed package list and a few
/etc files that shape how products behave (limits, sysctl, fstab). Safe to send:
no credential store is read (shadow files are refused by the core), and every
file passes the central redactor.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import time
from collections import Counter
from typing import Any

import distro
import psutil

from collector.host import Host
from collector.plugin import Collected, Context, Plugin
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, Spec

ETC_FILES = (
    "/etc/os-release",
    "/etc/redhat-release",
    "/etc/SuSE-release",
    "/etc/debian_version",
    "/etc/fstab",
    "/etc/sysctl.conf",
    "/etc/security/limits.conf",
    "/etc/timezone",
    "/etc/chrony.conf",
    "/etc/chrony/chrony.conf",
    "/etc/ntp.conf",
    "/etc/systemd/timesyncd.conf",
    "/etc/selinux/config",
)
ETC_GLOBS = ("/etc/sysctl.d/*.conf", "/etc/security/limits.d/*.conf")
PROC_FILES = ("/proc/cpuinfo", "/proc/meminfo", "/proc/mounts", "/proc/cmdline", "/proc/swaps")
COMMANDS = (
    ("uname", "-a"),
    ("df", "-kP"),
    ("df", "-iP"),
    ("lsblk", "-o", "NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT"),
    ("ps", "-eo", "pid,ppid,user,stat,etime,rss,vsz,pcpu,comm"),
    ("sysctl", "-a"),
    ("chronyc", "tracking"),
    ("ntpq", "-pn"),
    ("dpkg-query", "-W", "-f=${Package}\\t${Version}\\t${Architecture}\\n"),
    ("rpm", "-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"),
)
# Snapshot metrics: seconds CPU use is sampled over, and processes listed.
SAMPLE_SECONDS = 0.5
TOP_PROCESSES = 10
LIMITS = {
    name[len("RLIMIT_") :].lower(): getattr(resource, name)
    for name in dir(resource)
    if name.startswith("RLIMIT_")
}


class OperatingSystem(Plugin):
    name = "os"
    description = "Operating system, kernel, hardware, limits, time and packages"
    always = True
    budget = 120.0

    def specs(self, ctx: Context) -> list[Spec]:
        specs: list[Spec] = [
            FactSpec(name="release", collect=os_release),
            FactSpec(name="kernel", collect=kernel),
            FactSpec(name="uptime", collect=uptime),
            FactSpec(name="cpu", collect=cpu),
            FactSpec(name="memory", collect=memory),
            FactSpec(name="disks", collect=disks),
            FactSpec(name="ulimits", collect=ulimits),
            FactSpec(name="time", collect=time_settings),
        ]
        specs += [FileSpec(path=p) for p in ETC_FILES + PROC_FILES]
        specs += [GlobSpec(pattern=p) for p in ETC_GLOBS]
        specs += [CommandSpec(argv=argv) for argv in COMMANDS]
        if ctx.host.path("/run/systemd/system").is_dir():
            # timedatectl only answers where systemd runs; elsewhere it fails.
            specs.append(CommandSpec(argv=("timedatectl", "show")))
        return specs

    def snapshot_specs(self, ctx: Context) -> list[Spec]:
        """Host metrics as of now (psutil), for comparing snapshots over time."""
        return [
            FactSpec(name="release", collect=os_release),
            FactSpec(name="kernel", collect=kernel),
            FactSpec(name="cpu", collect=cpu_use),
            FactSpec(name="memory", collect=memory),
            FactSpec(name="disk_use", collect=disk_use),
            FactSpec(name="top_processes", collect=top_processes),
            FactSpec(name="connections", collect=connections),
            CommandSpec(argv=("uname", "-a")),
        ]

    def facts(self, collected: Collected) -> dict[str, Any]:
        release = collected.json("release") or {}
        kernel_info = collected.json("kernel") or {}
        memory_info = collected.json("memory") or {}
        clock = collected.json("time") or {}
        ntp = ntp_synchronized(collected.text("timedatectl_show"))
        return {
            "os_name": release.get("name", ""),
            "os_version": release.get("version", ""),
            "kernel": kernel_info.get("release", ""),
            "architecture": kernel_info.get("machine", ""),
            "cpu_count": (collected.json("cpu") or {}).get("logical"),
            "memory_total": memory_info.get("virtual", {}).get("total"),
            "timezone": clock.get("timezone"),
            "ntp_synchronized": ntp,
        }


def os_release(host: Host) -> dict[str, Any]:
    release = distro.LinuxDistribution(
        root_dir=None if host.sysroot.as_posix() == "/" else str(host.sysroot),
        include_lsb=False,
        include_uname=False,
    )
    return {
        "id": release.id(),
        "name": release.name(),
        "version": release.version(best=True),
        "codename": release.codename(),
        "like": release.like(),
    }


def kernel(host: Host) -> dict[str, str]:
    uname = platform.uname()
    return {
        "system": uname.system,
        "release": uname.release,
        "version": uname.version,
        "machine": uname.machine,
        "node": uname.node,
    }


def uptime(host: Host) -> dict[str, Any]:
    boot = psutil.boot_time()
    return {
        "boot_time": boot,
        "uptime_s": round(time.time() - boot),
        "load_average": list(psutil.getloadavg()),
    }


def cpu(host: Host) -> dict[str, Any]:
    freq = psutil.cpu_freq()
    return {
        "logical": psutil.cpu_count(),
        "physical": psutil.cpu_count(logical=False),
        "mhz": freq.current if freq else None,
        "times": psutil.cpu_times()._asdict(),
    }


def memory(host: Host) -> dict[str, Any]:
    return {"virtual": psutil.virtual_memory()._asdict(), "swap": psutil.swap_memory()._asdict()}


def disks(host: Host) -> list[dict[str, Any]]:
    found = []
    for part in psutil.disk_partitions(all=False):
        entry: dict[str, Any] = {
            "device": part.device,
            "mountpoint": part.mountpoint,
            "fstype": part.fstype,
            "options": part.opts,
        }
        try:
            entry["usage"] = psutil.disk_usage(part.mountpoint)._asdict()
        except OSError as error:
            entry["usage_error"] = error.strerror
        found.append(entry)
    return found


def cpu_use(host: Host) -> dict[str, Any]:
    """CPU use over a short sample, the load averages, and the cumulative times."""
    return {
        "logical": psutil.cpu_count(),
        "percent": psutil.cpu_percent(interval=SAMPLE_SECONDS),
        "load_average": dict(zip(("1m", "5m", "15m"), psutil.getloadavg(), strict=True)),
        "times": psutil.cpu_times()._asdict(),
    }


def disk_use(host: Host) -> dict[str, dict[str, Any]]:
    """Space and inode use of each mounted file system, by mount point."""
    found: dict[str, dict[str, Any]] = {}
    for part in psutil.disk_partitions(all=False):
        try:
            space, inodes = psutil.disk_usage(part.mountpoint), os.statvfs(part.mountpoint)
        except OSError as error:
            found[part.mountpoint] = {"error": error.strerror}
            continue
        used_inodes = inodes.f_files - inodes.f_ffree
        found[part.mountpoint] = {
            **space._asdict(),
            "inodes_total": inodes.f_files,
            "inodes_used": used_inodes,
            "inodes_percent": round(100 * used_inodes / inodes.f_files, 1) if inodes.f_files else 0,
        }
    return found


PROCESS_FIELDS = ("pid", "name", "username", "memory_percent", "memory_info")


def top_processes(host: Host) -> dict[str, list[dict[str, Any]]]:
    """The TOP_PROCESSES busiest processes by CPU (over a short sample) and by
    resident memory; names only, never command lines."""
    processes = list(psutil.process_iter(PROCESS_FIELDS))
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.cpu_percent(None)  # starts the sample
    time.sleep(SAMPLE_SECONDS)
    rows = [_process_row(process) for process in processes]
    alive = [row for row in rows if row is not None]
    return {
        "by_cpu": sorted(alive, key=lambda r: -r["cpu_percent"])[:TOP_PROCESSES],
        "by_memory": sorted(alive, key=lambda r: -r["rss"])[:TOP_PROCESSES],
    }


def _process_row(process: psutil.Process) -> dict[str, Any] | None:
    try:
        cpu_percent = process.cpu_percent(None)
    except psutil.Error:
        return None  # ended during the sample
    info = process.info
    rss = info["memory_info"].rss if info.get("memory_info") else 0
    return {
        "pid": info["pid"],
        "name": info.get("name"),
        "user": info.get("username"),
        "cpu_percent": cpu_percent,
        "rss": rss,
        "memory_percent": round(info.get("memory_percent") or 0.0, 2),
    }


def connections(host: Host) -> dict[str, int]:
    """Open TCP connections per state (ESTABLISHED, TIME_WAIT, LISTEN...)."""
    return dict(Counter(c.status for c in psutil.net_connections(kind="tcp")))


def ulimits(host: Host) -> dict[str, list[int]]:
    """Limits of the collecting process: on a root run, the hard limits that
    product processes started from this shell would inherit."""
    return {name: list(resource.getrlimit(value)) for name, value in sorted(LIMITS.items())}


def time_settings(host: Host) -> dict[str, Any]:
    zone = None
    localtime = host.path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.readlink())
        zone = target.split("zoneinfo/", 1)[-1] if "zoneinfo/" in target else target
    elif host.path("/etc/timezone").is_file():
        zone = host.path("/etc/timezone").read_text(encoding="utf-8", errors="replace").strip()
    return {"timezone": zone, "utc_offset_s": -time.timezone, "tzname": list(time.tzname)}


def ntp_synchronized(timedatectl: str | None) -> bool | None:
    """From `timedatectl show`: NTPSynchronized=yes|no (None when unknown)."""
    for line in (timedatectl or "").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "NTPSynchronized":
            return value.strip() == "yes"
    return None
