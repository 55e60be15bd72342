"""The fleet summary: one case collected on many hosts, host by host.

The Ansible play (deploy/ansible/collect.yml) leaves one folder per inventory
host under RESULTS/hosts/: `result.json` (whether the host answered, the exit
code, stdout and stderr of `pa-collect --json`) and the fetched bundle. This
module turns those folders into RESULTS/fleet.json and a readable table
(fleet.txt), so what a fleet run did is decided here, in tested Python, and not
in the play's templates. A fetched bundle counts only when its sha256 is the
one its host reported: a truncated or corrupted copy is a failed fetch.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from collector.errors import BadInput, ExitStatus
from collector.summary import human_size

RESULT_FILE = "result.json"
HOSTS_FOLDER = "hosts"
# Every status a host can end in; the first two mean a bundle was written.
STATUSES = (
    "ok",
    "partial",
    "collection_failed",
    "upload_failed",
    "fetch_failed",
    "unreachable",
    "no_result",
)
WITH_BUNDLE = ("ok", "partial")
EXIT_MEANINGS = {int(status): status.name.lower().replace("_", " ") for status in ExitStatus}


@dataclass(frozen=True)
class HostOutcome:
    """What one host's run came to."""

    host: str
    status: str
    reason: str | None = None
    exit_code: int | None = None
    case: str | None = None
    bundle: str | None = None  # the bundle's file name
    sha256: str | None = None
    size: int | None = None
    fetched: str | None = None  # the control node's copy, relative to RESULTS
    plugins: dict[str, Any] = field(default_factory=dict)
    upload: dict[str, Any] | None = None


def host_outcome(folder: Path, results: Path) -> HostOutcome:
    """Read one host's folder: the play's record and the fetched bundle."""
    host = folder.name
    try:
        record = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return HostOutcome(host, "no_result", "the play recorded nothing for this host")
    except (OSError, ValueError) as error:
        return HostOutcome(host, "no_result", f"unreadable {RESULT_FILE}: {error}")
    if not isinstance(record, dict):
        return HostOutcome(host, "no_result", f"{RESULT_FILE} is not a result record")
    if not record.get("reachable", True):
        return HostOutcome(host, "unreachable", _first_line(record.get("message")) or None)
    rc = record.get("rc")
    summary = _collect_summary(record.get("stdout"))
    if summary is None or rc != 0:
        message = _last_line(record.get("stderr")) or _first_line(record.get("message"))
        return _failed(host, rc, summary, message)
    outcome = _from_summary(host, rc, summary)
    if record.get("transfer", "fetch") == "fetch":
        return _check_fetched(outcome, folder, results)
    return outcome


def _collect_summary(stdout: object) -> dict[str, Any] | None:
    """The `pa-collect --json` summary, when the run printed one."""
    if not isinstance(stdout, str) or not stdout.strip():
        return None
    try:
        summary = json.loads(stdout)
    except ValueError:
        return None
    return summary if isinstance(summary, dict) and "bundle" in summary else None


def _from_summary(host: str, rc: int | None, summary: dict[str, Any]) -> HostOutcome:
    plugins = {
        name: {"status": plugin.get("status"), "outcomes": plugin.get("outcomes", {})}
        for name, plugin in (summary.get("plugins") or {}).items()
    }
    return HostOutcome(
        host=host,
        status="ok" if summary.get("status") == "ok" else "partial",
        reason=None if summary.get("status") == "ok" else "some items failed or timed out",
        exit_code=rc,
        case=summary.get("case"),
        bundle=Path(str(summary["bundle"])).name,
        sha256=summary.get("sha256"),
        size=summary.get("size"),
        plugins=plugins,
        upload=summary.get("upload"),
    )


def _failed(host: str, rc: int | None, summary: dict[str, Any] | None, message: str) -> HostOutcome:
    """A run without a usable bundle; an upload failure keeps its bundle on the host."""
    if isinstance(rc, int):
        reason = f"exit {rc} ({EXIT_MEANINGS.get(rc, 'no summary printed')})"
    else:
        reason = "the run did not finish"
    if message:
        reason += f": {message}"
    if summary is not None and rc == int(ExitStatus.UPLOAD_FAILED):
        kept = _from_summary(host, rc, summary)
        upload_error = (summary.get("upload") or {}).get("error")
        why = upload_error or f"{reason} (bundle kept on the host)"
        return HostOutcome(**{**asdict(kept), "status": "upload_failed", "reason": why})
    return HostOutcome(host, "collection_failed", reason, rc)


def _check_fetched(outcome: HostOutcome, folder: Path, results: Path) -> HostOutcome:
    copy = folder / (outcome.bundle or "")
    if not outcome.bundle or not copy.is_file():
        reason = "the bundle was written on the host but not fetched"
        return HostOutcome(**{**asdict(outcome), "status": "fetch_failed", "reason": reason})
    digest, size = file_digest(copy)
    fetched = copy.relative_to(results).as_posix()
    if digest != outcome.sha256 or size != outcome.size:
        reason = f"the fetched copy differs from the host's bundle (sha256 {digest[:16]}...)"
        return HostOutcome(
            **{**asdict(outcome), "status": "fetch_failed", "reason": reason, "fetched": fetched}
        )
    return HostOutcome(**{**asdict(outcome), "fetched": fetched})


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 and size, read in chunks (bundles can be gigabytes)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def _last_line(text: object) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def build_summary(results: Path) -> dict[str, Any]:
    """The fleet summary document of a results folder."""
    hosts_folder = results / HOSTS_FOLDER
    if not hosts_folder.is_dir():
        raise BadInput(
            f"{results} has no {HOSTS_FOLDER}/ folder: give the results folder of collect.yml"
        )
    outcomes = [
        host_outcome(folder, results)
        for folder in sorted(hosts_folder.iterdir())
        if folder.is_dir()
    ]
    counts = Counter(outcome.status for outcome in outcomes)
    return {
        "format": 1,
        "cases": sorted({o.case for o in outcomes if o.case}),
        "total": len(outcomes),
        "with_bundle": sum(counts[s] for s in WITH_BUNDLE),
        "problems": sum(n for s, n in counts.items() if s not in WITH_BUNDLE),
        "counts": {status: counts[status] for status in STATUSES if counts[status]},
        "hosts": [asdict(outcome) for outcome in outcomes],
    }


def render_table(summary: dict[str, Any]) -> str:
    """One line per host (and its plugins or the reason under it)."""
    cases = ", ".join(summary["cases"]) or "no case"
    lines = [
        f"Fleet: {summary['total']} host(s), {summary['with_bundle']} with a bundle, "
        f"{summary['problems']} problem(s) ({cases})",
        "",
        f"{'host':<24} {'status':<18} {'size':>10}  {'sha256':<16}  bundle",
    ]
    for host in summary["hosts"]:
        size = human_size(host["size"]) if host["size"] is not None else "-"
        sha = (host["sha256"] or "-")[:16]
        lines.append(
            f"{host['host']:<24} {host['status']:<18} {size:>10}  {sha:<16}  "
            f"{host['fetched'] or host['bundle'] or '-'}"
        )
        if host["plugins"]:
            lines.append(f"{'':<24} plugins: {_plugins_line(host['plugins'])}")
        if host["reason"]:
            lines.append(f"{'':<24} {host['reason']}")
    return "\n".join(lines) + "\n"


def _plugins_line(plugins: dict[str, Any]) -> str:
    parts = []
    for name, plugin in plugins.items():
        outcomes = plugin.get("outcomes") or {}
        bad = [
            f"{outcomes[k]} {k.replace('_', ' ')}"
            for k in ("failed", "timed_out")
            if outcomes.get(k)
        ]
        parts.append(f"{name} {plugin.get('status')}" + (f" ({', '.join(bad)})" if bad else ""))
    return ", ".join(parts)


def write_summary(results: Path) -> dict[str, Any]:
    """Build the summary and write RESULTS/fleet.json and RESULTS/fleet.txt."""
    summary = build_summary(results)
    _write_atomically(results / "fleet.json", json.dumps(summary, indent=2) + "\n")
    _write_atomically(results / "fleet.txt", render_table(summary))
    return summary


def _write_atomically(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
