"""The plugin contract and discovery, through a real installed third-party package."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, FakeHost, RunPa, extract, only_bundle

from collector.errors import PluginError
from collector.plugin import Plugin, validate_plugin_class
from collector.spec import FileSpec


@pytest.fixture(scope="module")
def third_party(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-installs tests/data/thirdparty into a private folder (not site-packages)."""
    source = tmp_path_factory.mktemp("src") / "thirdparty"
    shutil.copytree(DATA / "thirdparty", source)  # the build writes next to its sources
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def test_plugins_lists_third_party_and_load_failures(
    fake_host: FakeHost, run_pa: RunPa, third_party: Path
) -> None:
    result = run_pa(
        "plugins",
        "--json",
        "--sysroot",
        str(fake_host.sysroot),
        env=fake_host.env(PYTHONPATH=str(third_party)),
    )
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    names = {row["name"]: row for row in listing["plugins"]}
    assert {"os", "network", "example", "broken_specs"} <= set(names)
    assert names["example"]["applies"] is False
    assert "/opt/example/etc/example.conf" in names["example"]["reason"]
    failures = {f["entry_point"].split(" ")[0]: f["error"] for f in listing["load_failures"]}
    assert "not a subclass" in failures["not_a_plugin"]
    assert "AttributeError" in failures["missing"]


def test_third_party_product_is_collected_and_failures_are_contained(
    fake_host: FakeHost, run_pa: RunPa, third_party: Path, tmp_path: Path
) -> None:
    conf = fake_host.sysroot / "opt/example/etc/example.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("threads = 8\nadmin_password = PLANTED-EXAMPLE-0099\n")
    fake_host.add_command("example-version", "echo 'Example 2.1.0'")
    card = tmp_path / "card.toml"
    card.write_text('customer_number = "1234567"\ncontract_number = "PA-1"\nproducts = ["db2"]\n')
    result = run_pa(
        "--product",
        "example",
        "--batch",
        "--json",
        "--profile",
        str(card),
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
        env=fake_host.env(PYTHONPATH=str(third_party)),
    )
    assert result.returncode == 0, result.stderr
    # Not on the card: a warning, recorded, and the collection still runs.
    assert "product 'example' is not on the customer card's product list" in result.stdout
    manifest = extract(only_bundle(fake_host.out), tmp_path / "x")
    assert manifest["entitlement"]["products"] == {"example": False}
    assert manifest["facts"]["example"] == {"version": "Example 2.1.0"}
    plugins = {p["name"]: p for p in manifest["plugins"]}
    assert plugins["example"]["status"] == "ok"
    assert plugins["broken_specs"]["status"] == "failed"
    assert "cannot list specs" in plugins["broken_specs"]["error"]
    assert plugins["os"]["status"] in ("ok", "partial")  # the others still ran
    assert manifest["status"] == "partial"
    assert {f["entry_point"].split(" ")[0] for f in manifest["load_failures"]} == {
        "missing",
        "not_a_plugin",
    }
    assert (
        "PLANTED-EXAMPLE-0099"
        not in (tmp_path / "x/example/files/opt/example/etc/example.conf").read_text()
    )
    assert only_bundle(fake_host.out).name.startswith("pa-collect.example.")


def test_plugins_on_this_machine_says_why(run_pa: RunPa) -> None:
    result = run_pa("plugins")
    assert result.returncode == 0, result.stderr
    assert "os" in result.stdout and "always collected" in result.stdout


class Good(Plugin):
    name = "good"

    def specs(self, ctx):  # type: ignore[no-untyped-def]
        return [FileSpec(path="/etc/hosts")]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ({"name": "Bad Name"}, "name must match"),
        ({"commands": ["db2level"]}, "commands must be a tuple"),
        ({"budget": 0}, "budget must be a positive"),
        ({"specs": Plugin.specs}, "specs() is not implemented"),
    ],
)
def test_invalid_plugins_are_refused_early(mutate: dict, message: str) -> None:
    bad = type("Bad", (Good,), dict(mutate))
    with pytest.raises(PluginError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_plugin_class(bad)


def test_valid_plugin_passes() -> None:
    assert validate_plugin_class(Good) is Good


def test_spec_paths_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute"):
        FileSpec(path="etc/hosts")
