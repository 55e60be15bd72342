"""The bundle writer: parallel LZMA2 that stock 7-Zip reads, streaming, limits.

Every archive here is opened by the real 7-Zip and by py7zr, byte for byte.
Blocks are made small (64 KiB) so that block boundaries are cheap to cross.
"""

from __future__ import annotations

import logging
import lzma
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import py7zr
import py7zr.compressor
import pytest
from conftest import seven_zip

from collector import archive, lzma2
from collector.archive import BundleWriter, compression_filters, write_bundle
from collector.errors import NoBundle
from collector.lzma2 import ParallelLZMA2

BLOCK = 64 * 1024


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lzma2, "BLOCK_SIZE", BLOCK)


def text_and_noise(size: int, seed: int) -> bytes:
    """Log-like text with random runs: compressible, but not trivially."""
    rng = random.Random(seed)
    parts, total = [], 0
    while total < size:
        part = (
            rng.randbytes(rng.randrange(1, 300))
            if rng.random() < 0.2
            else f"2026-11-27-10.15.{rng.randrange(60):02d} Error {rng.random()}\n".encode()
        )
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


def files_of(folder: Path, sizes: list[int]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for index, size in enumerate(sizes):
        path = folder / f"item{index}"
        path.write_bytes(text_and_noise(size, index))
        files[f"plugin/files/item{index}"] = path
    return files


def extracted_by_7zip(bundle: Path, target: Path, password: str = "") -> None:
    tested = seven_zip("t", f"-p{password}", str(bundle))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    unpacked = seven_zip("x", "-y", f"-o{target}", f"-p{password}", str(bundle))
    assert unpacked.returncode == 0, unpacked.stdout + unpacked.stderr


def extracted_by_py7zr(bundle: Path, target: Path, password: str | None = None) -> list[str]:
    with py7zr.SevenZipFile(bundle, "r", password=password) as opened:
        names: list[str] = opened.getnames()
        opened.extractall(path=target)
    return names


def assert_same_files(files: dict[str, Path], root: Path) -> None:
    for name, source in files.items():
        assert (root / name).read_bytes() == source.read_bytes(), name


SIZES_AROUND_BLOCKS = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, 2 * BLOCK]


def test_block_boundaries_round_trip_through_7zip_and_py7zr(tmp_path: Path) -> None:
    files = files_of(tmp_path / "staged", SIZES_AROUND_BLOCKS)
    bundle = tmp_path / "b.7z"
    with BundleWriter(bundle, threads=2) as writer:
        for name, path in files.items():
            writer.add(path, name)
        writer.finish(b'{"m": 1}')
    assert writer.parallel is not None
    assert writer.parallel.blocks == sum(SIZES_AROUND_BLOCKS) // BLOCK + 1
    extracted_by_7zip(bundle, tmp_path / "7z")
    assert_same_files(files, tmp_path / "7z")
    names = extracted_by_py7zr(bundle, tmp_path / "py")
    assert_same_files(files, tmp_path / "py")
    assert names[-1] == "manifest.json"  # the manifest stays last
    assert (tmp_path / "py" / "manifest.json").read_bytes() == b'{"m": 1}'


def test_many_small_files_share_blocks(tmp_path: Path) -> None:
    files = files_of(tmp_path / "staged", [random.Random(n).randrange(1, 3000) for n in range(300)])
    bundle = write_bundle(tmp_path / "b.7z", [(p, n) for n, p in files.items()], b"{}")
    extracted_by_7zip(bundle, tmp_path / "7z")
    assert_same_files(files, tmp_path / "7z")


def test_encrypted_bundle_is_parallel_and_needs_its_password(tmp_path: Path) -> None:
    files = files_of(tmp_path / "staged", [5 * BLOCK + 3, 0, 100])
    bundle = tmp_path / "secret.7z"
    with BundleWriter(bundle, password="s3cret pass", threads=2) as writer:
        for name, path in files.items():
            writer.add(path, name)
        writer.finish(b"{}")
    assert writer.parallel is not None and writer.parallel.blocks == 6
    extracted_by_7zip(bundle, tmp_path / "7z", "s3cret pass")
    assert_same_files(files, tmp_path / "7z")
    extracted_by_py7zr(bundle, tmp_path / "py", "s3cret pass")
    assert_same_files(files, tmp_path / "py")
    listing = seven_zip("l", "-pwrong", str(bundle))
    assert listing.returncode != 0  # names are encrypted too
    assert "item0" not in listing.stdout


def test_stream_is_one_valid_lzma2_stream_whatever_the_pieces(tmp_path: Path) -> None:
    data = text_and_noise(11 * BLOCK + 5, 7)
    filters = compression_filters(1, encrypted=False)
    compressor = ParallelLZMA2(filters, threads=2, block_size=BLOCK)
    rng = random.Random(3)
    out, at = [], 0
    while at < len(data):
        step = rng.choice([1, 100, BLOCK - 1, 3 * BLOCK])
        out.append(compressor.compress(data[at : at + step]))
        at += step
    out.append(compressor.flush())
    stream = b"".join(out)
    assert lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters).decompress(stream) == data
    # Memory stays bounded: never more than 2 blocks per thread in flight.
    assert compressor.blocks == 12
    assert compressor.peak_pending <= 4


def test_empty_stream_is_just_the_end_marker() -> None:
    compressor = ParallelLZMA2(compression_filters(1, False), threads=2)
    assert compressor.compress(b"") + compressor.flush() == b"\x00"


def test_unknown_py7zr_layout_falls_back_to_its_own_compressor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A py7zr whose compressor chain is not the known one (as after an
    upgrade: here its LZMA2 coder wrapped in another object) is used as it is."""
    original = py7zr.compressor.SevenZipCompressor._set_native_compressors_coders

    class Wrapped:
        def __init__(self, inner: Any) -> None:
            self.compress, self.flush = inner.compress, inner.flush

    def wrapping(self: Any, filters: Any) -> None:
        original(self, filters)
        self.chain[0] = Wrapped(self.chain[0])

    monkeypatch.setattr(
        py7zr.compressor.SevenZipCompressor, "_set_native_compressors_coders", wrapping
    )
    files = files_of(tmp_path / "staged", [3 * BLOCK])
    with (
        caplog.at_level(logging.DEBUG, logger="collector.archive"),
        BundleWriter(tmp_path / "b.7z", threads=2) as writer,
    ):
        for name, path in files.items():
            writer.add(path, name)
        writer.finish(b"{}")
    assert writer.parallel is None
    assert "compressing in one thread" in caplog.text
    extracted_by_7zip(tmp_path / "b.7z", tmp_path / "7z")
    assert_same_files(files, tmp_path / "7z")


@pytest.mark.parametrize("level", [0, 3])
def test_store_and_higher_levels_are_read_by_7zip(tmp_path: Path, level: int) -> None:
    files = files_of(tmp_path / "staged", [2 * BLOCK + 1, 10])
    bundle = write_bundle(tmp_path / "b.7z", [(p, n) for n, p in files.items()], b"{}", level=level)
    extracted_by_7zip(bundle, tmp_path / "7z")
    assert_same_files(files, tmp_path / "7z")


def test_streamed_log_goes_from_memory_into_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed log is written to a channel and packed as it comes; the
    channel holds at most its limit, so the capture waits for the writer."""
    monkeypatch.setattr(lzma2, "CHANNEL_LIMIT", 2 * BLOCK)
    pieces = [text_and_noise(BLOCK + n, n) for n in range(12)]
    bundle = tmp_path / "b.7z"
    with BundleWriter(bundle, threads=2) as writer:
        channel, done = writer.stream("db2/files/db2diag.log")
        peak = 0
        for piece in pieces:
            channel.write(piece)
            peak = max(peak, channel._waiting)
        done(None)
        writer.add(tmp_path / "nowhere", "db2/files/db2diag.log")  # already packed: no-op
        writer.finish(b"{}")
    assert peak <= 3 * BLOCK + 11  # the limit, plus the piece that crossed it
    assert channel.total == sum(map(len, pieces))
    assert writer.streamed == ["db2/files/db2diag.log"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.7z"]  # nothing staged
    extracted_by_7zip(bundle, tmp_path / "7z")
    assert (tmp_path / "7z/db2/files/db2diag.log").read_bytes() == b"".join(pieces)


def test_streamed_log_that_fails_fails_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "b.7z"
    with (
        pytest.raises(NoBundle, match=r"collecting db2/x\.log failed: Input/output error"),
        BundleWriter(bundle, threads=2) as writer,
    ):
        channel, done = writer.stream("db2/x.log")
        channel.write(b"half a log\n")
        done("Input/output error")
        writer.finish(b"{}")
    assert list(tmp_path.iterdir()) == []  # no bundle, no partial file


def test_capture_waiting_on_a_channel_stops_when_the_bundle_fails(tmp_path: Path) -> None:
    """A full disk while a log is streamed: the capture, blocked on the full
    channel, wakes with NoBundle instead of waiting forever."""
    with BundleWriter(tmp_path / "b.7z", threads=2) as writer:
        first, _ = writer.stream("a.log")  # at the front: the writer waits on it
        second, _ = writer.stream("b.log")  # behind it: nobody reads it yet
        second.write(b"x" * lzma2.CHANNEL_LIMIT)  # now full
        writer._failed(OSError(28, "No space left on device"))
        with pytest.raises(NoBundle, match="no space left on device"):
            second.write(b"more")
        with pytest.raises(NoBundle, match="no space left on device"):
            first.write(b"more")


def test_queue_is_bounded_in_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """add() waits while the queue holds more than its limit: staged data in
    flight stays bounded however much is collected."""
    monkeypatch.setattr(archive, "INLINE_MAX", 0)  # all through the writer thread's queue
    files = files_of(tmp_path / "staged", [BLOCK] * 12)
    with BundleWriter(tmp_path / "b.7z", threads=2, queue_limit=3 * BLOCK) as writer:
        for name, path in files.items():
            writer.add(path, name, delete=True)
        writer.finish(b"{}")
    assert writer.peak_queued <= 3 * BLOCK
    assert writer.packed == list(files)
    assert not any(path.exists() for path in files.values())


def test_small_items_are_packed_by_the_adding_thread_when_the_writer_is_idle(
    tmp_path: Path,
) -> None:
    """No hand-off per small file: the adding thread packs it; a growing item
    goes to the writer thread, and what is added behind it waits its turn."""
    small = files_of(tmp_path / "small", [100, 2000, 0, 5000])
    later = files_of(tmp_path / "later", [300, 400])
    with BundleWriter(tmp_path / "b.7z", threads=2) as writer:
        for name, path in small.items():
            writer.add(path, name)
        assert writer.packed_inline == 4 and writer.packed == list(small)
        channel, done = writer.stream("big.log")
        channel.write(b"first part\n")
        for name, path in later.items():
            writer.add(path, "later/" + name)  # behind the streamed log: queued
        assert writer.packed == list(small)
        channel.write(b"second part\n")
        done(None)
        writer.drain()
        writer.finish(b"{}")
    assert writer.packed == [*small, "big.log", *("later/" + n for n in later)]
    assert writer.packed_inline == 4
    extracted_by_7zip(tmp_path / "b.7z", tmp_path / "7z")
    assert (tmp_path / "7z/big.log").read_bytes() == b"first part\nsecond part\n"


def test_partial_file_is_private_and_renamed_at_the_end(tmp_path: Path) -> None:
    bundle = tmp_path / "b.7z"
    with BundleWriter(bundle) as writer:
        partial = tmp_path / ".b.7z.partial"
        assert partial.exists() and not bundle.exists()
        assert partial.stat().st_mode & 0o777 == 0o600
        writer.finish(b"{}")
    assert bundle.exists() and not partial.exists()
    assert bundle.stat().st_mode & 0o777 == 0o600


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    files = files_of(tmp_path / "staged", [4 * BLOCK])
    with pytest.raises(KeyboardInterrupt), BundleWriter(tmp_path / "b.7z", threads=2) as writer:
        writer.add(files["plugin/files/item0"], "x")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["staged"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB file system (tmpfs), so the disk really fills up."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_is_no_bundle_and_leaves_nothing(tmp_path: Path, tiny_disk: Path) -> None:
    staged = tmp_path / "noise"
    staged.write_bytes(os.urandom(3 * 1024 * 1024))  # incompressible: more than the disk
    with (
        pytest.raises(NoBundle, match="no space left on device"),
        BundleWriter(tiny_disk / "b.7z", threads=2) as writer,
    ):
        writer.add(staged, "noise")
        writer.finish(b"{}")
    assert list(tiny_disk.iterdir()) == []
