"""Record-aware time windows: bisection finds the first record in the window,
keeps records whole, and reads a tiny part of a large log."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.logwindow import (
    LogFormat,
    iter_records,
    parse_since,
    record_start_at_or_after,
    window_start,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


class StampFormat(LogFormat):
    """`2026-01-01T00:00:00Z LEVEL text` headers, indented continuation lines."""

    name = "test"
    record_start = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\w+) ")

    def timestamp(self, header: re.Match[bytes], stream: object, offset: int) -> datetime:
        return datetime.strptime(header.group(1).decode(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


FMT = StampFormat()


def make_log(minutes: list[int], continuation: int = 2) -> tuple[bytes, list[int]]:
    """Records at START + each minute; returns the log and each record's offset."""
    out = io.BytesIO()
    offsets = []
    for number, minute in enumerate(minutes):
        offsets.append(out.tell())
        stamp = (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.write(f"{stamp} Error record {number}\n".encode())
        for line in range(continuation):
            out.write(f"    detail {line} of record {number}\n".encode())
    return out.getvalue(), offsets


class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.bytes_read += len(data)
        return data


def test_window_starts_at_the_first_record_in_it() -> None:
    data, offsets = make_log([0, 10, 20, 30, 40])
    stream = io.BytesIO(data)
    assert window_start(stream, len(data), FMT, START + timedelta(minutes=20)) == offsets[2]
    assert window_start(stream, len(data), FMT, START + timedelta(minutes=21)) == offsets[3]
    assert window_start(stream, len(data), FMT, START) == 0
    assert window_start(stream, len(data), FMT, START + timedelta(days=1)) == len(data)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=400),
    probe=st.integers(min_value=-10, max_value=20_000),
    continuation=st.integers(min_value=0, max_value=40),
)
def test_bisection_agrees_with_a_linear_scan(
    gaps: list[int], probe: int, continuation: int
) -> None:
    minutes = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    data, offsets = make_log(minutes, continuation)
    since = START + timedelta(minutes=probe)
    expected = next((o for o, m in zip(offsets, minutes, strict=True) if m >= probe), len(data))
    assert window_start(io.BytesIO(data), len(data), FMT, since) == expected


def test_large_log_is_entered_by_bisection_not_scanned() -> None:
    data, offsets = make_log(list(range(60_000)), continuation=3)  # ~5 MB
    stream = CountingReader(data)
    since = START + timedelta(minutes=59_990)
    assert window_start(stream, len(data), FMT, since) == offsets[59_990]
    assert stream.bytes_read < len(data) // 50, stream.bytes_read


def test_iter_records_keeps_multiline_records_whole() -> None:
    data, offsets = make_log([0, 5, 9], continuation=2)
    records = list(iter_records(io.BytesIO(data), FMT))
    assert [r.offset for r in records] == offsets
    assert records[1].timestamp == START + timedelta(minutes=5)
    assert records[1].text.splitlines() == [
        records[1].text.splitlines()[0],
        "    detail 0 of record 1",
        "    detail 1 of record 1",
    ]
    window = list(iter_records(io.BytesIO(data), FMT, start=offsets[1]))
    assert [r.offset for r in window] == offsets[1:]


def test_iter_records_starting_mid_line_skips_to_the_next_line() -> None:
    data, offsets = make_log([0, 5], continuation=0)
    records = list(iter_records(io.BytesIO(data), FMT, start=3))
    assert [r.offset for r in records] == [offsets[1]]


def test_size_cap_cut_moves_to_a_record_boundary() -> None:
    data, offsets = make_log([0, 1, 2, 3], continuation=5)
    middle = offsets[2] - 10  # inside record 1's continuation lines
    assert record_start_at_or_after(io.BytesIO(data), FMT, middle, len(data)) == offsets[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", datetime(2026, 5, 3, 12, 0, tzinfo=UTC)),
        ("36h", datetime(2026, 5, 9, 0, 0, tzinfo=UTC)),
        ("90m", datetime(2026, 5, 10, 10, 30, tzinfo=UTC)),
        ("2w", datetime(2026, 4, 26, 12, 0, tzinfo=UTC)),
        ("2026-05-01T08:00:00+02:00", datetime(2026, 5, 1, 6, 0, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, datetime(2026, 5, 10, 12, 0, tzinfo=UTC)) == expected


def test_parse_since_local_date_is_aware() -> None:
    moment = parse_since("2026-05-01", datetime(2026, 5, 10, tzinfo=UTC))
    assert moment.tzinfo is not None


@pytest.mark.parametrize("text", ["yesterday", "7 days", "2026-13-01", ""])
def test_parse_since_rejects_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="bad --since"):
        parse_since(text, datetime(2026, 5, 10, tzinfo=UTC))
