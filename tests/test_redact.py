"""The redaction stage: rules, PEM blocks, streaming, and secret files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.redact import (
    BASELINE_RULES,
    MASK,
    MAX_LINE,
    PEM_RULE,
    SECRET_NAMES,
    SECRET_SUFFIXES,
    StreamRedactor,
    redact_bytes,
    secret_file_reason,
)


def redact(data: bytes) -> tuple[bytes, dict[str, int]]:
    redactor = StreamRedactor()
    out = redactor.feed(data) + redactor.close()
    return out, dict(redactor.counts)


# rule name -> (input, expected output); each masks exactly one secret.
RULE_CASES = {
    "quoted_secret_value": (
        b'<dataSource user="db2inst1" password="se cret 1" jndiName="jdbc/x"/>\n',
        b'<dataSource user="db2inst1" password="********" jndiName="jdbc/x"/>\n',
    ),
    "named_secret_value": (
        b'<parameter name="Password" value="pw 99"/>\n',
        b'<parameter name="Password" value="********"/>\n',
    ),
    "yaml_secret_value": (
        b"  bind_password: two words  # from the vault\n",
        b"  bind_password: ********  # from the vault\n",
    ),
    "xml_secret_element": (
        b"<bindPassword>hunter2</bindPassword>\n",
        b"<bindPassword>********</bindPassword>\n",
    ),
    "secret_key_value": (
        b"db2.password=hunter2 # set by installer\n",
        b"db2.password=******** # set by installer\n",
    ),
    "url_credentials": (
        b"fetching https://bob:hunter2@repo.example.com/x.tgz\n",
        b"fetching https://bob:********@repo.example.com/x.tgz\n",
    ),
    "ibm_encoded_password": (
        b"x = {xor}Lz4sLCgwLTs= end\n",
        b"x = {xor}******** end\n",
    ),
}


def test_every_baseline_rule_has_a_positive_case() -> None:
    assert {rule.name for rule in BASELINE_RULES} == set(RULE_CASES)


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_rule_masks_value_and_counts_one_hit(rule: str) -> None:
    data, expected = RULE_CASES[rule]
    assert redact(data) == (expected, {rule: 1})


@pytest.mark.parametrize(
    ("data", "expected", "rule"),
    [
        # key=value and key: value
        (b"password=hunter2\n", b"password=********\n", "secret_key_value"),
        (b"password = hunter2\n", b"password = ********\n", "secret_key_value"),
        (b"db2.password: s3cret\n", b"db2.password: ********\n", "yaml_secret_value"),
        (b"api_key=abc123\n", b"api_key=********\n", "secret_key_value"),
        (b"apikey: abc123\n", b"apikey: ********\n", "yaml_secret_value"),
        (b"client_secret=xyz\n", b"client_secret=********\n", "secret_key_value"),
        (b"auth_token=ab.cd\n", b"auth_token=********\n", "secret_key_value"),
        (b"credentials=abc\n", b"credentials=********\n", "secret_key_value"),
        (b"private_key=abc\n", b"private_key=********\n", "secret_key_value"),
        (b"keystash=abc\n", b"keystash=********\n", "secret_key_value"),
        (b"pass=abc\n", b"pass=********\n", "secret_key_value"),
        (b"PASSWORD=Hunter2\n", b"PASSWORD=********\n", "secret_key_value"),
        (
            b"SSLClientKeystoreDBPassword=xyz\n",
            b"SSLClientKeystoreDBPassword=********\n",
            "secret_key_value",
        ),
        # quoted values with spaces
        (b'password="a b c"\n', b'password="********"\n', "quoted_secret_value"),
        (b"passphrase: 'my long phrase'\n", b"passphrase: '********'\n", "quoted_secret_value"),
        (b"export DB_PASSWORD='x y'\n", b"export DB_PASSWORD='********'\n", "quoted_secret_value"),
        # XML attribute and element
        (
            b"<user name='u' password='p w'/>\n",
            b"<user name='u' password='********'/>\n",
            "quoted_secret_value",
        ),
        (
            b"  <password>top secret</password>\n",
            b"  <password>********</password>\n",
            "xml_secret_element",
        ),
        # JDBC and ODBC connection strings
        (
            b"jdbc:db2://h:50000/DB:user=u;password=p4ss;\n",
            b"jdbc:db2://h:50000/DB:user=u;password=********;\n",
            "secret_key_value",
        ),
        (
            b"DSN=SAMPLE;UID=db2inst1;PWD=s3cr3t;\n",
            b"DSN=SAMPLE;UID=db2inst1;PWD=********;\n",
            "secret_key_value",
        ),
        # URL credentials
        (
            b"ldap://cn=admin:pa55@ldap.example.com\n",
            b"ldap://cn=admin:********@ldap.example.com\n",
            "url_credentials",
        ),
        # IBM encodings
        (b"pw {aes}ABCDEF== y\n", b"pw {aes}******** y\n", "ibm_encoded_password"),
        (b"{custom:myenc}QUJD\n", b"{custom:myenc}********\n", "ibm_encoded_password"),
        (b"{XOR}Lz4sLCgwLTs=\n", b"{XOR}********\n", "ibm_encoded_password"),
    ],
)
def test_secret_formats_are_masked(data: bytes, expected: bytes, rule: str) -> None:
    assert redact(data) == (expected, {rule: 1})


def test_hits_of_several_rules_are_counted_per_rule() -> None:
    data = b'password=a1\ntoken: b2\nsecret="c 3"\nhttps://u:d4@h\n{xor}e5\nplain line\n'
    out, counts = redact(data)
    for secret in (b"a1", b"b2", b"c 3", b"d4", b"e5"):
        assert secret not in out
    assert b"plain line\n" in out
    assert counts == {
        "secret_key_value": 1,
        "yaml_secret_value": 1,
        "quoted_secret_value": 1,
        "url_credentials": 1,
        "ibm_encoded_password": 1,
    }


def test_two_secrets_on_one_line_count_two() -> None:
    assert redact(b"user=a password=x1 token=y2\n") == (
        b"user=a password=******** token=********\n",
        {"secret_key_value": 2},
    )


def test_already_masked_value_is_not_counted_again() -> None:
    assert redact(b"password=" + MASK + b"\n") == (b"password=" + MASK + b"\n", {})


@pytest.mark.parametrize(
    "line",
    [
        b"DB2 v11.5.9.0 s2310270807 DYN2310270807AMD64\n",
        b'SQL0104N  An unexpected token "X" was found following "SELECT".\n',
        b"passwd: files systemd\n",
        b"OLDPWD=/tmp\n",
        b"net.ipv4.ipfrag_secret_interval = 600\n",
        b"bypass=yes\n",
        b"compass=north\n",
        b"password_max_age=90\n",
        b"token_expiry=30\n",
        b"PasswordFile=/etc/db2/pw.txt\n",
        b"password: required\n",
        b"see https://example.com/path:with@sign/x\n",
        b"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PUBLIC KEY-----\nMIIC\n-----END PUBLIC KEY-----\n",
    ],
)
def test_non_secrets_pass_unchanged(line: bytes) -> None:
    assert redact(line) == (line, {})


PEM_KINDS = [
    b"RSA PRIVATE KEY",
    b"EC PRIVATE KEY",
    b"PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"OPENSSH PRIVATE KEY",
    b"PGP PRIVATE KEY BLOCK",
]


def pem(kind: bytes, body: bytes = b"MIIEsecretLINE1\nsecretLINE2==\n") -> bytes:
    return b"-----BEGIN " + kind + b"-----\n" + body + b"-----END " + kind + b"-----\n"


@pytest.mark.parametrize("kind", PEM_KINDS)
def test_pem_private_key_body_is_replaced(kind: bytes) -> None:
    out, counts = redact(b"before\n" + pem(kind) + b"after\n")
    assert out == (
        b"before\n-----BEGIN " + kind + b"-----\n" + MASK + b"\n"
        b"-----END " + kind + b"-----\nafter\n"
    )
    assert counts == {PEM_RULE: 1}


def test_pem_without_end_drops_everything_after_begin() -> None:
    out, counts = redact(b"a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\nmore\n")
    assert out == b"a\n-----BEGIN RSA PRIVATE KEY-----\n" + MASK + b"\n"
    assert counts == {PEM_RULE: 1}


def test_rules_still_apply_around_pem_blocks() -> None:
    out, counts = redact(b"password=x1\n" + pem(b"EC PRIVATE KEY") + b"token=y2\n")
    assert b"x1" not in out and b"y2" not in out and b"secretLINE" not in out
    assert counts == {PEM_RULE: 1, "secret_key_value": 2}


def test_pem_split_inside_body_across_feeds() -> None:
    redactor = StreamRedactor()
    out = redactor.feed(b"-----BEGIN PRIVATE KEY-----\nMIIE")
    out += redactor.feed(b"secret\nsecret2\n-----END PRIV")
    out += redactor.feed(b"ATE KEY-----\nok\n") + redactor.close()
    assert out == b"-----BEGIN PRIVATE KEY-----\n" + MASK + b"\n-----END PRIVATE KEY-----\nok\n"


# Documents for the streaming property: secrets, PEM blocks, look-alikes and
# non-UTF-8 bytes, in any order, with or without a final newline.
_LINES = st.sampled_from(
    [
        b"password=hunter2",
        b'<ds password="a b" user="u"/>',
        b"<password>x1</password>",
        b"jdbc:db2://h:50000/DB:user=u;password=p;",
        b"DSN=x;PWD=s3cr3t;",
        b"https://bob:pw@example.com/",
        b"{xor}Lz4sLCgwLTs=",
        b"DB2 v11.5.9.0",
        b'token "X" was found',
        b"passwd: files systemd",
        b"PWD=/home/db2inst1",
        b"-----BEGIN RSA PRIVATE KEY-----",
        b"-----END RSA PRIVATE KEY-----",
        b"-----BEGIN OPENSSH PRIVATE KEY-----",
        b"-----END OPENSSH PRIVATE KEY-----",
        b"MIIEpAIBAAKCAQEA",
        b"\x8e\x81\x84\x94 caf\xe9",
        b"",
    ]
)
_DOCUMENTS = st.builds(
    lambda lines, noise, tail: b"\n".join([*lines, noise]) + tail,
    st.lists(_LINES, max_size=25),
    st.binary(max_size=40),
    st.sampled_from([b"", b"\n"]),
)


@settings(database=None, max_examples=300, deadline=None)
@given(document=_DOCUMENTS, data=st.data())
def test_any_split_gives_the_same_output_and_counts(document: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(document)), max_size=10).map(sorted), label="cuts")
    whole = StreamRedactor()
    expected = whole.feed(document) + whole.close()

    pieces = StreamRedactor()
    out = b""
    for start, end in zip([0, *cuts], [*cuts, len(document)], strict=True):
        out += pieces.feed(document[start:end])
    out += pieces.close()

    assert out == expected
    assert pieces.counts == whole.counts


def test_non_utf8_bytes_pass_unchanged() -> None:
    data = b"Datei \x8e\x81\x84\x94 gel\xf6scht, caf\xe9 \xff\xfe\n"
    assert redact(data) == (data, {})


def test_non_utf8_bytes_around_a_secret_are_kept() -> None:
    out, _ = redact(b"\x8e\x81 password=s3\x84cret \x94\n")
    assert out == b"\x8e\x81 password=******** \x94\n"


def test_line_longer_than_max_line_is_streamed_not_buffered() -> None:
    redactor = StreamRedactor()
    piece = b"a" * (64 * 1024)
    fed = 0
    out = b""
    while fed < 3 * MAX_LINE:
        out += redactor.feed(piece)
        fed += len(piece)
        # Never more than one MAX_LINE held back, however long the line.
        assert fed - len(out) < MAX_LINE
    out += redactor.close()
    assert out == piece * (fed // len(piece))


def test_feed_holds_back_an_incomplete_line_until_close() -> None:
    redactor = StreamRedactor()
    assert redactor.feed(b"ok\npassword=hun") == b"ok\n"
    assert redactor.feed(b"ter2") == b""
    assert redactor.close() == b"password=********"
    assert redactor.counts == {"secret_key_value": 1}


def test_redact_bytes_returns_text_and_total_hits() -> None:
    assert redact_bytes(b"db2start --password=x1 --token y {xor}zz") == (
        b"db2start --password=******** --token y {xor}********",
        2,
    )


def test_redact_bytes_leaves_clean_text_alone() -> None:
    assert redact_bytes(b"db2level") == (b"db2level", 0)


@pytest.mark.parametrize("suffix", sorted(SECRET_SUFFIXES))
def test_secret_suffixes_are_refused(suffix: str) -> None:
    assert secret_file_reason(f"/opt/ibm/db2/security/key{suffix}") is not None


def test_secret_suffix_is_case_insensitive() -> None:
    assert secret_file_reason("/home/db2inst1/KEY.KDB") is not None


@pytest.mark.parametrize(
    "path",
    [
        *(f"/some/dir/{name}" for name in sorted(SECRET_NAMES)),
        "/etc/shadow",
        "/home/u/.pgpass",
        "/root/.ssh/id_rsa",
        "/root/.ssh/ID_ED25519",
        "/etc/ssh/ssh_host_rsa_key",
        "/etc/ssh/ssh_host_ed25519_key",
    ],
)
def test_secret_names_are_refused(path: str) -> None:
    assert secret_file_reason(path) is not None


def test_private_key_content_is_refused_under_an_innocent_name() -> None:
    head = b"# notes\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n"
    assert secret_file_reason("/tmp/notes.txt", head) == "contains a private key"


def test_pgp_private_key_block_content_is_refused() -> None:
    head = b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n"
    assert secret_file_reason("/tmp/backup.asc", head) is not None


@pytest.mark.parametrize(
    ("path", "head"),
    [
        ("/etc/hosts", b"127.0.0.1 localhost\n"),
        ("/etc/ssh/ssh_host_rsa_key.pub", b"ssh-rsa AAAA root@h\n"),
        ("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
        ("/tmp/cert.pem", b"-----BEGIN CERTIFICATE-----\nMIIC\n"),
        ("/var/log/db2diag.log", b""),
    ],
)
def test_normal_files_are_allowed(path: str, head: bytes) -> None:
    assert secret_file_reason(path, head) is None


def test_name_value_attribute_pairs_are_masked() -> None:
    text = (
        b'<parameter name="Password" value="s3cr3t-pw"/>\n'
        b'<parameter name="CommProtocol" value="TCPIP"/>\n'
    )
    out, hits = redact_bytes(text)
    assert b"s3cr3t-pw" not in out
    assert b'<parameter name="Password" value="********"/>' in out
    assert b'<parameter name="CommProtocol" value="TCPIP"/>' in out
    assert hits == 1


def test_pwd_is_masked_even_when_it_looks_like_a_directory() -> None:
    """db2cli.ini's PWD is a password; losing an env listing's cwd is the safe side."""
    assert redact(b"PWD=/s3cret\n") == (b"PWD=********\n", {"secret_key_value": 1})
