"""`pa-collect map new|add|merge|lookup` and the collect options that use a map."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from conftest import FakeHost, RunPa, collect_on, no_traceback


def entries(path: Path) -> dict[str, dict[str, str]]:
    document: dict[str, dict[str, dict[str, str]]] = json.loads(path.read_text())
    return document["entries"]


def test_new_is_private_and_never_overwrites(tmp_path: Path, run_pa: RunPa) -> None:
    path = tmp_path / "case.map"
    created = run_pa("map", "new", str(path))
    assert created.returncode == 0 and "Wrote" in created.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = json.loads(path.read_text())["key"]
    again = run_pa("map", "new", str(path))
    assert again.returncode == 2 and "never overwritten" in again.stderr
    assert json.loads(path.read_text())["key"] == key


def test_add_seeds_and_lookup_answers_both_ways(tmp_path: Path, run_pa: RunPa) -> None:
    path = tmp_path / "case.map"
    added = run_pa(
        "map", "add", str(path), "--hostname", "DBHost02.example.com", "--ip", "192.0.2.11",
        "--mac", "52:54:00:AB:CD:EF", "--user", "jsmith", "--keyword", "Acme",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    table = entries(path)
    assert set(table["hostname"]) == {"dbhost02.example.com", "dbhost02", "example.com"}
    replacement = table["hostname"]["dbhost02"]
    forward = run_pa("map", "lookup", str(path), "DBHOST02")
    assert forward.returncode == 0 and forward.stdout == f"hostname\tdbhost02 -> {replacement}\n"
    backward = run_pa("map", "lookup", "--json", str(path), replacement)
    assert json.loads(backward.stdout)["found"][0]["original"] == "dbhost02"
    assert set(table["mac"]) == {"52:54:00:ab:cd:ef"} and set(table["keyword"]) == {"acme"}


def test_lookup_reverses_any_obfuscated_address(tmp_path: Path, run_pa: RunPa) -> None:
    path = tmp_path / "case.map"
    run_pa("map", "add", str(path), "--ip", "10.1.2.3")
    fake = entries(path)["ip"]["10.1.2.3"]
    (tmp_path / "other.map").write_text(path.read_text())  # same key, no entries needed
    document = json.loads(path.read_text())
    document["entries"]["ip"] = {}
    path.write_text(json.dumps(document))
    result = run_pa("map", "lookup", str(path), fake)
    assert result.returncode == 0 and result.stdout.startswith(f"ip\t10.1.2.3 -> {fake}")
    missing = run_pa("map", "lookup", str(path), "nosuchname")
    assert missing.returncode == 1 and "not in" in missing.stderr


def test_merge_unions_maps_of_one_key(tmp_path: Path, run_pa: RunPa) -> None:
    main, copy = tmp_path / "main.map", tmp_path / "copy.map"
    run_pa("map", "new", str(main))
    copy.write_bytes(main.read_bytes())
    copy.chmod(0o644)  # a fetched copy: only warned about, it is read, not written
    run_pa("map", "add", str(main), "--user", "alice")
    copy.chmod(0o600)
    run_pa("map", "add", str(copy), "--user", "bob")
    copy.chmod(0o644)
    merged = run_pa("map", "merge", str(main), str(copy))
    assert merged.returncode == 0, merged.stderr
    assert "1 new entries" in merged.stdout and "can be read by other users" in merged.stderr
    assert set(entries(main)["user"]) == {"alice", "bob"}


def test_merge_refuses_another_key(tmp_path: Path, run_pa: RunPa) -> None:
    one, two = tmp_path / "one.map", tmp_path / "two.map"
    run_pa("map", "new", str(one))
    run_pa("map", "new", str(two))
    result = run_pa("map", "merge", str(one), str(two))
    assert result.returncode == 2 and "different key" in result.stderr and no_traceback(result)


def test_bad_values_and_maps_exit_2(tmp_path: Path, run_pa: RunPa) -> None:
    path = tmp_path / "case.map"
    for option, value in (("--ip", "300.1.2.3"), ("--mac", "52:54:00"), ("--hostname", "a b")):
        result = run_pa("map", "add", str(path), option, value)
        assert result.returncode == 2 and "is not" in result.stderr and no_traceback(result)
    assert run_pa("map", "add", str(path)).returncode == 2  # nothing to add
    (tmp_path / "junk.map").write_text("junk")
    result = run_pa("map", "lookup", str(tmp_path / "junk.map"), "x")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    readable = tmp_path / "readable.map"
    run_pa("map", "new", str(readable))
    readable.chmod(0o644)
    result = run_pa("map", "add", str(readable), "--user", "x")
    assert result.returncode == 2 and "chmod 600" in result.stderr


def test_every_map_command_has_help(run_pa: RunPa) -> None:
    for command in ("new", "add", "merge", "lookup"):
        result = run_pa("map", command, "--help")
        assert result.returncode == 0 and "Exit codes" in result.stdout


def test_collect_rejects_bad_obfuscation_options(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    bad_kind = collect_on(fake_host, run_pa, "--obfuscate", "hostnames,passwords")
    assert bad_kind.returncode == 2 and "unknown kind 'passwords'" in bad_kind.stderr
    stray_map = collect_on(fake_host, run_pa, "--map", str(tmp_path / "m.map"))
    assert stray_map.returncode == 2 and "--map needs --obfuscate" in stray_map.stderr
    (tmp_path / "bad.map").write_text("{}")
    (tmp_path / "bad.map").chmod(0o600)
    bad_map = collect_on(
        fake_host, run_pa, "--obfuscate", "ips", "--map", str(tmp_path / "bad.map")
    )
    assert bad_map.returncode == 2 and "not an obfuscation map" in bad_map.stderr
    no_words = collect_on(fake_host, run_pa, "--keyword-file", str(tmp_path / "none.txt"))
    assert no_words.returncode == 2 and "cannot read keyword file" in no_words.stderr
    assert not list(fake_host.out.glob("*.7z"))  # refused before collecting
