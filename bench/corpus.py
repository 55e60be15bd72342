"""Deterministic synthetic corpus for pa-collect benchmarks.

Real customer diagnostics (``db2diag.log`` files, instance/database
configuration dumps) cannot be shipped with the project, yet the archive
codecs and the collector pipeline have to be benchmarked on data that
compresses like the real thing.  Highly repetitive filler would compress
100x and make every codec look fast; this module instead produces
multi-line records in the real ``db2diag.log`` layout with varied
timestamps, PIDs/TIDs, ZRC codes, call stacks and hex dumps, so that
``7zz -mx1`` lands in the 5-8x ratio range typical of production logs.

Output depends only on the arguments (seeded ``random.Random``, fixed
default start time), so benchmark runs are reproducible.

Usage::

    python bench/corpus.py OUT_DIR --size 400M [--configs 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

DEFAULT_START = datetime(2025, 1, 1, 0, 0, 0)
CHUNK_CHARS = 4 * 1024 * 1024
TEMPLATE_COUNT = 400
APP_POOL_SIZE = 256

HOSTS = ("dbhost01", "dbhost02", "db2prd-a.example.com", "db2prd-b.example.com")
INSTANCES = ("db2inst1", "db2inst2", "db2prd")
DATABASES = ("SAMPLE", "PRODDB", "WHDB", "HRDB")
LEVELS = ("Info", "Event", "Warning", "Error", "Severe", "Critical")
LEVEL_WEIGHTS = (46, 20, 20, 9, 4, 1)

# (component, function) pairs seen in genuine db2diag.log files.
FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("base sys utilities", "sqleStartStopSingleNode"),
    ("base sys utilities", "sqeLocalDatabase::FreeResourcesOnDBShutdown"),
    ("base sys utilities", "sqledint"),
    ("data protection services", "sqlpgResSpace"),
    ("data protection services", "sqlpgArchiveLogFile"),
    ("data protection services", "sqlpgInitRecoverable"),
    ("data protection services", "sqlpLogMgrInit"),
    ("buffer pool services", "sqlbAllocateExtent"),
    ("buffer pool services", "sqlbDMSStartPool"),
    ("buffer pool services", "sqlbReadAndReleaseBuffers"),
    ("relation data serv", "sqlrr_dump_ffdc"),
    ("relation data serv", "sqlrr_process_fetch_request"),
    ("oper system services", "sqloSleepInstance"),
    ("oper system services", "sqloopenp"),
    ("common communication", "sqlcctcpconnmgr_child"),
    ("common communication", "sqlcctest"),
    ("SQO Memory Management", "SqloMemController::requestMemory"),
    ("lock manager", "sqlplnfd"),
    ("lock manager", "sqlplLockEscalation"),
    ("data management", "sqldReadDMSPage"),
    ("data management", "sqldEscalateLocks"),
    ("recovery manager", "sqlpReplayMaster"),
    ("database utilities", "sqluMCStartBackup"),
    ("database utilities", "sqlubMWResponse"),
    ("Self tuning memory manager", "stmmLogRecordBeforeResizes"),
    ("Self tuning memory manager", "stmmLogGetBenefits"),
    ("access plan manager", "sqlra_load_pkg"),
    ("runtime interpreter", "sqlri_ddl_common"),
    ("catalog services", "sqlrlCatalogScan"),
    ("DRDA Communication Manager", "sqljcReceive"),
    ("health monitor", "HmonEvaluateIndicator"),
    ("routine_infrastructure", "sqlerMasterThreadListener"),
    ("WLM", "sqlrwCollectStatistics"),
    ("Connection Concentrator", "sqleCC_EndAgent"),
    ("index manager", "sqliRebuildIndex"),
    ("sort services", "sqlsAllocSortHeap"),
)

# (ZRC hex value, symbolic name, description)
SQLCA_BUILT = "SQLCA has been built and saved in component specific control block."
ZRCS: tuple[tuple[int, str, str], ...] = (
    (0x8005006D, "SQLE_CA_BUILT", SQLCA_BUILT),
    (0x8012006D, "SQLZ_CA_BUILT", SQLCA_BUILT),
    (0x860F000A, "SQLO_FNEX", "File not found."),
    (0x800F006A, "SQLO_ACCD", "Access denied"),
    (0x85100009, "SQLP_NOSPACE", "Log File has reached its saturation point"),
    (0x80100002, "SQLP_LTIMEOUT", "Lock Timeout"),
    (0x80100003, "SQLP_LDED", "Deadlock detected"),
    (0x8B0F0000, "SQLO_NOMEM", "No memory available in 'Database Heap'"),
    (0x87100024, "SQLI_NOKEY", "Key not found"),
    (0x80020005, "SQLB_BAD_CONTAINER", "Container access error"),
    (0x8002003C, "SQLB_TBSPACE_FULL", "Table space is full"),
    (0x81360010, "SQLR_NO_SUCH_TABLE", "Object not found"),
    (0x870F0009, "SQLO_CHKPROC_FAILED", "Process check failed"),
    (0x8009001F, "SQLB_BPOOL_PAGE_NOT_FOUND", "Buffer pool page not found"),
    (0x81A00029, "SQLU_MEDIA_ERROR", "Media I/O error"),
    (0x8C0F0028, "SQLO_COMM_TIMEOUT", "Communication timeout"),
)

# Plain ADM/STMM style messages; ``{n}``/``{f}``/``{tab}`` are filled per record.
ADM_MESSAGES: tuple[str, ...] = (
    'ADM1843I  Started archive for log file "S{log:07d}.LOG".',
    'ADM1846I  Completed archive for log file "S{log:07d}.LOG" to\n'
    '          "DISK:/db2/archive/{inst}/{db}/NODE0000/LOGSTREAM0000/C0000000/" from\n'
    '          "/db2/log/NODE0000/LOGSTREAM0000/".',
    'ADM5502W  The escalation of "{n}" locks on table "{tab}" to lock\n'
    '          intent "X" was successful.',
    "ADM4000W  A catalog cache overflow condition has occurred. There is no error\n"
    "          but this indicates that the catalog cache has exceeded the\n"
    '          configured maximum size. Current size: "{n}" pages.',
    "ADM7513W  Database manager has started.",
    "ADM7514W  Database manager has stopped.",
    'ADM6044E  The DMS table space "TS{n4:04d}" (ID "{n3}") is full.',
    'ADM9504W  Index reorganization on table "{tab}" (ID "{n3}") completed\n'
    '          in "{f}" seconds.',
    "ADM1530E  Crash recovery has been initiated.",
    "ADM1531E  Crash recovery has completed successfully.",
    'ADM12500E The health monitor detected "{n}" rows in state "ALARM".',
    "Get Transaction Log file S{log:07d}.LOG",
    "New log record generated, LSN 0x{h16}",
    "Acquired {n} pages for sort heap, requested {n2}",
    "Application {app} has been forced off, reason code {n3}",
)

STMM_PARAMS = (
    "Pckcachesz",
    "Sortheap",
    "Sheapthres_shr",
    "Locklist",
    "Maxlocks",
    "Database_memory",
)

CALLSTACK_SYMBOLS = (
    "pdLog",
    "pdLogInternal",
    "_Z9sqlzAssertmPKcmjjS0_",
    "sqlrr_dump_ffdc",
    "_ZN8sqeAgent6RunEDUEv",
    "_ZN9sqzEDUObj9EDUDriverEv",
    "sqloEDUEntry",
    "sqlpgResSpace",
    "sqlbAllocateExtent",
    "sqldReadDMSPage",
    "sqlriSectInvoke",
    "sqljsParseRdbAccessed",
    "sqlrr_process_fetch_request",
    "sqlcctcpconnmgr",
    "start_thread",
    "clone",
    "_ZN16sqlri_hash_table6insertEv",
    "sqlplrq",
    "_ZN17SqloMemController13requestMemoryEmmPb",
    "sqlsAllocSortHeap",
)

EDU_NAMES = (
    "db2agent ({db}) 0",
    "db2agntp ({db}) 0",
    "db2loggr ({db}) 0",
    "db2loggw ({db}) 0",
    "db2logts ({db}) 0",
    "db2pfchr ({db}) 0",
    "db2pclnr ({db}) 0",
    "db2dlock ({db}) 0",
    "db2stmm ({db}) 0",
    "db2taskd ({db}) 0",
    "db2wlmd ({db}) 0",
    "db2lused ({db}) 0",
    "db2sysc 0",
    "db2tcpcm 0",
    "db2ipccm 0",
    "db2fcms 0",
    "db2hmon 0",
    "db2agent (idle) 0",
)


@dataclass(frozen=True)
class Template:
    """A pre-rendered record skeleton; ``render`` fills the varying parts."""

    kind: str
    level: str
    function: str
    agent: bool
    message: str
    data: Sequence[str]
    hexdump: int
    callstack: bool


@dataclass
class Process:
    """Per-record process identity (PID/TID/EDU/application)."""

    pid: int
    tid: int
    proc: str
    eduid: int
    eduname: str
    db: str


class _Writer:
    """Accumulates record strings and flushes them in large chunks."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.parts: list[str] = []
        self.pending = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pending += len(text)
        if self.pending >= CHUNK_CHARS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.fh.write("".join(self.parts).encode("ascii"))
            self.parts.clear()
            self.pending = 0


# --------------------------------------------------------------------------
# Helpers for variable content
# --------------------------------------------------------------------------

_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))


def _word_pool(rng: random.Random) -> list[bytes]:
    """4-byte words with a skewed mix: zeros, small ints, pointers, text, noise."""
    pool: list[bytes] = [b"\x00\x00\x00\x00"] * 900
    pool += [rng.randrange(1, 4096).to_bytes(4, "little") for _ in range(700)]
    pool += [b"\x7f\x00\x00" + bytes([rng.randrange(256)]) for _ in range(200)]
    text = b"SQLCA   SQLRIH  SYSIBM  DB2INST1SAMPLE  TS000001SYSCATSPACE"
    pool += [text[i : i + 4] for i in range(0, len(text) - 4, 2)] * 8
    pool += [rng.randbytes(4) for _ in range(1800)]
    return pool


def _hexdump(rng: random.Random, pool: Sequence[bytes], size: int) -> str:
    """Render ``size`` bytes as a Db2 hex dump (address, 8 groups, ASCII)."""
    data = b"".join(rng.choices(pool, k=(size + 3) // 4))[:size]
    addr = 0x00007F0000000000 + (rng.getrandbits(28) << 4)
    lines = []
    for off in range(0, size, 16):
        chunk = data[off : off + 16]
        hx = chunk.hex(" ", -2).upper().ljust(39)
        lines.append(f"0x{addr + off:016X} : {hx}    {chunk.translate(_PRINTABLE).decode('ascii')}")
    return "\n".join(lines)


def _callstack(rng: random.Random) -> str:
    depth = rng.randrange(6, 16)
    base = 0x00007F0000000000 + (rng.getrandbits(24) << 12)
    lines = [
        "CALLSTCK: (Static functions may not be resolved correctly, "
        "as they are resolved to the nearest symbol)"
    ]
    for i in range(depth):
        sym = rng.choice(CALLSTACK_SYMBOLS)
        off = rng.getrandbits(12)
        lines.append(f"  [{i}] 0x{base + rng.getrandbits(20):016X} {sym} + 0x{off:X}")
    return "\n".join(lines)


def _sqlca(rng: random.Random) -> str:
    code = rng.choice((-911, -913, -204, -551, -968, -1224, 100, 0, -289, -803))
    return (
        "DATA #{k} : SQLCA, PD_DB2_TYPE_SQLCA, 136 bytes\n"
        f" sqlcaid : SQLCA     sqlcabc: 136   sqlcode: {code}   sqlerrml: 2\n"
        f" sqlerrmc: {rng.randrange(1, 99)}\n"
        " sqlerrp : SQLRIH\n"
        f" sqlerrd : (1) 0x{rng.getrandbits(32):08X}      (2) 0x{rng.getrandbits(8):08X}"
        "      (3) 0x00000000\n"
        "           (4) 0x00000000      (5) 0x00000000      (6) 0x00000000\n"
        " sqlwarn : (1)      (2)      (3)      (4)        (5)       (6)\n"
        "           (7)      (8)      (9)      (10)       (11)\n"
        f" sqlstate: {rng.choice(('40001', '57011', '42704', '42501', '00000', '02000'))}"
    )


def _zrc_message(zrc: tuple[int, str, str]) -> str:
    value, name, text = zrc
    signed = value - (1 << 32) if value & 0x80000000 else value
    return f'ZRC=0x{value:08X}={signed}={name}\n          "{text}"'


# --------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------


def _codepath(rng: random.Random) -> str:
    return ":".join(str(rng.randrange(1, 40)) for _ in range(rng.randrange(3, 9)))


def _data_blocks(rng: random.Random) -> list[str]:
    """Static DATA #n blocks; ``{k}`` is the block number placeholder."""
    choices: list[Callable[[], str]] = [
        lambda: "DATA #{k} : String, {slen} bytes\n{str}",
        lambda: "DATA #{k} : unsigned integer, 4 bytes\n{n}",
        lambda: "DATA #{k} : signed integer, 8 bytes\n-{n2}",
        lambda: "DATA #{k} : Codepath, 8 bytes\n" + _codepath(rng),
        lambda: "DATA #{k} : Pointer, 8 bytes\n0x{h16}",
        lambda: "DATA #{k} : SQLCA",
    ]
    return [rng.choice(choices)() for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3)))]


def _message(rng: random.Random, level: str) -> str:
    if level in ("Error", "Severe", "Critical") or rng.random() < 0.35:
        return _zrc_message(rng.choice(ZRCS))
    if rng.random() < 0.15:
        p = rng.choice(STMM_PARAMS)
        return f'STMM CFG DB {{db}}: "{p}" From: "{{n}}" <automatic> To: "{{n2}}" <automatic>'
    return rng.choice(ADM_MESSAGES)


def _template(rng: random.Random) -> Template:
    level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
    comp, func = rng.choice(FUNCTIONS)
    serious = level in ("Error", "Severe", "Critical")
    return Template(
        kind="A" if serious and rng.random() < 0.5 else "I",
        level=level,
        function=f"DB2 UDB, {comp}, {func}, probe:{rng.randrange(10, 9999)}",
        agent=rng.random() < 0.6,
        message=_message(rng, level),
        data=_data_blocks(rng),
        hexdump=rng.choice((64, 128, 512) if serious else (0, 0, 0, 0, 32, 64, 128, 256)),
        callstack=(level in ("Severe", "Critical")) or (level == "Error" and rng.random() < 0.3),
    )


def _templates(rng: random.Random, count: int = TEMPLATE_COUNT) -> list[Template]:
    return [_template(rng) for _ in range(count)]


# --------------------------------------------------------------------------
# Processes and applications
# --------------------------------------------------------------------------

OTHER_PROCS = ("db2fmp (C) 0", "db2bp", "db2star2", "db2acd 0", "db2vend (PD Vendor Process - 1) 0")


def _tid(rng: random.Random) -> int:
    return 139_900_000_000_000 + rng.getrandbits(40)


def _processes(rng: random.Random, db: str) -> list[Process]:
    sysc_pid = rng.randrange(2000, 4_000_000)
    procs = []
    for eduid, name in enumerate(EDU_NAMES * 4, start=1):
        procs.append(Process(sysc_pid, _tid(rng), "db2sysc 0", eduid, name.format(db=db), db))
    for proc in OTHER_PROCS:
        procs.append(
            Process(
                rng.randrange(2000, 4_000_000), _tid(rng), proc, rng.randrange(1, 900), proc, db
            )
        )
    return procs


def _appid(rng: random.Random, when: datetime) -> str:
    stamp = when.strftime("%y%m%d%H%M%S")
    if rng.random() < 0.3:
        return f"*LOCAL.{rng.choice(INSTANCES)}.{stamp}"
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return f"{ip}.{rng.randrange(1024, 65535)}.{stamp}"


def _apps(rng: random.Random, when: datetime) -> list[tuple[str, str]]:
    return [_app(rng, when) for _ in range(APP_POOL_SIZE)]


def _app(rng: random.Random, when: datetime) -> tuple[str, str]:
    """(APPHDL, APPID) pair for a newly connected application."""
    return f"0-{rng.randrange(7, 65000)}", _appid(rng, when)


# --------------------------------------------------------------------------
# Record rendering
# --------------------------------------------------------------------------

_FIELD = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def _fill(text: str, rng: random.Random, ctx: dict[str, object]) -> str:
    """Fill ``{name}`` placeholders; unknown names are generated lazily."""
    if "{" not in text:
        return text
    values = dict(ctx)
    for name in dict.fromkeys(_FIELD.findall(text)):  # ordered: keeps output deterministic
        if name not in values:
            values[name] = _random_value(rng, name)
    return text.format_map(values)


def _random_value(rng: random.Random, name: str) -> object:
    if name in ("n", "n2"):
        return rng.randrange(1, 2_000_000)
    if name == "n3":
        return rng.randrange(1, 4096)
    if name == "n4":
        return rng.randrange(1, 9999)
    if name == "log":
        return rng.randrange(1, 9_999_999)
    if name == "f":
        return f"{rng.random() * 600:.3f}"
    if name == "h16":
        return f"{rng.getrandbits(64):016X}"
    if name == "app":
        return f"0-{rng.randrange(7, 65000)}"
    if name == "tab":
        schema = rng.choice(("APP", "SALES", "HR", "SYSIBM", "STAGE"))
        return f"{schema}.T{rng.randrange(1, 5000):05d}"
    return name


def _data_block(block: str, k: int, rng: random.Random, ctx: dict[str, object]) -> str:
    if block.endswith("SQLCA"):
        return _sqlca(rng).replace("{k}", str(k))
    s = rng.choice(STRING_DATA).format(inst=ctx["inst"], db=ctx["db"], n=rng.randrange(1, 99999))
    block = block.replace("{str}", s).replace("{slen}", str(len(s)))
    return _fill(block, rng, {**ctx, "k": k})


def _data_section(
    tpl: Template, rng: random.Random, ctx: dict[str, object], pool: Sequence[bytes]
) -> list[str]:
    out = [_data_block(block, k, rng, ctx) for k, block in enumerate(tpl.data, start=1)]
    k = len(tpl.data) + 1
    if tpl.hexdump:
        size = tpl.hexdump + rng.randrange(0, 16) * 4
        out.append(f"DATA #{k} : Hexdump, {size} bytes\n{_hexdump(rng, pool, size)}")
    if tpl.callstack:
        out.append(_callstack(rng))
    return out


STRING_DATA = (
    "/home/{inst}/sqllib/adm/db2star2 NOMSG",
    "/db2/data/{inst}/NODE0000/{db}/T{n:07d}/C0000000.LRG",
    "Database {db} activated by user {inst}",
    "Requested memory size exceeds the configured limit: {n}",
    "SELECT * FROM SYSCAT.TABLES WHERE TABSCHEMA = 'APP' FETCH FIRST {n} ROWS ONLY",
    "TCP/IP socket error, errno = {n}",
    "Backup image: /backup/{db}.0.{inst}.DBPART000.20250101{n:06d}.001",
    "db2set DB2COMM=TCPIP",
)


def _timestamp(when: datetime, tz: str) -> str:
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}-{when.hour:02d}."
        f"{when.minute:02d}.{when.second:02d}.{when.microsecond:06d}{tz}"
    )


def _body(
    tpl: Template,
    rng: random.Random,
    proc: Process,
    app: tuple[str, str],
    ctx: dict[str, object],
    pool: Sequence[bytes],
) -> str:
    lines = [
        f"PID     : {proc.pid:<21}TID : {proc.tid:<16}PROC : {proc.proc}",
        f"INSTANCE: {ctx['inst']:<21}NODE : 000{' ' * 12}DB   : {proc.db}",
    ]
    if tpl.agent:
        lines.append(f"APPHDL  : {app[0]:<21}APPID: {app[1]}")
    lines.append(f"HOSTNAME: {ctx['host']}")
    lines.append(f"EDUID   : {proc.eduid:<21}EDUNAME: {proc.eduname}")
    lines.append(f"FUNCTION: {tpl.function}")
    lines.append(f"MESSAGE : {_fill(tpl.message, rng, ctx)}")
    lines.extend(_data_section(tpl, rng, ctx, pool))
    return "\n".join(lines) + "\n\n"


def _header(tpl: Template, stamp: str, offset: int, body_len: int) -> str:
    """Header line with a self-consistent ``I<offset>E<length>`` record id."""
    length = body_len
    for _ in range(4):
        rid = f"{tpl.kind}{offset}E{length}"
        head = f"{stamp} {rid:<21}" + ("" if len(rid) < 21 else " ") + f"LEVEL: {tpl.level}\n"
        if len(head) + body_len == length:
            break
        length = len(head) + body_len
    return head


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _tz_suffix(start: datetime) -> str:
    offset = start.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes):03d}"


def _records(
    rng: random.Random, start: datetime, span: timedelta, size_bytes: int
) -> Iterator[str]:
    """Yield records in time order; time advances with the byte offset."""
    templates = _templates(rng)
    weights = [1.0 / (1 + i % 37) for i in range(len(templates))]
    pool = _word_pool(rng)
    db = rng.choice(DATABASES)
    procs = _processes(rng, db)
    apps = _apps(rng, start)
    ctx: dict[str, object] = {"inst": rng.choice(INSTANCES), "host": rng.choice(HOSTS), "db": db}
    tz = _tz_suffix(start)
    naive = start.replace(tzinfo=None)
    span_us = span // timedelta(microseconds=1)
    offset = 0
    while offset < size_bytes:
        for tpl in rng.choices(templates, weights, k=1024):
            when = naive + timedelta(microseconds=span_us * offset // size_bytes)
            if rng.random() < 0.01:
                apps[rng.randrange(APP_POOL_SIZE)] = _app(rng, when)
            body = _body(tpl, rng, rng.choice(procs), rng.choice(apps), ctx, pool)
            record = _header(tpl, _timestamp(when, tz), offset, len(body)) + body
            offset += len(record)
            yield record
            if offset >= size_bytes:
                return


def generate_db2diag(
    path: Path,
    size_bytes: int,
    *,
    seed: int = 1,
    start: datetime | None = None,
    span: timedelta = timedelta(days=365),
) -> int:
    """Write a db2diag.log-style file of at least ``size_bytes`` bytes.

    Records are whole (the file ends at the first record boundary at or
    past ``size_bytes``) and ordered in time across ``[start, start+span)``.
    If ``start`` is timezone-aware its UTC offset is used in the headers.
    Returns the number of records written.
    """
    rng = random.Random(seed)
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        writer = _Writer(fh)
        for record in _records(rng, start or DEFAULT_START, span, size_bytes):
            writer.add(record)
            count += 1
        writer.flush()
    return count


# --------------------------------------------------------------------------
# Small configuration files
# --------------------------------------------------------------------------

CFG_PARAMS: tuple[tuple[str, str], ...] = (
    ("Log file size (4KB)", "LOGFILSIZ"),
    ("Number of primary log files", "LOGPRIMARY"),
    ("Number of secondary log files", "LOGSECOND"),
    ("Buffer pool size (pages)", "BUFFPAGE"),
    ("Database heap (4KB)", "DBHEAP"),
    ("Catalog cache size (4KB)", "CATALOGCACHE_SZ"),
    ("Log buffer size (4KB)", "LOGBUFSZ"),
    ("Utilities heap size (4KB)", "UTIL_HEAP_SZ"),
    ("SQL statement heap (4KB)", "STMTHEAP"),
    ("Default application heap (4KB)", "APPLHEAPSZ"),
    ("Package cache size (4KB)", "PCKCACHESZ"),
    ("Sort heap thres for shared sorts (4KB)", "SHEAPTHRES_SHR"),
    ("Sort list heap (4KB)", "SORTHEAP"),
    ("Max storage for lock list (4KB)", "LOCKLIST"),
    ("Percent. of lock lists per application", "MAXLOCKS"),
    ("Lock timeout (sec)", "LOCKTIMEOUT"),
    ("Changed pages threshold", "CHNGPGS_THRESH"),
    ("Number of asynchronous page cleaners", "NUM_IOCLEANERS"),
    ("Number of I/O servers", "NUM_IOSERVERS"),
    ("Default prefetch size (pages)", "DFT_PREFETCH_SZ"),
    ("Default number of containers", "DFT_EXTENT_SZ"),
    ("Max number of active applications", "MAXAPPLS"),
    ("Average number of active applications", "AVG_APPLS"),
    ("Self tuning memory", "SELF_TUNING_MEM"),
    ("Size of database shared memory (4KB)", "DATABASE_MEMORY"),
    ("Agent stack size", "AGENT_STACK_SZ"),
    ("Diagnostic error capture level", "DIAGLEVEL"),
    ("Notify Level", "NOTIFYLEVEL"),
    ("Diagnostic data directory path", "DIAGPATH"),
    ("Size of rotating db2diag & notify logs (MB)", "DIAGSIZE"),
    ("TCP/IP Service name", "SVCENAME"),
    ("Instance memory (4KB)", "INSTANCE_MEMORY"),
    ("Max number of coordinating agents", "MAX_COORDAGENTS"),
    ("Number of pool agents", "NUM_POOLAGENTS"),
    ("Path to log files", "LOGPATH"),
    ("First log archive method", "LOGARCHMETH1"),
    ("Auto maintenance", "AUTO_MAINT"),
    ("Automatic runstats", "AUTO_RUNSTATS"),
    ("Monitor Collect Settings", "MON_REQ_METRICS"),
    ("Database code page", "CODEPAGE"),
)

INI_KEYS = (
    "Database",
    "Hostname",
    "Port",
    "Protocol",
    "Authentication",
    "CurrentSchema",
    "ConnectTimeout",
    "QueryTimeout",
    "TxnIsolation",
    "Trace",
    "TraceFileName",
    "KeepAlive",
    "SSLServerCertificate",
    "LobMaxColumnSize",
    "ClientAcctStr",
)

REGISTRY_VARS = (
    "DB2COMM",
    "DB2AUTOSTART",
    "DB2_SKIPINSERTED",
    "DB2_EVALUNCOMMITTED",
    "DB2_SKIPDELETED",
    "DB2CODEPAGE",
    "DB2_PARALLEL_IO",
    "DB2_WORKLOAD",
    "DB2_USE_ALTERNATE_PAGE_CLEANING",
    "DB2_COMPATIBILITY_VECTOR",
    "DB2DBDFT",
    "DB2_ATS_ENABLE",
)


CFG_WORDS = ("ON", "OFF", "YES", "NO", "AUTOMATIC", "DISK:/db2/archive/", "BASE", "NONE")


def _cfg_value(rng: random.Random, key: str) -> str:
    roll = rng.random()
    if key.endswith("PATH"):
        db = rng.choice(DATABASES).lower()
        return f"/db2/{rng.choice(INSTANCES)}/{db}/path{rng.randrange(100)}/"
    if roll < 0.45:
        return str(rng.randrange(0, 262144))
    if roll < 0.65:
        return f"AUTOMATIC({rng.randrange(256, 2_000_000)})"
    if roll < 0.8:
        return rng.choice(CFG_WORDS)
    return f"0x{rng.getrandbits(16):04X}"


def _dbcfg_lines(rng: random.Random) -> Iterator[str]:
    db = rng.choice(DATABASES)
    yield f"\n       Database Configuration for Database {db}\n\n"
    while True:
        desc, key = rng.choice(CFG_PARAMS)
        yield f" {desc:<44}{'(' + key + ')':>18} = {_cfg_value(rng, key)}\n"


def _ini_lines(rng: random.Random) -> Iterator[str]:
    while True:
        yield f"\n[{rng.choice(DATABASES)}_{rng.randrange(1000)}]\n"
        for key in rng.sample(INI_KEYS, rng.randrange(4, len(INI_KEYS))):
            yield f"{key} = {_cfg_value(rng, key)}\n"


def _registry_lines(rng: random.Random) -> Iterator[str]:
    yield f"[i] DB2INSTPROF={rng.choice(INSTANCES)}\n"
    while True:
        scope = rng.choice(("[e]", "[i]", "[g]"))
        yield f"{scope} {rng.choice(REGISTRY_VARS)}={_cfg_value(rng, 'REG')}\n"


def _sysctl_lines(rng: random.Random) -> Iterator[str]:
    keys = (
        "kernel.shmmax",
        "kernel.shmall",
        "kernel.sem",
        "kernel.msgmax",
        "kernel.msgmnb",
        "vm.swappiness",
        "vm.overcommit_memory",
        "net.ipv4.tcp_keepalive_time",
        "fs.file-max",
    )
    while True:
        yield f"{rng.choice(keys)}.{rng.randrange(64)} = {rng.randrange(0, 1 << 36)}\n"


CONFIG_KINDS: tuple[tuple[str, str, Callable[[random.Random], Iterator[str]]], ...] = (
    ("instance/dbcfg", "db_cfg_{i:05d}.txt", _dbcfg_lines),
    ("clients/ini", "db2cli_{i:05d}.ini", _ini_lines),
    ("instance/registry", "db2set_{i:05d}.txt", _registry_lines),
    ("os/sysctl", "sysctl_{i:05d}.conf", _sysctl_lines),
)


def _config_text(rng: random.Random, lines: Iterator[str]) -> str:
    target = rng.randrange(1024, 8 * 1024 - 128)
    parts: list[str] = []
    total = 0
    for line in lines:
        parts.append(line)
        total += len(line)
        if total >= target:
            break
    return "".join(parts)


def generate_small_configs(folder: Path, count: int = 2000, *, seed: int = 1) -> int:
    """Write ``count`` 1-8 KB ``key = value`` config files; return total bytes."""
    rng = random.Random(seed)
    total = 0
    for i in range(count):
        sub, pattern, lines = CONFIG_KINDS[i % len(CONFIG_KINDS)]
        target = folder / sub / pattern.format(i=i)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _config_text(rng, lines(rng)).encode("ascii")
        target.write_bytes(data)
        total += len(data)
    return total


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """Parse ``400M``/``2G``/``512K``/``1000`` (binary units) into bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMGkmg]?)i?[Bb]?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"bad size: {text!r}")
    factor = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2).upper()]
    return int(match.group(1)) * factor


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a synthetic Db2 diagnostic corpus.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--size",
        type=parse_size,
        default=parse_size("400M"),
        help="db2diag.log size, e.g. 400M (binary units; default 400M)",
    )
    parser.add_argument("--configs", type=int, default=0, help="also write N small config files")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    records = generate_db2diag(args.out_dir / "db2diag.log", args.size, seed=args.seed)
    print(f"db2diag.log: {records} records", file=sys.stderr)
    if args.configs:
        total = generate_small_configs(args.out_dir / "configs", args.configs, seed=args.seed)
        print(f"configs: {args.configs} files, {total} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
