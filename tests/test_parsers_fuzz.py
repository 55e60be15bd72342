"""Property-based fuzzing of every product parser: random input, and real-format
input (the fixtures under tests/data/<product>/ and, when $PA_SAMPLES_DIR is set,
the real samples) with bytes inserted, deleted or flipped, lines duplicated or
dropped, cuts, and bytes that are not UTF-8.

No parser documents an error, so the property is that none raises. The log
formats must also keep their record contract: offsets start at 0 and strictly
increase inside the file, each record's text is exactly its bytes decoded (so
the lossless formats lose none), times are timezone-aware, and window_start
lands on a record start (or the end), agrees with a linear scan when the
records are in time order, and iter_records from it yields the same records.

The bugs this fuzzing found (and that were fixed) are pinned, minimally, by the
test_bug_* tests at the end. A new bug can be parked in KNOWN_BUGS, which lets
the property tests set aside the inputs that hit it, with a strict-xfail
reproducer, until it is fixed.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import io
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from collector.plugins import (
    db2,
    db2_parse,
    domino,
    domino_parse,
    informix,
    informix_parse,
    mq,
    mq_parse,
    websphere,
    websphere_parse,
)
from conftest import DATA
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from collector import logwindow
from collector.logwindow import LogFormat, Record, iter_records, window_start

MODULES = {
    "db2": db2_parse,
    "domino": domino_parse,
    "informix": informix_parse,
    "mq": mq_parse,
    "websphere": websphere_parse,
}
PLUGINS = {db2.Db2, domino.Domino, informix.Informix, mq.MQ, websphere.WebSphere}
SAMPLE_FOLDERS = {"websphere": "was"}
SEED_BYTES = 8 * 1024  # per seed piece: enough structure, fast enough for 100 examples
FUZZ = settings(
    deadline=None,
    max_examples=100,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EARLY = datetime(1, 1, 2, tzinfo=UTC)


# --- known bugs ----------------------------------------------------------------------


@dataclass(frozen=True)
class KnownBug:
    """An error raised by `function` of `module` (the innermost pa-collect frame)."""

    errors: tuple[type[BaseException], ...]
    module: str
    function: str
    reproducer: str


KNOWN_BUGS: tuple[KnownBug, ...] = ()
OUR_CODE = (Path(db2.__file__).parent, Path(logwindow.__file__).parent)


def known_bug(error: BaseException) -> KnownBug | None:
    ours = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).parent in OUR_CODE
    ]
    if not ours:
        return None
    module, function = Path(ours[-1].filename).stem, ours[-1].name
    return next(
        (
            bug
            for bug in KNOWN_BUGS
            if isinstance(error, bug.errors) and (bug.module, bug.function) == (module, function)
        ),
        None,
    )


@contextmanager
def only_known_bugs() -> Iterator[None]:
    """Any error fails the example, except a known bug's (the example is set aside)."""
    try:
        yield
    except Exception as error:
        if known_bug(error) is None:
            raise
        reject()


def run_parser(parse: Callable[[Any], Any], value: Any) -> None:
    """Any error fails the example, except a known bug's (the parser is skipped)."""
    try:
        parse(value)
    except Exception as error:
        if known_bug(error) is None:
            raise


# --- inputs --------------------------------------------------------------------------


def sample_files(product: str) -> list[Path]:
    """The real samples of a product, when $PA_SAMPLES_DIR is set (never skips)."""
    root = os.environ.get("PA_SAMPLES_DIR")
    folder = Path(root, SAMPLE_FOLDERS.get(product, product)) if root else None
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder and folder.is_dir() else []


def pieces(data: bytes) -> list[bytes]:
    """The head of a file and, for a big one, a piece of its middle, cut at line ends."""
    if len(data) <= SEED_BYTES:
        return [data]
    found = []
    for start in (0, len(data) // 2):
        start = data.find(b"\n", start - 1) + 1 if start else 0
        piece = data[start : start + SEED_BYTES]
        found.append(piece[: piece.rfind(b"\n") + 1] or piece)
    return found


@functools.cache
def seeds(product: str, *patterns: str) -> tuple[bytes, ...]:
    """Fixture files and samples of a product whose names match (all when none given)."""
    files = [p for p in sorted((DATA / product).rglob("*")) if p.is_file()]
    files += sample_files(product)
    chosen = [p for p in files if not patterns or any(fnmatch.fnmatch(p.name, x) for x in patterns)]
    return tuple(piece for path in chosen for piece in pieces(path.read_bytes()))


@functools.cache
def lines_of(found: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(line for seed in found for line in seed.splitlines(keepends=True))


NOT_UTF8 = (b"\xff", b"\xfe\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80")
ODD = (b"\x00", b"\r", b"\r\n", b"\t", b"\x1b[0m", b"\n\n", b" " * 9)
# What headers are made of: a flipped byte that becomes one of these keeps it close.
STRUCTURE = b"\n\t []():-/.,+0123456789AMPZE"


def mutate_once(draw: st.DrawFn, data: bytearray) -> None:
    kind = draw(st.sampled_from(("insert", "odd", "delete", "flip", "set", "cut", "line")))
    at = draw(st.integers(0, len(data)))
    if kind == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=8))
    elif kind == "odd":
        data[at:at] = draw(st.sampled_from(NOT_UTF8 + ODD))
    elif kind == "delete":
        del data[at : at + draw(st.integers(1, 64))]
    elif kind == "cut":
        del data[at:]
    elif kind == "line":
        duplicate_line(draw, data)
    elif data:
        at = min(at, len(data) - 1)
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        else:
            data[at] = draw(st.sampled_from(STRUCTURE))


def line_starts(data: bytes | bytearray) -> list[int]:
    return [0] + [n + 1 for n, byte in enumerate(data) if byte == 0x0A and n + 1 < len(data)]


def duplicate_line(draw: st.DrawFn, data: bytearray) -> None:
    """A copy of one line at another line start (a repeated or out-of-order record)."""
    starts = line_starts(data)
    line = draw(st.integers(0, len(starts) - 1))
    end = data.find(b"\n", starts[line]) + 1 or len(data)
    copy = bytes(data[starts[line] : end])
    where = draw(st.sampled_from([*starts, len(data)]))
    data[where:where] = copy if copy.endswith(b"\n") else copy + b"\n"


@st.composite
def mutated(draw: st.DrawFn, found: tuple[bytes, ...]) -> bytes:
    """A seed with 1 to 6 mutations."""
    data = bytearray(draw(st.sampled_from(found)))
    for _ in range(draw(st.integers(1, 6))):
        mutate_once(draw, data)
    return bytes(data)


@st.composite
def line_soup(draw: st.DrawFn, found: tuple[bytes, ...]) -> bytes:
    """Real lines of a format in any order, with random bytes among them."""
    parts = draw(st.lists(st.sampled_from(lines_of(found)) | st.binary(max_size=12), max_size=40))
    return b"".join(parts)


@st.composite
def reordered_lines(draw: st.DrawFn, found: tuple[bytes, ...]) -> bytes:
    """A seed with whole lines dropped or repeated in place and maybe a cut at a
    line end: the records stay mostly in time order."""
    seed: bytes = draw(st.sampled_from(found))
    lines = seed.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        if draw(st.sampled_from(("drop", "repeat"))) == "drop":
            del lines[at]
        else:
            lines.insert(at, lines[at])
    if lines and draw(st.sampled_from(("cut", "whole"))) == "cut":
        del lines[draw(st.integers(0, len(lines) - 1)) :]
    return b"".join(lines)


def random_text() -> st.SearchStrategy[str]:
    structured = st.sampled_from(list("\n\t :=-/.,()[]\"'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return st.text(alphabet=structured | st.characters(), max_size=1500)


@functools.cache
def texts(product: str) -> st.SearchStrategy[str]:
    """Random text, and mutated fixtures decoded as Collected.text does (and Latin-1)."""
    found = seeds(product)
    return st.one_of(
        random_text(),
        mutated(found).map(lambda data: data.decode("utf-8", errors="replace")),
        mutated(found).map(lambda data: data.decode("latin-1")),
    )


# --- the parsers -----------------------------------------------------------------------


def console_lines(text: str) -> None:
    for order in (None, "MDY", "DMY", "YMD", "nonsense"):
        for line in text.splitlines() or [text]:
            domino_parse.parse_console_line(line, order)


def access_lines(text: str) -> None:
    for line in text.splitlines() or [text]:
        domino_parse.parse_access_line(line)


def public_parsers(module: ModuleType) -> dict[str, Callable[..., Any]]:
    """The module's own public parse_* functions, by name."""
    return {
        name: value
        for name, value in vars(module).items()
        if name.startswith("parse_")
        and inspect.isfunction(value)
        and value.__module__ == module.__name__
    }


def taking(module: ModuleType, kind: str) -> dict[str, Callable[[Any], Any]]:
    """The parse_* functions whose one required argument is `kind` (str or bytes)."""
    found = {}
    for name, function in public_parsers(module).items():
        required = [
            p for p in inspect.signature(function).parameters.values() if p.default is p.empty
        ]
        if len(required) == 1 and str(required[0].annotation).split(" |")[0] == kind:
            found[name] = function
    return found


# Besides each plugin's parse_* functions, the helpers that turn their output into
# facts, and the per-line parsers over every line with every date order.
HELPERS: dict[str, list[Callable[[str], Any]]] = {
    "db2": [
        db2_parse.db2pd_state,
        db2_parse.db2diag_message_id,
        lambda text: db2_parse.resolve_diagpath(db2_parse.parse_cfg(text), "/home/db2inst1"),
        lambda text: db2.local_databases(db2_parse.parse_db_directory(text)),
    ],
    "informix": [
        informix_parse.uptime_seconds,
        lambda text: informix.server_from_onconfig("/x/onconfig", text, {"INFORMIXDIR": "/x"}),
    ],
    "mq": [
        lambda text: mq_parse.product_facts(
            mq_parse.parse_dspmqver(text), mq_parse.parse_dspmq(text)
        ),
        lambda text: mq_parse.installations(text, mq_parse.parse_dspmqver(text)),
    ],
    "websphere": [
        lambda text: websphere.install_facts({"path": "/opt/IBM/WAS"}, text, text),
    ],
    "domino": [
        console_lines,
        access_lines,
        domino_parse.access_summary,
        domino_parse.last_banner,
        lambda text: domino_parse.notes_ini_facts(domino_parse.parse_notes_ini(text)),
        lambda text: domino_parse.release_from_evidence(
            [{"line": text, "source": "x", "kind": "y"}]
        ),
    ],
}
TEXT_PARSERS = {
    product: [*taking(module, "str").values(), *HELPERS[product]]
    for product, module in MODULES.items()
}


def parse_last_events(data: bytes) -> None:
    websphere_parse.parse_last_event(data, websphere_parse.STARTED)
    websphere_parse.parse_last_event(data, websphere_parse.STOPPED)


# Bytes in (whole logs held in memory), by name: (product, parser).
BYTES_PARSERS: dict[str, tuple[str, Callable[[bytes], Any]]] = {
    name: (product, function)
    for product, module in MODULES.items()
    for name, function in taking(module, "bytes").items()
}
BYTES_PARSERS["parse_last_event"] = ("websphere", parse_last_events)


def utf8_else_latin1(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def encoded(text: str, raw: bytes) -> bytes:
    """The bytes a utf8_else_latin1 text came from."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return text.encode("latin-1")
    return text.encode("utf-8")


@dataclass(frozen=True)
class Format:
    """A LogFormat as a manifest names it, with how its text comes from a record's
    bytes, and how to get the bytes back when nothing is lost."""

    name: str
    make: Callable[[], LogFormat]
    product: str
    patterns: tuple[str, ...]
    decode: Callable[[bytes], str]
    encode: Callable[[str, bytes], bytes] | None
    extra_seeds: tuple[bytes, ...] = ()

    def inputs(self) -> tuple[bytes, ...]:
        return seeds(self.product, *self.patterns) + self.extra_seeds

    def __str__(self) -> str:
        return self.name


ACCESS_LINES = (
    b"192.0.2.7 www.acme.example - [05/Nov/2006:00:00:13 -0500] "
    b'"GET /webdb.nsf/x.pdf HTTP/1.1" 200 65111\n'
    b"198.51.100.9 mail.acme.example CN=Jane Doe/O=Acme [21/Mar/2023:10:15:02 +0100] "
    b'"POST /mail/jdoe.nsf/?SaveDocument HTTP/1.1" 500 - "https://x/" "Mozilla/5.0"\n'
    b'192.0.2.8 intranet.acme.example - [21/Mar/2023:10:16:00 +0100] "GET / HTTP/1.0" 404 -\n'
)
FORMATS = [
    Format(
        "db2diag",
        db2_parse.Db2DiagFormat,
        "db2",
        ("db2diag*.log", "*.nfy"),
        lambda raw: raw.decode("utf-8", errors="surrogateescape").rstrip("\n"),
        lambda text, raw: text.encode("utf-8", errors="surrogateescape"),
    ),
    Format(
        "mq_amqerr",
        mq_parse.AmqerrFormat,
        "mq",
        ("*AMQERR*",),
        lambda raw: utf8_else_latin1(raw).rstrip("\r\n"),
        encoded,
    ),
    Format(
        "mq_amqerr-cp850",
        lambda: mq_parse.AmqerrFormat(codepage="cp850"),
        "mq",
        ("*AMQERR*",),
        lambda raw: raw.decode("cp850", errors="replace").rstrip("\r\n"),
        lambda text, raw: text.encode("cp850"),
    ),
    Format(
        "websphere-systemout",
        websphere_parse.SystemOutFormat,
        "websphere",
        ("SystemOut*.log", "SystemErr*.log", "startServer*.log", "stopServer*.log"),
        lambda raw: utf8_else_latin1(raw).rstrip("\r\n"),
        encoded,
    ),
    Format(
        "informix_online_log",
        informix_parse.OnlineLog,
        "informix",
        ("online*.log*", "oninit_v*", "onstat_m*"),
        lambda raw: utf8_else_latin1(raw).rstrip("\r\n"),
        encoded,
    ),
    Format(
        "domino-console",
        domino_parse.ConsoleLogFormat,
        "domino",
        ("console*.log", "domino-smtp*"),
        lambda raw: raw.decode("utf-8", errors="replace").rstrip("\n"),
        None,  # errors="replace": only text that was UTF-8 gives its bytes back
    ),
    Format(
        "domino-console-DMY",
        lambda: domino_parse.ConsoleLogFormat(date_order="DMY"),
        "domino",
        ("console*.log", "domino-smtp*"),
        lambda raw: raw.decode("utf-8", errors="replace").rstrip("\n"),
        None,
    ),
    Format(
        "domino-http-access",
        domino_parse.AccessLogFormat,
        "domino",
        ("domino_http_access*",),
        lambda raw: raw.decode("utf-8", errors="replace").rstrip("\n"),
        None,
        (ACCESS_LINES,),
    ),
]


# --- the record contract ---------------------------------------------------------------


def check_records(fmt: Format, data: bytes) -> list[Record]:
    found = list(iter_records(io.BytesIO(data), fmt.make()))
    offsets = [record.offset for record in found]
    assert offsets == sorted(set(offsets)), offsets
    assert all(0 <= offset < len(data) for offset in offsets)
    assert (offsets[:1] == [0]) == bool(data)  # from the first byte on
    ends = [*offsets[1:], len(data)][: len(found)]
    for record, end in zip(found, ends, strict=True):
        raw = data[record.offset : end]
        assert record.text == fmt.decode(raw), (record.offset, raw[:200])
        if fmt.encode is not None:  # a lossless decoding: the bytes come back
            kept = fmt.encode(record.text, raw)
            assert kept + raw[len(kept) :] == raw and not raw[len(kept) :].strip(b"\r\n")
        assert record.timestamp is None or record.timestamp.utcoffset() is not None
        assert record.level is None or isinstance(record.level, str)
        assert record.message_id is None or isinstance(record.message_id, str)
    return found


def check_window(fmt: Format, data: bytes, found: list[Record], since: datetime) -> tuple[int, int]:
    """window_start with bisection (a tiny SCAN_BLOCK, so small inputs bisect too) and
    without, as (bisected, linear)."""
    starts = {record.offset for record in found} | {len(data)}
    with mock.patch.object(logwindow, "SCAN_BLOCK", 64):
        bisected = window_start(io.BytesIO(data), len(data), fmt.make(), since)
    linear = window_start(io.BytesIO(data), len(data), fmt.make(), since)
    for offset in (bisected, linear):
        assert 0 <= offset <= len(data)
        assert offset in starts  # a record start (so a line start), or the end
    # Cutting the log at the window keeps the records from there on, unchanged.
    assert list(iter_records(io.BytesIO(data), fmt.make(), linear)) == [
        record for record in found if record.offset >= linear
    ]
    return bisected, linear


def check_on_a_file(fmt: Format, data: bytes, found: list[Record], since: datetime) -> None:
    """As Bundle.records and the collector read logs: from a real file, one format
    instance for every pass (OnlineLog caches day headers per file); the same
    records and windows as from memory."""
    reader = fmt.make()
    with tempfile.TemporaryFile() as spool:
        spool.write(data)
        spool.seek(0)
        assert list(iter_records(spool, reader)) == found
        for moment in (since, EARLY):
            offset = window_start(spool, len(data), reader, moment)
            assert offset == window_start(io.BytesIO(data), len(data), fmt.make(), moment)
            assert list(iter_records(spool, reader, offset)) == [
                record for record in found if record.offset >= offset
            ]


def check_format(fmt: Format, data: bytes, since: datetime) -> None:
    with only_known_bugs():
        found = check_records(fmt, data)
        first = next((r.offset for r in found if r.timestamp is not None), len(data))
        assert check_window(fmt, data, found, EARLY) == (first, first)
        check_window(fmt, data, found, since)
        timed = [r.timestamp for r in found if r.timestamp is not None]
        if timed:
            check_window(fmt, data, found, timed[len(timed) // 2])
        check_on_a_file(fmt, data, found, since)


SINCE = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@FUZZ
@given(data=st.data())
def test_log_format_on_random_bytes(fmt: Format, data: st.DataObject) -> None:
    raw = data.draw(st.binary(max_size=2048) | line_soup(fmt.inputs()), label="log")
    check_format(fmt, raw, data.draw(SINCE, label="since"))


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@FUZZ
@given(data=st.data())
def test_log_format_on_mutated_real_logs(fmt: Format, data: st.DataObject) -> None:
    raw = data.draw(mutated(fmt.inputs()), label="log")
    check_format(fmt, raw, data.draw(SINCE, label="since"))


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@FUZZ
@given(data=st.data())
def test_window_start_agrees_with_a_linear_scan_on_logs_in_time_order(
    fmt: Format, data: st.DataObject
) -> None:
    raw = data.draw(reordered_lines(fmt.inputs()), label="log")
    with only_known_bugs():
        found = check_records(fmt, raw)
    times = [r.timestamp for r in found if r.timestamp is not None]
    if times != sorted(times):
        reject()
    since = data.draw(st.sampled_from(times) | SINCE if times else SINCE, label="since")
    expected = next((r.offset for r in found if r.timestamp and r.timestamp >= since), len(raw))
    with only_known_bugs():
        assert check_window(fmt, raw, found, since) == (expected, expected)


@pytest.mark.parametrize("name", sorted(BYTES_PARSERS))
@FUZZ
@given(data=st.data())
def test_bytes_parsers_never_raise(name: str, data: st.DataObject) -> None:
    product, parse = BYTES_PARSERS[name]
    found = seeds(product)
    run_parser(parse, data.draw(st.binary(max_size=2048) | line_soup(found) | mutated(found)))


@pytest.mark.parametrize("product", sorted(TEXT_PARSERS))
@FUZZ
@given(data=st.data())
def test_text_parsers_never_raise(product: str, data: st.DataObject) -> None:
    text = data.draw(texts(product), label="text")
    for parse in TEXT_PARSERS[product]:
        run_parser(parse, text)


def test_every_public_parser_and_log_format_is_fuzzed() -> None:
    """parse_* functions of one str or bytes are found by the tests above; any
    other must be added to BYTES_PARSERS or HELPERS by hand."""
    for module in MODULES.values():
        covered = {*taking(module, "str"), *taking(module, "bytes"), *BYTES_PARSERS}
        left = sorted(set(public_parsers(module)) - covered)
        assert not left, f"{module.__name__}: {left} are not fuzzed"
    declared = {factory for plugin in PLUGINS for factory in plugin.log_formats}
    assert declared <= {type(fmt.make()) for fmt in FORMATS}


# --- the bugs found, minimal reproducers ---------------------------------------------------


def test_every_known_bug_has_its_reproducer() -> None:
    tests = {name for name, value in globals().items() if name.startswith("test_bug_")}
    assert {bug.reproducer for bug in KNOWN_BUGS} <= tests


def records_of(fmt: LogFormat, data: bytes) -> list[Record]:
    return list(iter_records(io.BytesIO(data), fmt))


def test_bug_websphere_numeric_zone_of_a_day() -> None:
    data = b"[1/1/20 10:00:00:000 GMT+24:00] 0000002a WsServerImpl A WSVR0001I: open\n"
    records_of(websphere_parse.SystemOutFormat(), data)


def test_bug_mq_impossible_time_insert() -> None:
    data = b"01/01/2020 10:00:00 - Process(1)\n  Time(2021-02-30T00:00:00Z)\n"
    records_of(mq_parse.AmqerrFormat(), data)


def test_bug_informix_rollover_past_9999() -> None:
    records_of(informix_parse.OnlineLog(), b"Fri Dec 31 23:59:59 9999\n00:00:00  x\n")


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Run as on a host in another time zone (naive log times are its local time)."""

    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        if zone != "UTC" and time.timezone == 0:
            pytest.skip(f"no time zone database entry for {zone}")

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("zone", "fmt", "data"),
    [
        # A time line dated by a header on the first day of the calendar.
        ("UTC", informix_parse.OnlineLog(), b"Mon Jan  1 00:00:05 0001\n00:00:10  x\n"),
        # Naive times on the last day of the calendar, west of UTC.
        ("America/New_York", informix_parse.OnlineLog(), b"Fri Dec 31 23:59:59 9999\n"),
        (
            "America/New_York",
            db2_parse.Db2DiagFormat(),
            b"9999-12-31-23.59.59.000000   Instance:x\n",
        ),
        ("America/New_York", mq_parse.AmqerrFormat(), b"12/31/9999 23:59:59 - Process(1)\n"),
        (
            "America/New_York",
            websphere_parse.SystemOutFormat(),
            b"[9999/12/31 23:59:59:000 X] 0 x I m\n",
        ),
        ("America/New_York", domino_parse.ConsoleLogFormat(), b"9999/12/31 23:59:59  x\n"),
        # East of UTC the same time is year 10000: ValueError, uncaught here.
        ("Asia/Tokyo", domino_parse.ConsoleLogFormat(), b"9999/12/31 23:59:59  x\n"),
        ("Asia/Tokyo", websphere_parse.SystemOutFormat(), b"[9999/12/31 23:59:59:000 X] 0 x I m\n"),
    ],
    ids=lambda value: getattr(value, "name", None) if isinstance(value, LogFormat) else None,
)
def test_bug_aware_at_calendar_ends(
    local_zone: Callable[[str], None], zone: str, fmt: LogFormat, data: bytes
) -> None:
    local_zone(zone)
    records_of(fmt, data)


@pytest.mark.parametrize(
    "banner",
    [
        "IBM Informix Dynamic Server Version 14.10.FC4W1AEE -- On-Line -- "
        "Up 02:03:29 x-- 208392 Kbytes",
        "X Version 1 -- On-Line -- Kbytes",
        "X Version 1 -- On-Line -- 1.5 Kbytes",
    ],
    ids=["unseparated", "no_number", "not_an_integer"],
)
def test_bug_informix_banner_memory(banner: str) -> None:
    informix_parse.parse_banner(banner)


@pytest.mark.parametrize(
    "parse",
    [
        lambda: informix_parse.parse_onstat_g_rss("Number of RSS servers: ²\n"),
        lambda: db2_parse.parse_passwd("db2inst1:x:²:100::/home/db2inst1:/bin/sh\n"),
        lambda: mq_parse.product_facts(mq_parse.parse_dspmqver("MaxCmdLevel:   ²\n"), []),
        lambda: mq_parse.product_facts(mq_parse.parse_dspmqver("Version:   9.3.0.²\n"), []),
        lambda: domino_parse.notes_ini_facts(
            domino_parse.parse_notes_ini("NSF_Buffer_Pool_Size_MB=²\n")
        ),
    ],
    ids=["informix_rss", "db2_passwd", "mq_max_cmd_level", "mq_fix_pack", "domino_pool"],
)
def test_bug_isdigit_is_not_int(parse: Callable[[], Any]) -> None:
    parse()


@pytest.mark.parametrize("codepage", ["bogus", "rot13"])
def test_mq_codepage_option_that_is_no_text_codec_is_refused_when_built(codepage: str) -> None:
    """The option comes from a bundle's manifest: refused at construction (the
    reader turns that LookupError into a BundleError), never in the middle of a parse."""
    with pytest.raises(LookupError):
        mq_parse.AmqerrFormat(codepage=codepage)
