"""Capture into staging: capped, redacted, hashed; and the bounded spool."""

from __future__ import annotations

import hashlib
import random
import stat
from pathlib import Path

import pytest

import collector.capture
from collector.capture import BoundedSpool, capture_file, capture_stream
from collector.redact import StreamRedactor

LOG = b"".join(b"2024-05-01 12:00:%02d line %d of the log\n" % (i % 60, i) for i in range(200))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_small_file_is_copied_exactly(tmp_path: Path) -> None:
    source, target = tmp_path / "db2diag.log", tmp_path / "out"
    source.write_bytes(LOG)

    captured = capture_file(source, target, 1024 * 1024, StreamRedactor())

    assert target.read_bytes() == LOG
    assert captured.sha256 == sha256(LOG)
    assert captured.size == captured.original_size == len(LOG)
    assert captured.truncated is False
    assert captured.redactions == {}


def test_empty_file_gives_empty_capture(tmp_path: Path) -> None:
    source, target = tmp_path / "empty", tmp_path / "out"
    source.write_bytes(b"")

    captured = capture_file(source, target, 100, StreamRedactor())

    assert target.read_bytes() == b""
    assert (captured.size, captured.sha256, captured.truncated) == (0, sha256(b""), False)


def test_file_of_exactly_cap_bytes_is_not_truncated(tmp_path: Path) -> None:
    source, target = tmp_path / "log", tmp_path / "out"
    source.write_bytes(LOG)

    captured = capture_file(source, target, len(LOG), StreamRedactor())

    assert target.read_bytes() == LOG
    assert captured.truncated is False


def test_capped_file_keeps_newest_bytes_from_a_line_start(tmp_path: Path) -> None:
    source, target = tmp_path / "log", tmp_path / "out"
    source.write_bytes(LOG)
    cap = 1000

    captured = capture_file(source, target, cap, StreamRedactor())

    kept = target.read_bytes()
    assert 0 < len(kept) <= cap
    assert LOG.endswith(kept)
    assert LOG[len(LOG) - len(kept) - 1 : len(LOG) - len(kept)] == b"\n"
    assert captured.truncated is True
    assert captured.original_size == len(LOG)
    assert captured.size == len(kept)
    assert captured.sha256 == sha256(kept)


def test_cut_exactly_on_a_line_start_keeps_that_line(tmp_path: Path) -> None:
    source, target = tmp_path / "log", tmp_path / "out"
    source.write_bytes(b"aaaa\nbbbb\ncccc\n")

    capture_file(source, target, 10, StreamRedactor())

    assert target.read_bytes() == b"bbbb\ncccc\n"


def test_capped_file_without_newlines_keeps_last_cap_bytes(tmp_path: Path) -> None:
    source, target = tmp_path / "blob", tmp_path / "out"
    data = bytes(range(48, 58)) * 100  # no newline at all
    source.write_bytes(data)

    captured = capture_file(source, target, 100, StreamRedactor())

    assert target.read_bytes() == data[-100:]
    assert captured.truncated is True


def test_redaction_counts_land_in_captured(tmp_path: Path) -> None:
    source, target = tmp_path / "app.properties", tmp_path / "out"
    source.write_bytes(
        b"password=hunter2\njdbc:db2://h:50000/DB:user=u;password=p4ss;\n<password>top</password>\n"
    )

    captured = capture_file(source, target, 1024 * 1024, StreamRedactor())

    out = target.read_bytes()
    assert b"hunter2" not in out and b"p4ss" not in out and b"top" not in out
    assert captured.redactions == {
        "secret_key_value": 1,
        "inline_secret_value": 1,
        "xml_secret_element": 1,
    }
    assert captured.sha256 == sha256(out)
    assert captured.size == len(out)
    assert captured.original_size == source.stat().st_size


def test_cap_inside_a_private_key_does_not_leak_key_material(tmp_path: Path) -> None:
    source, target = tmp_path / "log", tmp_path / "out"
    body = b"".join(b"KEYMATERIAL%04d\n" % i for i in range(20))
    source.write_bytes(
        b"start\n-----BEGIN RSA PRIVATE KEY-----\n" + body + b"-----END RSA PRIVATE KEY-----\n"
    )

    capture_file(source, target, 150, StreamRedactor())

    assert b"KEYMATERIAL" not in target.read_bytes()


def test_target_is_created_mode_0600(tmp_path: Path) -> None:
    source, target = tmp_path / "log", tmp_path / "out"
    source.write_bytes(LOG)

    capture_file(source, target, 100, StreamRedactor())

    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def write_spool(spool: BoundedSpool, pieces: list[bytes]) -> bytes:
    """Write `pieces`, checking the disk bound after each; return all bytes written."""
    written = b""
    for piece in pieces:
        spool.write(piece)
        written += piece
        spool._file.flush()  # count buffered bytes too: the logical file size
        assert spool.path.stat().st_size <= 2 * spool.cap
    return written


def random_pieces(seed: int, count: int, largest: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(0, largest)) for _ in range(count)]


@pytest.mark.parametrize("chunk", [collector.capture.CHUNK, 7])
def test_spool_stays_under_twice_cap_and_keeps_the_newest_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # A tiny copy chunk exercises the compaction loop over many chunks.
    monkeypatch.setattr(collector.capture, "CHUNK", chunk)
    cap = 100
    spool = BoundedSpool(tmp_path / "spool", cap)
    pieces = random_pieces(seed=1, count=200, largest=3 * cap)

    written = write_spool(spool, pieces)

    assert len(written) > 20 * cap
    assert spool.total == len(written)
    assert cap <= spool.length <= 2 * cap
    assert spool.dropped == len(written) - spool.length
    assert spool.rewind().read() == written[-spool.length :]
    spool.close()


def test_spool_under_cap_keeps_everything(tmp_path: Path) -> None:
    spool = BoundedSpool(tmp_path / "spool", 100)

    written = write_spool(spool, [b"abc\n", b"def\n"])

    assert (spool.length, spool.dropped) == (len(written), 0)
    assert spool.rewind().read() == written
    spool.close()


def test_spool_file_is_mode_0600(tmp_path: Path) -> None:
    spool = BoundedSpool(tmp_path / "spool", 100)
    assert stat.S_IMODE(spool.path.stat().st_mode) == 0o600
    spool.close()


def test_capture_of_a_compacted_spool_reports_truncation(tmp_path: Path) -> None:
    cap = 200
    spool = BoundedSpool(tmp_path / "spool", cap)
    lines = [b"output line %05d\n" % i for i in range(300)]
    written = write_spool(spool, lines)
    target = tmp_path / "out"

    captured = capture_stream(
        spool.rewind(), spool.length, target, cap, StreamRedactor(), original_size=spool.total
    )
    spool.close()

    kept = target.read_bytes()
    assert written.endswith(kept) and kept.startswith(b"output line")
    assert len(kept) <= cap
    assert captured.truncated is True
    assert captured.original_size == len(written)
    assert captured.size == len(kept)


def test_capture_of_an_uncut_spool_within_cap_is_whole(tmp_path: Path) -> None:
    spool = BoundedSpool(tmp_path / "spool", 1000)
    written = write_spool(spool, [b"a\n", b"token=abc\n"])
    target = tmp_path / "out"

    captured = capture_stream(
        spool.rewind(), spool.length, target, 1000, StreamRedactor(), original_size=spool.total
    )
    spool.close()

    assert target.read_bytes() == b"a\ntoken=********\n"
    assert captured.original_size == len(written)
    assert captured.truncated is False
    assert captured.redactions == {"secret_key_value": 1}
