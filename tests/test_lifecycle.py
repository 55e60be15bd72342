"""The lifecycle table: lookups by version prefix, status on a given day, and a
source for every entry."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from collector import lifecycle

TABLE = Path(lifecycle.__file__).with_name("lifecycle.json")
DAY = date(2026, 11, 27)
REQUIRED = {
    "db2": ("9.7", "10.1", "10.5", "11.1", "11.5", "12.1"),
    "mq": ("8.0", "9.0", "9.1", "9.2", "9.3", "9.4"),
    "websphere": ("8.5.5", "9.0.5"),
    "informix": ("11.70", "12.10", "14.10", "15"),
    "domino": ("9.0.1", "10", "11", "12", "14"),
}


@pytest.mark.parametrize(
    ("product", "release"), [(p, r) for p, releases in REQUIRED.items() for r in releases]
)
def test_the_table_covers_the_releases_support_sees(product: str, release: str) -> None:
    found = lifecycle.find(product, release)
    assert found is not None and found.release == release
    assert found.source.startswith("https://")


def test_every_entry_has_a_source_and_explains_a_missing_date() -> None:
    document = json.loads(TABLE.read_text())
    for entry in document["releases"]:
        assert entry["product"] in document["products"]
        assert entry["source"].startswith("https://"), entry
        if entry["end_of_support"] is None:
            assert entry["undated"] in lifecycle.UNDATED, entry
            assert entry["note"], entry
        if entry["general_availability"] is None:
            assert "not confirmed" in entry["note"], entry


def test_a_supported_release() -> None:
    found = lifecycle.status("db2", "11.5.9.0", DAY)
    assert found["release"] == "11.5"
    assert found["status"] == "supported"
    assert found["end_of_support"] is None
    assert found["source"].startswith("https://www.ibm.com/")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2022, 4, 30), "supported"),  # the last day of standard support
        (date(2022, 5, 1), "extended"),
        (date(2026, 4, 30), "extended"),
        (date(2026, 5, 1), "end_of_support"),
        (DAY, "end_of_support"),
    ],
)
def test_db2_11_1_through_its_life(day: date, expected: str) -> None:
    found = lifecycle.status("db2", "11.1.4.7", day)
    assert found["release"] == "11.1"
    assert (found["end_of_support"], found["extended_support_end"]) == ("2022-04-30", "2026-04-30")
    assert found["status"] == expected


@pytest.mark.parametrize(
    ("product", "version"),
    [("db2", "8.2.0.0"), ("db2", "11.10.1"), ("mq", "7.5.0.0"), ("db2", ""), ("oracle", "19.3")],
)
def test_an_unknown_version_is_unknown(product: str, version: str) -> None:
    found = lifecycle.status(product, version, DAY)
    assert found["status"] == "unknown"
    assert found["release"] is None and found["source"] is None


def test_undated_entries_say_what_is_known() -> None:
    assert lifecycle.status("informix", "11.70.FC9", DAY)["status"] == "end_of_support"
    assert lifecycle.status("informix", "12.10.FC16", DAY)["status"] == "unknown"
    assert lifecycle.status("informix", "14.10.FC10", DAY)["status"] == "supported"
    assert lifecycle.status("websphere", "8.5.5.24", DAY)["status"] == "supported"


@pytest.mark.parametrize(
    ("product", "version", "release"),
    [
        ("domino", "14.5.1", "14.5"),
        ("domino", "14.0", "14"),
        ("domino", "12.0.2", "12"),
        ("domino", "9.0.1", "9.0.1"),
        ("informix", "15.0.0.1", "15"),
        ("informix", "14.10.FC10", "14.10"),
        ("websphere", "9.0.5.14", "9.0.5"),
        ("mq", "9.3.0.15", "9.3"),
        ("db2", "v11.1.4.7", "11.1"),
    ],
)
def test_the_longest_release_prefix_wins(product: str, version: str, release: str) -> None:
    found = lifecycle.find(product, version)
    assert found is not None and found.release == release


def test_websphere_9_0_0_is_not_taken_for_9_0_5() -> None:
    assert lifecycle.find("websphere", "9.0.0.11") is None
