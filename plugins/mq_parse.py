"""mq parsing: what IBM MQ writes, read without touching a host.

Holds the AMQERR error-log format (AmqerrFormat, record_fields), the parsers of
dspmqver, dspmq, the *.ini registries and FDC headers, the helpers that turn
their output into facts, and the findings rules over a bundle. They live apart
from plugins/mq.py so the plugin module stays one screen of identity, triggers
and specs; everything here is pure (text or bytes in, data out), so it is
tested and fuzzed on canned output alone. The findings rules are few enough
(under ~80 lines) to sit here rather than in a module of their own.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from collector.findings import BundleView, Finding, recent_records
from collector.logwindow import LogFormat, Record, aware, iter_records
from collector.plugin import Collected


class AmqerrFormat(LogFormat):
    """AMQERR01.LOG (newest) to AMQERR03.LOG (oldest), system or queue manager.

    A record starts with a locale-dependent date line (`10/17/2018 01:50:16 PM -
    Process(...)`, `17.10.2018 13:50:16 - Process(...)`), continues with indented
    Host/Installation/VRMF/QMgr lines (9.x adds an ISO UTC `Time(...)` line),
    then `AMQnnnnX: message`, EXPLANATION and ACTION (localized), and ends with a
    line of dashes. The logs are in the system code page (cp850, cp1252...), so
    structure is read in bytes and `text` is UTF-8 when the record is valid
    UTF-8, else Latin-1, which keeps every byte; pass `codepage` to read it.
    """

    name = "mq_amqerr"
    record_start = re.compile(
        rb"(?P<date>\d{1,4}(?P<sep>[./-])\d{1,2}(?P=sep)\d{1,4})[ \t]+"
        rb"(?P<time>\d{1,2}:\d{2}:\d{2})(?P<rest>[^\r\n]*?)[ \t]+-[ \t]+Process\("
    )

    def __init__(self, codepage: str | None = None) -> None:
        # The code page may come from a bundle's manifest: refuse what is no text
        # codec here (LookupError) rather than deep inside a parse.
        if codepage is not None and not codecs.lookup(codepage)._is_text_encoding:
            raise LookupError(f"{codepage!r} is not a text encoding")
        self.codepage = codepage

    def options(self) -> dict[str, str]:
        return {"codepage": self.codepage} if self.codepage else {}

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        # Time(...) is UTC and locale-free: the header date is neither.
        stream.seek(offset)
        stream.readline()
        for _ in range(HEADER_LINES):
            line = stream.readline()
            if not line[:1].isspace() or not line.strip():
                break
            found = TIME_INSERT.search(line)
            if found:
                try:
                    return datetime.fromisoformat(found.group(1).decode()).replace(tzinfo=UTC)
                except ValueError:
                    break  # an impossible Time(): fall back to the header's date
        return header_time(
            header.group("date").decode(), header.group("time").decode(), header.group("rest")
        )

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        found = MESSAGE_ID.search(raw)
        message_id = found.group(1).decode() if found else None
        level = LEVELS.get(found.group(2)) if found and found.group(2) else None
        return Record(offset, timestamp, level, message_id, self.decode(raw).rstrip("\r\n"))

    def decode(self, raw: bytes) -> str:
        if self.codepage:
            return raw.decode(self.codepage, errors="replace")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


# Header continuation lines read when looking for Time(...).
HEADER_LINES = 8
TIME_INSERT = re.compile(rb"\bTime\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z\)")
MESSAGE_ID = re.compile(rb"^(AMQ\d{4}([A-Z])?):", re.MULTILINE)
# The message id's last letter is its severity (MQ 9.0 and later).
LEVELS = {
    b"I": "information",
    b"W": "warning",
    b"E": "error",
    b"S": "severe",
    b"T": "terminating",
}
AMQERR = AmqerrFormat()


def header_time(date: str, clock: str, rest: bytes = b"") -> datetime | None:
    """A record header's local date and time, timezone-aware.

    Y/M/D when the first part has 4 digits; D.M.Y and D-M-Y; with slashes M/D/Y
    (the C and en_US locales of UNIX hosts) unless the month would exceed 12,
    then D/M/Y. Only logs without Time(...) (before MQ 9.0) depend on this.
    """
    first, second, third = re.split(r"[./-]", date)
    hour, minute, second_of_minute = (int(part) for part in clock.split(":"))
    meridiem = rest.strip().upper()
    if meridiem in (b"AM", b"PM"):
        hour = hour % 12 + (12 if meridiem == b"PM" else 0)
    for year, month, day in _date_orders(first, second, third, date[len(first)]):
        try:
            return aware(datetime(year, month, day, hour, minute, second_of_minute))
        except ValueError:
            continue
    return None


def _date_orders(first: str, second: str, third: str, sep: str) -> list[tuple[int, int, int]]:
    if len(first) == 4:
        return [(int(first), int(second), int(third))]
    year = int(third) + (2000 if len(third) == 2 else 0)
    if sep == "/":
        return [(year, int(first), int(second)), (year, int(second), int(first))]
    return [(year, int(second), int(first))]


def iter_amqerr(stream: BinaryIO, fmt: AmqerrFormat = AMQERR) -> Iterator[Record]:
    """The records of an AMQERR log, streamed."""
    return iter_records(stream, fmt)


_INSERT = re.compile(r"\b(Process|User|Program|Host|Installation|VRMF|QMgr|Time)\(([^)\n]*)\)")
_SOURCE = re.compile(r"^-{5} (\S+) : (\d+) -+\s*$", re.MULTILINE)


def record_fields(text: str) -> dict[str, str | None]:
    """The parts of one AMQERR record's text: header inserts (process, user,
    program, host, installation, vrmf, qmgr, time), the message, the
    explanation and action sections (whatever their language) and the source
    file:line of the separator."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"AMQ\d{4}", line)), len(lines))
    fields: dict[str, str | None] = {key.lower(): None for key in _INSERT_KEYS}
    for key, value in _INSERT.findall("\n".join(lines[:start])):
        fields[key.lower()] = value
    sections = _sections(lines[start:])
    fields["message"] = sections[0]
    fields["explanation"] = sections[1]
    fields["action"] = sections[2]
    source = _SOURCE.search(text)
    fields["source"] = f"{source.group(1)}:{source.group(2)}" if source else None
    return fields


_INSERT_KEYS = ("Process", "User", "Program", "Host", "Installation", "VRMF", "QMgr", "Time")


def _sections(lines: list[str]) -> list[str | None]:
    """[message, explanation, action]: sections start at a line holding a single
    upper-case label ending in a colon (EXPLANATION:, ERKLÄRUNG:, ...)."""
    parts: list[list[str]] = [[]]
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("-----"):
            break
        if _is_label(stripped) and len(parts) < 3:
            parts.append([])
            continue
        parts[-1].append(line)
    found = ["\n".join(part).strip() or None for part in parts]
    return found + [None] * (3 - len(found))


def _is_label(line: str) -> bool:
    label = line[:-1]
    return line.endswith(":") and bool(label) and " " not in label and label == label.upper()


def parse_dspmqver(text: str) -> dict[str, str]:
    """`dspmqver`: `Key:   value` lines of the current installation (keys as
    printed: Name, Version, Level or, before 7.1, CMVC level, BuildType, O/S,
    InstName, InstPath, DataPath, MaxCmdLevel, LicenseType...)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        found = re.match(r"^([A-Za-z][A-Za-z/ ]{0,30}?):\s*(.*?)\s*$", line)
        if found is None:
            continue
        key, value = found.groups()
        if key in fields:
            break  # a second installation's block (dspmqver -i)
        fields[key] = value
    return fields


_ATTRIBUTE = re.compile(r"([A-Z][A-Z0-9]*)\(([^()]*)\)")


def parse_dspmq(text: str) -> list[dict[str, Any]]:
    """`dspmq -x -o all`: one entry per QMNAME(...) line with its attributes,
    and the indented INSTANCE(host) MODE(mode) lines that follow it."""
    found: list[dict[str, Any]] = []
    for line in text.splitlines():
        pairs = dict(_ATTRIBUTE.findall(line))
        if "QMNAME" in pairs:
            found.append(_queue_manager(pairs))
        elif "INSTANCE" in pairs and found:
            found[-1]["instances"].append({"host": pairs["INSTANCE"], "mode": pairs.get("MODE")})
    return found


def _queue_manager(pairs: dict[str, str]) -> dict[str, Any]:
    default = pairs.get("DEFAULT")
    return {
        "name": pairs["QMNAME"],
        "status": pairs.get("STATUS"),
        "default": None if default is None else default.lower() == "yes",
        "standby": pairs.get("STANDBY"),
        "installation": pairs.get("INSTNAME"),
        "install_path": pairs.get("INSTPATH"),
        "installation_version": pairs.get("INSTVER"),
        "attributes": pairs,
        "instances": [],
    }


def parse_mq_ini(text: str) -> list[tuple[str, dict[str, str]]]:
    """mqs.ini, qm.ini, mqinst.ini, mqclient.ini: `Stanza:` lines, each followed
    by indented `Key=Value` lines; stanzas such as QueueManager repeat."""
    stanzas: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if not line[0].isspace() and stripped.endswith(":") and "=" not in stripped:
            stanzas.append((stripped[:-1].strip(), {}))
        elif "=" in stripped and stanzas:
            key, _, value = stripped.partition("=")
            stanzas[-1][1][key.strip()] = value.strip()
    return stanzas


def stanza(stanzas: list[tuple[str, dict[str, str]]], name: str) -> dict[str, str]:
    """The first stanza of that name (empty when absent)."""
    return next((values for found, values in stanzas if found == name), {})


def parse_fdc_header(text: str) -> dict[str, str]:
    """The `| Key :- value |` lines of an FDC file's first box."""
    fields: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        if line.startswith("+"):
            break
        found = re.match(r"^\|\s*([^|:]+?)\s*:-\s*(.*?)\s*\|?\s*$", line)
        if found:
            fields.setdefault(found.group(1), found.group(2))
    return fields


def product_facts(version: dict[str, str], running: list[dict[str, Any]]) -> dict[str, Any]:
    vrmf = version.get("Version") or next(
        (q["installation_version"] for q in running if q["installation_version"]), None
    )
    parts = (vrmf or "").split(".")
    max_cmd_level = version.get("MaxCmdLevel", "")
    primary = version.get("Primary")
    return {
        "product": version.get("Name") or "IBM MQ",
        "version": vrmf,
        "fix_pack": int(parts[3]) if len(parts) == 4 and parts[3].isdecimal() else None,
        "build_level": version.get("Level") or version.get("CMVC level"),
        "build_type": version.get("BuildType"),
        "platform": version.get("Platform"),
        "mode": version.get("Mode"),
        "installation_name": version.get("InstName"),
        "install_path": version.get("InstPath"),
        "data_path": version.get("DataPath"),
        "primary": None if primary in (None, "N/A") else primary.lower() == "yes",
        "max_cmd_level": int(max_cmd_level) if max_cmd_level.isdecimal() else None,
        "license": version.get("LicenseType"),
    }


def installations(mqinst_ini: str | None, version: dict[str, str]) -> list[dict[str, Any]]:
    """mqinst.ini's Installation stanzas, else the one dspmqver reports."""
    found = [
        {
            "name": values.get("Name"),
            "path": values.get("FilePath"),
            "identifier": values.get("Identifier"),
            "description": values.get("Description") or None,
        }
        for name, values in parse_mq_ini(mqinst_ini or "")
        if name == "Installation"
    ]
    if not found and version.get("InstName"):
        found.append(
            {
                "name": version["InstName"],
                "path": version.get("InstPath"),
                "identifier": None,
                "description": version.get("InstDesc") or None,
            }
        )
    return found


def queue_manager_facts(
    selected: list[dict[str, Any]], running: list[dict[str, Any]], collected: Collected
) -> list[dict[str, Any]]:
    """The collected queue managers: mqs.ini's view merged with dspmq's."""
    states = {q["name"]: q for q in running}
    names = [entry["name"] for entry in selected]
    entries = {entry["name"]: entry for entry in selected}
    if not selected:
        names = list(states)
    found = []
    for name in names:
        entry, state = entries.get(name, {}), states.get(name, {})
        qm_ini = parse_mq_ini(collected.text(f"qm.ini:{name}") or "")
        log = stanza(qm_ini, "Log")
        data_path = entry.get("data_path")
        found.append(
            {
                "name": name,
                "status": state.get("status"),
                "default": state.get("default"),
                "standby": state.get("standby"),
                "installation": state.get("installation") or entry.get("installation"),
                "installation_version": state.get("installation_version"),
                "instances": state.get("instances", []),
                "directory": entry.get("directory"),
                "data_path": data_path,
                "error_log_dir": f"{data_path}/errors" if data_path else None,
                "recovery_log_path": log.get("LogPath"),
                "log_type": log.get("LogType"),
            }
        )
    return found


# --- findings (engineer side: read from a bundle, never from the host) ------------

ERROR_LEVELS = ("error", "severe", "terminating")


def queue_managers_not_running(bundle: BundleView) -> list[Finding]:
    """mq.qmgr_not_running: a collected queue manager that dspmq did not show
    running (a standby instance or one running elsewhere counts as running)."""
    found = []
    for number, qmgr in enumerate(bundle.facts("mq").get("queue_managers") or []):
        status = qmgr.get("status")
        if not status or status.startswith("Running"):
            continue
        found.append(
            Finding(
                "mq.qmgr_not_running",
                "high" if "unexpectedly" in status.lower() else "medium",
                f"queue manager {qmgr.get('name')} is not running: {status}",
                f"manifest.json#/facts/mq/queue_managers/{number}/status",
            )
        )
    return found


def recent_errors(bundle: BundleView) -> list[Finding]:
    """mq.recent_errors: AMQ messages of severity E, S or T in the 24 hours before
    the bundle was made, one finding per error log."""
    found = []
    for log, records in recent_records(bundle, "mq", ERROR_LEVELS):
        ids = Counter(r.message_id or "?" for r in records)
        listed = ", ".join(f"{message} x{n}" for message, n in ids.most_common(5))
        worst = {r.level for r in records} - {"error"}
        message = f"{len(records)} AMQ error message(s) in the 24 h before collection: {listed}"
        found.append(Finding("mq.recent_errors", "high" if worst else "medium", message, log))
    return found
