"""The service request: case / PMR numbers, severity, problem description."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.case import make_case, read_description
from collector.errors import BadInput


def test_case_number_is_accepted() -> None:
    case = make_case("TS012345678", None, 2)
    assert (case.id, case.kind, case.severity) == ("TS012345678", "case", 2)
    assert case.file_prefix == "TS012345678"


def test_lower_case_ts_and_spaces_are_normalised() -> None:
    assert make_case(" ts012345678 ", None, None).id == "TS012345678"


@pytest.mark.parametrize(
    "number",
    ["TS12345678", "TS0123456789", "XX012345678", "012345678", "TS01234567a", "T S012345678", ""],
)
def test_bad_case_number_shows_expected_form(number: str) -> None:
    with pytest.raises(BadInput, match=r"expected TS followed by 9 digits, e\.g\. TS012345678"):
        make_case(number, None, None)


def test_pmr_is_accepted_with_dotted_file_prefix() -> None:
    case = make_case(None, "12345,678,672", 3)
    assert (case.id, case.kind, case.severity) == ("12345,678,672", "pmr", 3)
    assert case.file_prefix == "12345.678.672"


def test_pmr_branch_may_hold_letters() -> None:
    assert make_case(None, "12345,ABC,672", None).file_prefix == "12345.ABC.672"


@pytest.mark.parametrize(
    "pmr",
    [
        "1234,678,672",
        "123456,678,672",
        "12345,67,672",
        "12345,678,67",
        "12345.678.672",
        "12345,678,ABC",
        "12345,678",
        "TS012345678",
    ],
)
def test_bad_pmr_shows_expected_form(pmr: str) -> None:
    with pytest.raises(BadInput, match=r"expected xxxxx,bbb,ccc .*e\.g\. 12345,678,672"):
        make_case(None, pmr, None)


def test_case_and_pmr_together_are_refused() -> None:
    with pytest.raises(BadInput, match="not both"):
        make_case("TS012345678", "12345,678,672", None)


def test_no_number_gives_an_anonymous_case() -> None:
    case = make_case(None, None, None)
    assert (case.id, case.kind, case.file_prefix) == (None, "none", "")


@pytest.mark.parametrize("severity", [1, 2, 3, 4])
def test_severities_one_to_four_are_accepted(severity: int) -> None:
    assert make_case(None, None, severity).severity == severity


@pytest.mark.parametrize("severity", [0, 5, -1])
def test_severity_outside_one_to_four_is_refused(severity: int) -> None:
    with pytest.raises(BadInput, match="use 1, 2, 3 or 4"):
        make_case("TS012345678", None, severity)


def test_description_is_kept_in_the_case_document() -> None:
    case = make_case("TS012345678", None, 1, {"symptoms": "SQL1224N"})
    assert case.as_document() == {
        "id": "TS012345678",
        "kind": "case",
        "severity": 1,
        "description": {"symptoms": "SQL1224N"},
    }


def test_description_toml_with_the_four_keys(tmp_path: Path) -> None:
    path = tmp_path / "description.toml"
    path.write_text(
        'frequency = "daily"\n'
        'trigger = "nightly backup"\n'
        'steps_to_reproduce = """\n1. db2 backup db SAMPLE\n2. wait\n"""\n'
        'symptoms = "SQL2062N"\n'
    )
    assert read_description(path) == {
        "frequency": "daily",
        "trigger": "nightly backup",
        "steps_to_reproduce": "1. db2 backup db SAMPLE\n2. wait",
        "symptoms": "SQL2062N",
    }


def test_description_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "description.txt"
    path.write_text("The instance crashes at night.\nSee db2diag.log.\n")
    assert read_description(path) == {"text": "The instance crashes at night.\nSee db2diag.log."}


def test_empty_description_file_gives_no_description(tmp_path: Path) -> None:
    path = tmp_path / "description.txt"
    path.write_text("\n  \n")
    assert read_description(path) == {}


def test_description_toml_with_unknown_key_names_it(tmp_path: Path) -> None:
    path = tmp_path / "description.toml"
    path.write_text('frequency = "daily"\nseverity = 1\n')
    with pytest.raises(BadInput, match="unknown key 'severity'"):
        read_description(path)


def test_description_toml_file_with_only_a_misspelt_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "description.toml"
    path.write_text('symptom = "crash"\n')
    with pytest.raises(BadInput, match="unknown key 'symptom'"):
        read_description(path)


def test_invalid_toml_in_a_toml_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "description.toml"
    path.write_text("frequency = daily\n")
    with pytest.raises(BadInput, match="not valid TOML"):
        read_description(path)


def test_missing_description_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read description file"):
        read_description(tmp_path / "nope.txt")


def test_directory_as_description_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read description file"):
        read_description(tmp_path)
