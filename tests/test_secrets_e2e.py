"""Planted secrets never leave: a fake host of its own (tests/data/secrets) with
50 unique tokens in the five products' real configuration formats, the OS files,
command output, logs and a problem description full of shell history. Each
product is collected with the installed `pa-collect`, every bundle is opened with
the real 7z, and every extracted byte is searched for every token, raw, base64
and {xor}-encoded. The same bundles must keep the versions, paths, messages and
settings planted next to the secrets."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CUSTOMER,
    DATA,
    FakeHost,
    RunPa,
    extract,
    no_traceback,
    only_bundle,
    run_pa_command,
)

FIXTURE = DATA / "secrets"
TOKEN = re.compile(rb"PLNT-\d\d-\w{6}")
# Secrets planted in an encoded form, next to what the plant encodes.
ENCODED = {b"PLNT-13-b64Qw1": b"produser:PLNT-13-b64Qw1"}
AWS_KEY_IDS = (b"PLNT23QXZ7WK2M9R", b"PLNT29QXZ7WK2M9R")  # after AKIA
PRODUCTS = {
    "db2": {},
    "informix": {
        "INFORMIXDIR": "/opt/IBM/informix",
        "INFORMIXSERVER": "ol_prod",
        "ONCONFIG": "onconfig.ol_prod",
    },
    "websphere": {},
    "mq": {},
    "domino": {"TZ": "UTC"},
}
# Not secret, planted next to the secrets: must arrive intact.
KEPT = (
    b"UID=produser\n",
    b"Hostname=db2prd.example.com\n",
    b"Authentication=SERVER_ENCRYPT\n",
    b'<parameter name="SecurityTransportMode" value="SSL"/>',
    b'SQL30082N  Security processing failed with reason "24" ("USERNAME AND/OR PASSWORD INVALID").',
    b"jdbc:db2://db2prd.example.com:50001/PRODDB:user=produser;password=********;sslConnection=true;",
    b"12:00:02  Password policy changed; using default settings\n",
    b'bindDN="cn=was,o=acme"',
    b'realm="ldap.acme.com:389"',
    b"com.ibm.SOAP.loginUserid=wasadmin\n",
    b"SRVE0190E: request headers: Cookie: LtpaToken2=********; JSESSIONID=********",
    b"using key AKIA******** for backups",
    b"SSLKeyRepository=/var/mqm/ssl/client/key\n",
    b'<variable name="mqRestCorsAllowedOrigins" value="https://mq.example.com"/>',
    b"AMQ8000I: Command issued: ALTER AUTHINFO(LDAP) LDAPPWD('********') AUTHTYPE(IDPWLDAP)",
    b"PasswordExpiryDays=90\n",
    b"DOMINO_USER=notes\n",
    b"-----BEGIN OPENSSH PRIVATE KEY-----\n********\n-----END OPENSSH PRIVATE KEY-----\n",
    b"WSVR0001I: Server server1 open for e-business\n",
    b"psk-flags=0\n",
    b"private-key=/etc/pki/wifi.key\n",
    b"            identity: guest\n",
    b"//fs01/share /mnt/share cifs username=svcdb2,password=********,uid=1001 0 0\n",
)


def xor_form(secret: bytes) -> bytes:
    """WebSphere's {xor}: each byte XOR 0x5F, then base64."""
    return base64.b64encode(bytes(byte ^ 0x5F for byte in secret))


def forms(secret: bytes) -> list[bytes]:
    found = [secret, base64.b64encode(secret), xor_form(secret)]
    if secret in ENCODED:
        found.append(base64.b64encode(ENCODED[secret]))
    return found


def fixture_bytes() -> bytes:
    files = [p for p in FIXTURE.rglob("*") if p.is_file()]
    return b"\n".join(path.read_bytes() for path in files)


def planted_tokens() -> list[bytes]:
    """Every token of the fixture, in whichever form it was planted."""
    text = fixture_bytes()
    tokens = set(TOKEN.findall(text))
    for encoded in re.findall(rb"\{xor\}([A-Za-z0-9+/]+=*)", text):
        with contextlib.suppress(binascii.Error):
            tokens.update(TOKEN.findall(bytes(b ^ 0x5F for b in base64.b64decode(encoded))))
    for secret, plain in ENCODED.items():
        if base64.b64encode(plain) in text:
            tokens.add(secret)
    return sorted(tokens)


def secrets_host(tmp_path: Path) -> FakeHost:
    sysroot, fake_bin = tmp_path / "sysroot", tmp_path / "bin"
    shutil.copytree(FIXTURE / "sysroot", sysroot, symlinks=True)
    shutil.copytree(FIXTURE / "bin", fake_bin)
    (tmp_path / "home").mkdir()
    (tmp_path / "out").mkdir()
    return FakeHost(sysroot, fake_bin, tmp_path / "home", tmp_path / "out")


def extracted_bytes(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """product -> (manifest, every extracted byte) for one collection each; the
    bundles themselves under the key "bundle:<product>"."""
    collected: dict[str, Any] = {}
    for product, env in PRODUCTS.items():
        root = tmp_path_factory.mktemp(product)
        host = secrets_host(root)
        result = run_pa_command(
            "--product",
            product,
            "--batch",
            "--json",
            "--since",
            "all",
            "--sysroot",
            str(host.sysroot),
            "--output",
            str(host.out),
            "--description-file",
            str(FIXTURE / "description.toml"),
            *CUSTOMER,
            env=host.env(**env),
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert no_traceback(result)
        manifest = extract(only_bundle(host.out), root / "extracted")
        collected[product] = (manifest, extracted_bytes(root / "extracted"))
        collected[f"bundle:{product}"] = only_bundle(host.out)
    return collected


def products_of(bundles: dict[str, Any]) -> list[tuple[dict[str, Any], bytes]]:
    return [bundles[product] for product in PRODUCTS]


def test_the_fixture_plants_at_least_forty_distinct_secrets() -> None:
    tokens = planted_tokens()
    assert len(tokens) >= 40
    assert len(set(tokens)) == len(tokens)


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_no_planted_secret_in_any_form_reaches_the_bundle(
    bundles: dict[str, Any], product: str
) -> None:
    _manifest, data = bundles[product]
    leaks = [
        (secret, form) for secret in planted_tokens() for form in forms(secret) if form in data
    ]
    leaks += [(key_id, key_id) for key_id in AWS_KEY_IDS if key_id in data]
    assert leaks == []


def test_every_secret_was_in_something_collected(bundles: dict[str, Any]) -> None:
    """Otherwise the absence above proves nothing: each planted file was read
    and redacted by some bundle, or refused whole as a secret file."""
    collected = {
        item["source"]
        for manifest, _data in products_of(bundles)
        for item in manifest["items"]
        if (item["outcome"] == "ok" and item.get("redactions", 0) > 0) or item.get("secret")
    }
    missed = []
    for path in sorted(p for p in (FIXTURE / "sysroot").rglob("*") if p.is_file()):
        content = path.read_bytes()
        if TOKEN.search(content) or b"{xor}" in content or b"AKIAPLNT" in content:
            source = "/" + str(path.relative_to(FIXTURE / "sysroot"))
            if source not in collected:
                missed.append(source)
    assert missed == []


def test_the_description_reaches_the_bundle_redacted(bundles: dict[str, Any]) -> None:
    manifest, _data = bundles["db2"]
    steps = manifest["case"]["description"]["steps_to_reproduce"]
    assert "db2 connect to PRODDB user produser using ********" in steps
    assert "gsk8capicmd_64 -cert -list -db key.kdb -pw ********" in steps
    assert "PLNT" not in steps


def test_secret_files_are_listed_as_skipped_never_read(bundles: dict[str, Any]) -> None:
    skipped = {
        item["source"]
        for manifest, _data in products_of(bundles)
        for item in manifest["items"]
        if item.get("secret")
    }
    assert {
        "/var/mqm/qmgrs/QM1/ssl/key.sth",
        "/local/notesdata/IBM_TECHNICAL_SUPPORT/nsd_all_Linux_domino01_2023_03_21@10_15_02.log",
    } <= skipped
    assert any(path.endswith("/key.p12") for path in skipped)


def test_what_is_not_secret_arrives_intact(bundles: dict[str, Any]) -> None:
    everything = b"\n".join(data for _manifest, data in products_of(bundles))
    missing = [kept for kept in KEPT if kept not in everything]
    assert missing == []


def leak_report(run_pa: RunPa, path: Path) -> tuple[int, list[dict[str, Any]], str]:
    result = run_pa("verify", "--leaks", "--json", str(path))
    assert no_traceback(result)
    return result.returncode, json.loads(result.stdout)["leaks"], result.stdout


def test_verify_leaks_finds_every_planted_secret_in_the_raw_tree(run_pa: RunPa) -> None:
    """The unredacted fixture: each line holding a token is reported, at its
    own line or, for a multi-line value (a YAML block, a PEM body), at the line
    where the value starts. The report never holds a secret."""
    code, leaks, output = leak_report(run_pa, FIXTURE / "sysroot")
    assert code == 1
    found = {(leak["file"], leak["line"]) for leak in leaks}
    unreported = []
    for path in sorted(p for p in (FIXTURE / "sysroot").rglob("*") if p.is_file()):
        name = str(path.relative_to(FIXTURE / "sysroot"))
        for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            if TOKEN.search(line) and not any((name, number - k) in found for k in (0, 1, 2)):
                unreported.append(f"{name}:{number}")
    assert unreported == []
    assert TOKEN.search(output.encode()) is None


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_verify_leaks_finds_nothing_in_the_redacted_bundle(
    run_pa: RunPa, bundles: dict[str, Any], product: str
) -> None:
    code, leaks, _output = leak_report(run_pa, bundles[f"bundle:{product}"])
    assert (code, leaks) == (0, [])
    manifest, _data = bundles[product]
    check = manifest["redaction"]["self_check"]
    assert check["leaks"] == [] and check["items"] > 0
