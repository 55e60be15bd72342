"""The safe bundle reader: real bundles open, verify and stream; malicious or
damaged ones are refused with a specific BundleError, never another exception."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import py7zr
import pytest
from conftest import FakeHost, RunPa, collect_on, extract, only_bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.bundle import Bundle, BundleError, Problem, open_bundle

MIB = 1024 * 1024
PASSWORD = "pw"
SIGNATURE = b"7z\xbc\xaf\x27\x1c"
MINIMAL_MANIFEST = b'{"items": []}'
ALTERED = "sha256 or size differs from the manifest (altered after collection)"


# --- helpers ------------------------------------------------------------------


def seven_zip_z(*args: str, cwd: Path | None = None) -> None:
    """The real 7-Zip 7zz: it can store links, special files and absolute paths."""
    program = shutil.which("7zz")
    if program is None:
        pytest.fail("7zz is not installed (Debian package 7zip)")
    result = subprocess.run([program, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def repack(tree: Path, archive: Path) -> Path:
    """Pack an extracted tree back into a 7z, as someone tampering with it would."""
    seven_zip_z("a", "-y", str(archive), *sorted(p.name for p in tree.iterdir()), cwd=tree)
    return archive


def pack_members(archive: Path, members: list[tuple[str, bytes]]) -> Path:
    """A 7z with exactly these member names. SevenZipFile._writestr skips the
    name check of writestr, so it stores names an attacker would use."""
    with py7zr.SevenZipFile(archive, "w") as writer:
        for name, data in members:
            writer._writestr(data, name)
    return archive


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def listed_items(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in manifest["items"] if item["path"]]


def read_all(bundle: Bundle, name: str) -> bytes:
    with bundle.read(name) as stream:
        return b"".join(iter(stream))


def flip(data: bytes, position: int, mask: int = 0xFF) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= mask
    return bytes(damaged)


class Hang(Exception):
    """An example took longer than any damaged bundle should."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def give_up(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds}s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def join_readers() -> None:
    """Wait for MemberStream producer threads, so their failures are recorded."""
    for thread in threading.enumerate():
        if thread.name.endswith("(_produce)"):
            thread.join(timeout=10)


# --- fixtures -----------------------------------------------------------------


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Exceptions that killed a thread: each one prints a traceback to stderr."""
    errors: list[BaseException] = []

    def record(args: threading.ExceptHookArgs) -> None:
        errors.append(args.exc_value or RuntimeError(str(args.exc_type)))

    monkeypatch.setattr(threading, "excepthook", record)
    return errors


@pytest.fixture
def real_bundle(fake_host: FakeHost, run_pa: RunPa) -> Path:
    result = collect_on(fake_host, run_pa)
    assert result.returncode == 0, result.stderr
    return only_bundle(fake_host.out)


@pytest.fixture
def encrypted_bundle(fake_host: FakeHost, run_pa: RunPa) -> Path:
    result = collect_on(fake_host, run_pa, "--encrypt", PA_COLLECT_PASSWORD=PASSWORD)
    assert result.returncode == 0, result.stderr
    return only_bundle(fake_host.out)


@pytest.fixture
def unpacked(real_bundle: Path, tmp_path: Path) -> Path:
    """What stock 7-Zip extracts from the real bundle."""
    extract(real_bundle, tmp_path / "unpacked")
    return tmp_path / "unpacked"


@pytest.fixture
def unpacked_manifest(unpacked: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((unpacked / "manifest.json").read_text())
    return manifest


# --- a real bundle ------------------------------------------------------------


def test_real_bundle_opens_with_the_manifest_in_the_archive(
    real_bundle: Path, unpacked_manifest: dict[str, Any]
) -> None:
    with open_bundle(real_bundle) as bundle:
        assert bundle.manifest == unpacked_manifest


def test_files_lists_every_item_path_and_the_manifest(
    real_bundle: Path, unpacked_manifest: dict[str, Any]
) -> None:
    expected = {item["path"] for item in listed_items(unpacked_manifest)} | {"manifest.json"}

    files = open_bundle(real_bundle).files()

    assert files == sorted(expected)


def test_read_streams_the_bytes_7z_extracts(real_bundle: Path, unpacked: Path) -> None:
    bundle = open_bundle(real_bundle)
    expected = files_under(unpacked)
    assert expected
    for name, data in expected.items():
        with bundle.read(name) as stream:
            chunks = []
            while chunk := stream.read(100):
                assert len(chunk) <= 100
                chunks.append(chunk)
        assert b"".join(chunks) == data, name


def test_read_of_an_unknown_member_is_refused(real_bundle: Path) -> None:
    with pytest.raises(BundleError, match=re.escape("no file 'nope.txt' in the bundle")):
        open_bundle(real_bundle).read("nope.txt")


def test_verify_of_a_real_bundle_finds_no_problem(real_bundle: Path) -> None:
    assert open_bundle(real_bundle).verify() == []


def test_hashes_match_the_manifest(real_bundle: Path, unpacked: Path) -> None:
    bundle = open_bundle(real_bundle)

    hashes = bundle.hashes()

    for item in listed_items(bundle.manifest):
        assert hashes[item["path"]] == (item["size"], item["sha256"]), item["path"]
    manifest_bytes = (unpacked / "manifest.json").read_bytes()
    assert hashes["manifest.json"] == (
        len(manifest_bytes),
        hashlib.sha256(manifest_bytes).hexdigest(),
    )


def test_extract_writes_the_same_files_as_7z(
    real_bundle: Path, unpacked: Path, tmp_path: Path
) -> None:
    target = tmp_path / "ours"

    written = open_bundle(real_bundle).extract(target)

    assert files_under(target) == files_under(unpacked)
    assert sorted(p.relative_to(target).as_posix() for p in written) == sorted(
        files_under(unpacked)
    )


# --- encrypted bundles --------------------------------------------------------


def test_encrypted_bundle_without_password_asks_for_it(encrypted_bundle: Path) -> None:
    with pytest.raises(BundleError, match="encrypted: give its password"):
        open_bundle(encrypted_bundle)


def test_encrypted_bundle_with_wrong_password_says_wrong_password(
    encrypted_bundle: Path,
) -> None:
    for attempt in ("wrong", "Pw", "pw ", "another guess"):
        with pytest.raises(BundleError, match="wrong password"):
            open_bundle(encrypted_bundle, attempt)


def test_encrypted_bundle_with_right_password_opens_and_verifies(
    encrypted_bundle: Path,
) -> None:
    with open_bundle(encrypted_bundle, PASSWORD) as bundle:
        assert bundle.manifest["options"]["encrypted"] is True
        assert bundle.verify() == []


def test_encrypted_content_without_password_asks_for_it(
    tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    (tmp_path / "manifest.json").write_bytes(MINIMAL_MANIFEST)
    seven_zip_z("a", f"-p{PASSWORD}", "-mhe=off", "bundle.7z", "manifest.json", cwd=tmp_path)

    with pytest.raises(BundleError, match="password"):
        open_bundle(tmp_path / "bundle.7z")
    join_readers()
    assert thread_errors == []


# --- malicious member names and types -----------------------------------------


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "..\\evil.txt"])
def test_path_traversal_member_is_refused(tmp_path: Path, name: str) -> None:
    archive = pack_members(tmp_path / "b.7z", [("manifest.json", MINIMAL_MANIFEST), (name, b"x")])

    with pytest.raises(BundleError, match="refused: path traversal in"):
        open_bundle(archive)


@pytest.mark.parametrize("name", ["/etc/passwd", "\\evil.txt", "C:/Windows/evil.txt"])
def test_absolute_member_path_is_refused(tmp_path: Path, name: str) -> None:
    archive = pack_members(tmp_path / "b.7z", [("manifest.json", MINIMAL_MANIFEST), (name, b"x")])

    with pytest.raises(BundleError, match="refused: absolute path"):
        open_bundle(archive)


def test_absolute_path_stored_by_7zip_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(MINIMAL_MANIFEST)
    seven_zip_z("a", "-spf", str(tmp_path / "b.7z"), str(manifest))

    with pytest.raises(BundleError, match=re.escape(f"refused: absolute path '{manifest}'")):
        open_bundle(tmp_path / "b.7z")


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(MINIMAL_MANIFEST)
    (tmp_path / "link").symlink_to("/etc/passwd")
    seven_zip_z("a", "-snl", "b.7z", "manifest.json", "link", cwd=tmp_path)

    with pytest.raises(BundleError, match="refused: 'link' is a link or special file"):
        open_bundle(tmp_path / "b.7z")


def test_fifo_member_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(MINIMAL_MANIFEST)
    os.mkfifo(tmp_path / "fifo")
    seven_zip_z("a", "-snl", "b.7z", "manifest.json", "fifo", cwd=tmp_path)

    with pytest.raises(BundleError, match="refused: 'fifo' is a link or special file"):
        open_bundle(tmp_path / "b.7z")


def test_duplicate_member_name_is_refused(tmp_path: Path) -> None:
    archive = pack_members(
        tmp_path / "b.7z",
        [("manifest.json", MINIMAL_MANIFEST), ("a.txt", b"first"), ("a.txt", b"second")],
    )

    with pytest.raises(BundleError, match=re.escape("refused: 'a.txt' appears twice")):
        open_bundle(archive)


def test_member_named_dot_is_refused(tmp_path: Path) -> None:
    archive = pack_members(tmp_path / "b.7z", [("manifest.json", MINIMAL_MANIFEST), (".", b"x")])

    with pytest.raises(BundleError), open_bundle(archive) as bundle:
        bundle.extract(tmp_path / "out")


def test_file_that_is_also_a_folder_is_refused(tmp_path: Path) -> None:
    archive = pack_members(
        tmp_path / "b.7z", [("manifest.json", MINIMAL_MANIFEST), ("a", b"x"), ("a/b", b"y")]
    )

    with pytest.raises(BundleError), open_bundle(archive) as bundle:
        bundle.extract(tmp_path / "out")


def test_compression_bomb_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(MINIMAL_MANIFEST)
    with (tmp_path / "zeros.bin").open("wb") as zeros:
        zeros.truncate(64 * MIB)
    seven_zip_z("a", "-mx1", "b.7z", "manifest.json", "zeros.bin", cwd=tmp_path)

    with pytest.raises(BundleError, match=r"refused: compression ratio \d+:1 exceeds 1000:1"):
        open_bundle(tmp_path / "b.7z")


def test_bundle_expanding_past_the_size_limit_is_refused(real_bundle: Path) -> None:
    with pytest.raises(BundleError, match=r"refused: would expand to \d+ bytes \(limit 1000\)"):
        Bundle(real_bundle, max_total=1000)


# --- tampering, caught by verify() --------------------------------------------


def test_tampered_file_is_reported_by_verify(
    unpacked: Path, unpacked_manifest: dict[str, Any], tmp_path: Path
) -> None:
    victim = listed_items(unpacked_manifest)[0]["path"]
    original = (unpacked / victim).read_bytes()
    (unpacked / victim).write_bytes(bytes(b ^ 1 for b in original))  # same size

    problems = open_bundle(repack(unpacked, tmp_path / "b.7z")).verify()

    assert problems == [Problem(victim, ALTERED)]


def test_tampered_manifest_fails_its_schema(
    unpacked: Path, unpacked_manifest: dict[str, Any], tmp_path: Path
) -> None:
    unpacked_manifest["status"] = "maybe"
    (unpacked / "manifest.json").write_text(json.dumps(unpacked_manifest))

    problems = open_bundle(repack(unpacked, tmp_path / "b.7z")).verify()

    assert len(problems) == 1
    assert problems[0].path == "manifest.json"
    assert "status" in problems[0].problem and "'maybe'" in problems[0].problem


def test_unlisted_extra_file_is_reported_by_verify(unpacked: Path, tmp_path: Path) -> None:
    (unpacked / "os" / "extra.txt").write_text("slipped in later\n")

    problems = open_bundle(repack(unpacked, tmp_path / "b.7z")).verify()

    assert problems == [Problem("os/extra.txt", "in the bundle but not listed in the manifest")]


def test_listed_but_missing_file_is_reported_by_verify(
    unpacked: Path, unpacked_manifest: dict[str, Any], tmp_path: Path
) -> None:
    victim = listed_items(unpacked_manifest)[-1]["path"]
    (unpacked / victim).unlink()

    problems = open_bundle(repack(unpacked, tmp_path / "b.7z")).verify()

    assert problems == [Problem(victim, "listed in the manifest but not in the bundle")]


@pytest.mark.parametrize("items", ["abc", None, [1], [{"path": ["x"]}]])
def test_malformed_items_are_reported_by_verify(tmp_path: Path, items: object) -> None:
    manifest = json.dumps({"items": items}).encode()
    archive = pack_members(tmp_path / "b.7z", [("manifest.json", manifest)])

    problems = open_bundle(archive).verify()

    assert any(p.path == "manifest.json" and "items" in p.problem for p in problems)


# --- damaged or foreign files -------------------------------------------------


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such file"):
        open_bundle(tmp_path / "nope.7z")


def test_non_7z_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "b.7z").write_text("just some text, not an archive\n")

    with pytest.raises(BundleError, match="is not a readable 7z bundle") as caught:
        open_bundle(tmp_path / "b.7z")
    assert "\n" not in str(caught.value)
    assert caught.value.__suppress_context__  # no chained traceback


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_7z_is_refused(real_bundle: Path, tmp_path: Path, keep: float) -> None:
    data = real_bundle.read_bytes()
    (tmp_path / "b.7z").write_bytes(data[: int(len(data) * keep)])

    with pytest.raises(BundleError, match="is not a readable 7z bundle") as caught:
        open_bundle(tmp_path / "b.7z")
    assert caught.value.__suppress_context__


def test_7z_without_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    archive = pack_members(tmp_path / "b.7z", [("notes.txt", b"hello")])

    with pytest.raises(
        BundleError, match=re.escape("has no manifest.json: not a pa-collect bundle")
    ):
        open_bundle(archive)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [(b"{not json", "manifest.json is not JSON"), (b"[1]", "not a JSON object")],
)
def test_manifest_that_is_not_a_json_object_is_refused(
    tmp_path: Path, manifest: bytes, message: str
) -> None:
    archive = pack_members(tmp_path / "b.7z", [("manifest.json", manifest)])

    with pytest.raises(BundleError, match=re.escape(message)):
        open_bundle(archive)


def damaged_member_bundle(tmp_path: Path) -> Path:
    """Stored, not compressed: one member's bytes damaged, the manifest intact."""
    payload = random.Random(7).randbytes(4000)
    archive = tmp_path / "b.7z"
    with py7zr.SevenZipFile(archive, "w", filters=[{"id": py7zr.FILTER_COPY}]) as writer:
        writer.writestr(MINIMAL_MANIFEST, "manifest.json")
        writer.writestr(payload, "data.bin")
    raw = archive.read_bytes()
    archive.write_bytes(flip(raw, raw.index(payload) + 1000))
    return archive


def test_damaged_member_makes_verify_raise_bundle_error(tmp_path: Path) -> None:
    bundle = open_bundle(damaged_member_bundle(tmp_path))

    with pytest.raises(BundleError, match="damaged"):
        bundle.verify()


def test_damaged_member_read_fails_cleanly(
    tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    bundle = open_bundle(damaged_member_bundle(tmp_path))

    with pytest.raises(BundleError, match=re.escape("cannot read data.bin")):
        read_all(bundle, "data.bin")
    join_readers()
    assert thread_errors == []


# --- a large member streams ---------------------------------------------------


@pytest.fixture(scope="module")
def large_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """About 200 MiB of hex-like text: a 1 MiB random block repeated. A 4 MiB
    dictionary lets LZMA see the repeats, so packing is quick, yet the ratio stays
    far below the bomb limit."""
    folder = tmp_path_factory.mktemp("large")
    block = "".join(random.Random(1).choices("0123456789abcdef \n", k=MIB)).encode()
    digest = hashlib.sha256()
    with (folder / "big.txt").open("wb") as out:
        for _ in range(200):
            out.write(block)
            digest.update(block)
    (folder / "manifest.json").write_bytes(MINIMAL_MANIFEST)
    seven_zip_z("a", "-mx1", "-md4m", "b.7z", "manifest.json", "big.txt", cwd=folder)
    (folder / "big.txt").unlink()
    return folder / "b.7z", digest.hexdigest()


def read_tracking_memory(bundle_path: Path, pause: Callable[[], None]) -> tuple[int, str, int]:
    """(bytes read, sha256, peak RSS growth) reading big.txt in 1 MiB chunks."""
    process = psutil.Process()
    baseline = peak = process.memory_info().rss
    digest, total = hashlib.sha256(), 0
    with open_bundle(bundle_path).read("big.txt") as stream:
        while chunk := stream.read(MIB):
            assert len(chunk) <= MIB
            if total == 0:
                pause()
            digest.update(chunk)
            total += len(chunk)
            peak = max(peak, process.memory_info().rss)
    return total, digest.hexdigest(), peak - baseline


@pytest.mark.slow
def test_large_member_reads_back_intact(large_bundle: tuple[Path, str]) -> None:
    path, sha256 = large_bundle

    total, digest, _ = read_tracking_memory(path, lambda: None)

    assert (total, digest) == (200 * MIB, sha256)


@pytest.mark.slow
def test_large_member_streams_with_bounded_memory(large_bundle: tuple[Path, str]) -> None:
    path, sha256 = large_bundle

    # A consumer that falls behind (an upload, a slow disk) must not make memory grow.
    total, digest, growth = read_tracking_memory(path, lambda: time.sleep(0.5))

    assert (total, digest) == (200 * MIB, sha256)
    # py7zr decompresses in chunks of at most 128 MB (py7zr.properties.get_memory_limit,
    # less on small machines); on top of that only the reader's pipe may be held.
    assert growth < 128e6 + 32 * MIB, f"RSS grew by {growth // MIB} MiB"


# --- properties ---------------------------------------------------------------

PROPERTY = settings(deadline=None, max_examples=50, database=None, derandomize=True)


def open_and_verify(path: Path) -> None:
    """Open and verify; a BundleError is an acceptable answer, nothing else is."""
    with time_limit(30):
        try:
            with open_bundle(path) as bundle:
                bundle.verify()
        except BundleError:
            pass
        join_readers()


def test_random_bytes_are_refused_with_bundle_error(
    tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    @PROPERTY
    @given(
        st.one_of(
            st.binary(max_size=2048),
            st.binary(max_size=2048).map(lambda tail: SIGNATURE + tail),
        )
    )
    def check(data: bytes) -> None:
        path = tmp_path / "random.7z"
        path.write_bytes(data)
        with time_limit(30), pytest.raises(BundleError):
            open_bundle(path)

    check()
    assert thread_errors == []


def framed(header: bytes, packed: bytes) -> bytes:
    """A 7z whose start header and CRCs are right around an arbitrary next header."""
    start = struct.pack("<QQI", len(packed), len(header), zlib.crc32(header))
    return SIGNATURE + b"\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start + packed + header


def test_random_header_in_a_valid_frame_is_refused_with_bundle_error(
    tmp_path: Path,
) -> None:
    @PROPERTY
    @given(st.binary(min_size=1, max_size=256), st.binary(max_size=256))
    def check(header: bytes, packed: bytes) -> None:
        path = tmp_path / "framed.7z"
        path.write_bytes(framed(header, packed))
        with time_limit(30), pytest.raises(BundleError):
            open_bundle(path)

    check()


def test_mutated_bundle_opens_or_is_refused_with_bundle_error(
    real_bundle: Path, tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    original = real_bundle.read_bytes()
    flips = st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255))

    @PROPERTY
    @given(st.lists(flips, min_size=1, max_size=8))
    def check(changes: list[tuple[int, int]]) -> None:
        thread_errors.clear()
        damaged = original
        for position, mask in changes:
            damaged = flip(damaged, position, mask)
        path = tmp_path / "mutated.7z"
        path.write_bytes(damaged)
        open_and_verify(path)
        assert thread_errors == [], f"reader thread died: {thread_errors[0]!r}"

    check()
