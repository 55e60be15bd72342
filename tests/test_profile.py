"""The customer card: lookup order, validation, and writing it privately."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from collector.errors import BadInput
from collector.host import Host
from collector.profile import (
    PROFILE_ENV,
    Profile,
    find_profile,
    load_profile,
    with_overrides,
    write_profile,
)

CARD = Profile(
    customer_number="1234567",
    contract_number="PA-778899",
    contact_name='Ana "DBA" O\\Brien',
    email="ana@example.com",
    phone="+49 (0)30 1234-567",
    company="Example GmbH",
    service_start="2024-01-01",
    service_end="2025-12-31",
    products=("db2", "mq"),
)
MINIMAL = 'customer_number = "{}"\ncontract_number = "PA-1"\n'


def card(path: Path, customer_number: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MINIMAL.format(customer_number))
    return path


def host(tmp_path: Path, **env: str) -> Host:
    # system_config_dir too, so a real /etc/pa-collect never leaks into a test.
    return Host(
        sysroot=tmp_path,
        env={"HOME": str(tmp_path / "home"), **env},
        system_config_dir=tmp_path / "etc" / "pa-collect",
    )


def test_write_profile_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "profile.toml"
    write_profile(CARD, path)
    assert load_profile(path) == CARD


def test_write_profile_creates_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    write_profile(CARD, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_profile_replaces_a_readable_card_with_a_private_one(tmp_path: Path) -> None:
    path = card(tmp_path / "profile.toml", "1111111")
    path.chmod(0o644)
    write_profile(CARD, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_profile(path) == CARD


def test_write_profile_is_0600_despite_a_leftover_tmp_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    leftover = tmp_path / "profile.toml.tmp"
    leftover.write_text("")
    leftover.chmod(0o644)
    write_profile(CARD, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_profile_refuses_an_invalid_card(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    with pytest.raises(BadInput):
        write_profile(Profile(customer_number="12ab", contract_number="PA-1"), path)
    assert not path.exists()


def test_explicit_path_wins(tmp_path: Path) -> None:
    explicit = card(tmp_path / "explicit.toml", "1000001")
    env_card = card(tmp_path / "env.toml", "2000002")
    card(tmp_path / "home" / ".config" / "pa-collect" / "profile.toml", "3000003")

    profile, found = find_profile(host(tmp_path, **{PROFILE_ENV: str(env_card)}), explicit)

    assert (profile.customer_number, found) == ("1000001", explicit)


def test_environment_wins_over_user_config(tmp_path: Path) -> None:
    env_card = card(tmp_path / "env.toml", "2000002")
    card(tmp_path / "home" / ".config" / "pa-collect" / "profile.toml", "3000003")

    profile, found = find_profile(host(tmp_path, **{PROFILE_ENV: str(env_card)}))

    assert (profile.customer_number, found) == ("2000002", env_card)


def test_user_config_is_used_without_environment(tmp_path: Path) -> None:
    user = card(tmp_path / "home" / ".config" / "pa-collect" / "profile.toml", "3000003")
    card(tmp_path / "etc" / "pa-collect" / "profile.toml", "4000004")

    profile, found = find_profile(host(tmp_path))

    assert (profile.customer_number, found) == ("3000003", user)


def test_user_config_follows_xdg_config_home(tmp_path: Path) -> None:
    user = card(tmp_path / "xdg" / "pa-collect" / "profile.toml", "3000003")

    profile, found = find_profile(host(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg")))

    assert (profile.customer_number, found) == ("3000003", user)


def test_system_config_is_the_last_resort(tmp_path: Path) -> None:
    system = card(tmp_path / "etc" / "pa-collect" / "profile.toml", "4000004")

    profile, found = find_profile(host(tmp_path))

    assert (profile.customer_number, found) == ("4000004", system)


def test_no_profile_anywhere_gives_an_empty_one(tmp_path: Path) -> None:
    assert find_profile(host(tmp_path)) == (Profile(), None)


def test_missing_explicit_profile_is_refused(tmp_path: Path) -> None:
    card(tmp_path / "home" / ".config" / "pa-collect" / "profile.toml", "3000003")
    with pytest.raises(BadInput, match="does not exist"):
        find_profile(host(tmp_path), tmp_path / "missing.toml")


def test_missing_profile_named_in_environment_is_refused(tmp_path: Path) -> None:
    card(tmp_path / "home" / ".config" / "pa-collect" / "profile.toml", "3000003")
    named = host(tmp_path, **{PROFILE_ENV: str(tmp_path / "missing.toml")})
    with pytest.raises(BadInput, match="does not exist"):
        find_profile(named)


def test_invalid_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    path.write_text('customer_number = "1234567\n')
    with pytest.raises(BadInput, match="not valid TOML"):
        load_profile(path)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = card(tmp_path / "profile.toml", "1234567")
    path.write_text(path.read_text() + 'password = "x"\n')
    with pytest.raises(BadInput, match="password"):
        load_profile(path)


def test_numbers_may_be_left_out_of_the_card(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    path.write_text('contact_name = "Ana"\n')
    assert load_profile(path) == Profile(contact_name="Ana")


@pytest.mark.parametrize("value", ['"2024-13-01"', '"01.02.2024"', '"20240101"', '"soon"'])
def test_bad_date_is_refused(tmp_path: Path, value: str) -> None:
    path = card(tmp_path / "profile.toml", "1234567")
    path.write_text(path.read_text() + f"service_start = {value}\n")
    with pytest.raises(BadInput):
        load_profile(path)


def test_toml_native_dates_are_kept_as_iso_strings(tmp_path: Path) -> None:
    path = card(tmp_path / "profile.toml", "1234567")
    path.write_text(path.read_text() + "service_start = 2024-01-01\nservice_end = 2024-12-31\n")
    profile = load_profile(path)
    assert (profile.service_start, profile.service_end) == ("2024-01-01", "2024-12-31")


def test_service_end_before_start_is_refused(tmp_path: Path) -> None:
    path = card(tmp_path / "profile.toml", "1234567")
    path.write_text(path.read_text() + 'service_start = "2025-01-01"\nservice_end = "2024-12-31"\n')
    with pytest.raises(BadInput, match="before service_start"):
        load_profile(path)


def test_override_wins_over_the_card() -> None:
    profile = with_overrides(CARD, customer_number="7654321", email=None, phone="")
    assert profile.customer_number == "7654321"
    assert (profile.email, profile.phone) == (CARD.email, CARD.phone)


def test_overrides_fill_an_empty_card() -> None:
    profile = with_overrides(Profile(), customer_number="1234567", contract_number="PA-1")
    assert (profile.customer_number, profile.contract_number) == ("1234567", "PA-1")


@pytest.mark.parametrize("number", ["12AB567", "1234", "12345678901", "123 4567"])
def test_override_customer_number_must_be_digits(number: str) -> None:
    with pytest.raises(BadInput, match="customer_number"):
        with_overrides(CARD, customer_number=number)
