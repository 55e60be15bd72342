"""Record-aware time windows over large logs, without reading them whole.

A log format says where a record starts (a header regex) and how to read the
header's timestamp. With that, `window_start` finds the first record at or after
a time by bisection on byte offsets: O(log n) short reads, whatever the size of
the file. `iter_records` streams records for parsers with bounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

# Bisection stops when the range is this small; the rest is a linear scan.
SCAN_BLOCK = 64 * 1024
# A record longer than this is cut (parsers see its first MAX_RECORD bytes).
MAX_RECORD = 1024 * 1024


@dataclass(frozen=True)
class Record:
    """One log record, as every product's log parser yields it."""

    offset: int
    timestamp: datetime | None
    level: str | None
    message_id: str | None
    text: str


class LogFormat:
    """A product's log layout. Subclasses set `name` and `record_start` (matched
    at line starts), and override `timestamp` and `parse`."""

    name: str = "lines"
    # Matches the header line of a record; each line starts a record by default.
    record_start: re.Pattern[bytes] = re.compile(rb"^", re.MULTILINE)
    encoding: str = "utf-8"

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        """The record's time, timezone-aware; None when the header has none.

        `stream` and the header's `offset` are there for formats whose header
        alone does not carry the full date (Informix puts the date on a line of
        its own); most formats only read `header`."""
        return None

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        text = raw.decode(self.encoding, errors="replace")
        return Record(offset, timestamp, None, None, text.rstrip("\n"))

    def options(self) -> dict[str, str]:
        """Settings this instance was made with (e.g. a date order), recorded in the
        manifest so that an engineer's reader builds the same format again: the
        owning plugin's log format class of this `name`, called with **options."""
        return {}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options()}


def aware(moment: datetime) -> datetime:
    """Naive log times are the host's local time (where the product wrote them)."""
    if moment.tzinfo:
        return moment
    try:
        return moment.astimezone()
    except (OverflowError, ValueError):
        # Within a day of year 1 or 9999 the local offset cannot be applied: a
        # garbage timestamp, kept in order rather than crashing the reader.
        return moment.replace(tzinfo=UTC)


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """`7d`, `36h`, `90m`, `2w`, or an ISO date/date-time (local time when no
    zone is given). Raises ValueError with a message for the user."""
    duration = _DURATION.match(text)
    if duration:
        amount, unit = int(duration.group(1)), duration.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"bad --since {text!r}: use a duration such as 7d, 36h, 90m, "
            "or a date/time such as 2026-11-20 or 2026-11-20T08:00"
        ) from None
    return aware(moment).astimezone(UTC)


def _lines_from(stream: BinaryIO, offset: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) for each whole line that starts at or after `offset`."""
    position = offset
    if offset > 0:
        stream.seek(offset - 1)
        if stream.read(1) != b"\n":
            position += len(stream.readline())  # finish the line we landed in
    stream.seek(position)
    for line in iter(stream.readline, b""):
        yield position, line
        position += len(line)


def _next_header(
    stream: BinaryIO, fmt: LogFormat, offset: int, limit: int
) -> tuple[int, datetime, int] | None:
    """The first record header with a timestamp starting in [offset, limit):
    (its offset, its time, the offset of the line after it)."""
    for position, line in _lines_from(stream, offset):
        if position >= limit:
            return None
        match = fmt.record_start.match(line)
        if match is None:
            continue
        resume = stream.tell()
        moment = fmt.timestamp(match, stream, position)
        stream.seek(resume)
        if moment is not None:
            return position, moment, position + len(line)
    return None


def window_start(stream: BinaryIO, size: int, fmt: LogFormat, since: datetime) -> int:
    """Byte offset of the first record with a timestamp at or after `since`
    (`size` when there is none), by bisection on byte offsets. Assumes records
    are in time order, as each product writes them.
    """
    low, high = 0, size
    while high - low > SCAN_BLOCK:
        middle = (low + high) // 2
        found = _next_header(stream, fmt, middle, high)
        if found is None or found[1] >= since:
            high = middle
        else:
            low = found[2]
    found = _next_header(stream, fmt, low, size)
    while found is not None and found[1] < since:
        found = _next_header(stream, fmt, found[2], size)
    return found[0] if found else size


def record_start_at_or_after(stream: BinaryIO, fmt: LogFormat, offset: int, size: int) -> int:
    """The first record boundary at or after `offset`, for cutting a log to a size
    cap without splitting a record (`offset` itself when none is near)."""
    found = _next_header(stream, fmt, offset, min(size, offset + MAX_RECORD))
    return found[0] if found else offset


def iter_records(stream: BinaryIO, fmt: LogFormat, start: int = 0) -> Iterator[Record]:
    """Stream the records from `start` on; memory stays under MAX_RECORD."""
    parts: list[bytes] = []
    kept = 0
    record_offset = start
    header: re.Match[bytes] | None = None
    for position, line in _lines_from(stream, start):
        match = fmt.record_start.match(line)
        if match is not None and parts:
            yield _record(stream, fmt, record_offset, header, b"".join(parts))
            parts, kept = [], 0
        if not parts:
            record_offset, header = position, match
        if kept < MAX_RECORD:
            parts.append(line[: MAX_RECORD - kept])
            kept += len(parts[-1])
    if parts:
        yield _record(stream, fmt, record_offset, header, b"".join(parts))


def _record(
    stream: BinaryIO, fmt: LogFormat, offset: int, header: re.Match[bytes] | None, raw: bytes
) -> Record:
    moment = None
    if header is not None:
        resume = stream.tell()
        moment = fmt.timestamp(header, stream, offset)
        stream.seek(resume)
    return fmt.parse(offset, raw, moment)
