"""The redaction stage: rules, PEM blocks, streaming, and secret files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.redact import (
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
        {"inline_secret_value": 2},
    )


def test_already_masked_value_is_not_counted_again() -> None:
    for line in (b"password=" + MASK + b"\n", b"x password=" + MASK + b";\n"):
        assert redact(line) == (line, {})


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
        b"db2start --password=******** --token ******** {xor}********",
        3,
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


# --- values over several lines ------------------------------------------------------


def test_yaml_block_scalar_under_a_secret_key_is_dropped_across_feeds() -> None:
    document = b"db:\n  password: |\n    line one\n    line two\n\n  user: db2inst1\nport: 1\n"
    redactor = StreamRedactor()
    out = b"".join(redactor.feed(document[i : i + 7]) for i in range(0, len(document), 7))
    out += redactor.close()
    assert out == b"db:\n  password: ********\n  user: db2inst1\nport: 1\n"
    assert redactor.counts == {"yaml_secret_block": 1}


def test_yaml_block_scalar_at_the_end_of_the_file() -> None:
    assert redact(b"token: >\n  abc\n  def") == (b"token: ********\n", {"yaml_secret_block": 1})


def test_xml_element_split_over_lines_is_masked() -> None:
    out, counts = redact(b"<a>\n<bindPassword>\n  s3cr3t\n</bindPassword>\n<b>keep</b>\n")
    assert out == b"<a>\n<bindPassword>********\n</bindPassword>\n<b>keep</b>\n"
    assert counts == {"xml_secret_element_open": 1}


def test_one_line_json_pem_key_is_masked() -> None:
    line = b'{"key": "-----BEGIN PRIVATE KEY-----\\nMIIEsecret\\n-----END PRIVATE KEY-----\\n"}\n'
    out, counts = redact(line)
    assert b"MIIEsecret" not in out and counts == {PEM_RULE: 1}


# --- encodings and long lines --------------------------------------------------------


@pytest.mark.parametrize("codec", ["cp850", "cp1252", "latin-1"])
def test_legacy_code_pages_keep_every_other_byte(codec: str) -> None:
    text = "Kennwort für Müller: ok\npassword=Grüße€\nDatei gelöscht «ß»\n"
    if codec != "cp1252":
        text = text.replace("€", "")
    data = text.encode(codec)
    out, counts = redact(data)
    assert out == data.replace(text.split("=")[1].split("\n")[0].encode(codec), MASK)
    assert counts == {"secret_key_value": 1}


def test_ebcdic_converted_text_is_redacted() -> None:
    """EBCDIC logs arrive converted (cp037 -> ASCII); the rules see plain text."""
    data = "DB2CONN PASSWORD=ZOS1SEC  USER=IBMUSER\n".encode("cp037").decode("cp037").encode()
    out, _ = redact(data)
    assert b"ZOS1SEC" not in out and b"USER=IBMUSER" in out


def test_secret_at_the_end_of_a_very_long_line_is_masked() -> None:
    line = b"x" * (3 * MAX_LINE // 2) + b" password=deadbeef\n"
    redactor = StreamRedactor()
    out = b"".join(redactor.feed(line[i : i + 65536]) for i in range(0, len(line), 65536))
    out += redactor.close()
    assert b"deadbeef" not in out and len(out) == len(line)


# --- secret files by content ----------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"\xfe\xed\xfe\xed\x00\x00\x00\x02", "JKS"),
        (b"\xce\xce\xce\xce\x00\x00\x00\x02", "JCEKS"),
        (b"\x30\x82\x0a\x1b\x02\x01\x03\x30\x82\x09\xe1\x06\x09", "PKCS#12"),
        (b"\x30\x80\x02\x01\x03\x30\x80\x06\x09", "PKCS#12, BER indefinite length"),
        (b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00", "PKCS#1 RSA key, DER"),
        (b"\x30\x82\x04\xbe\x02\x01\x00\x30\x0d\x06\x09", "PKCS#8 key, DER"),
        (b"PuTTY-User-Key-File-2: ssh-rsa\n", "PuTTY key"),
        (b"root:$6$abc$def:19000:0:99999:7:::\n", "shadow copy"),
    ],
)
def test_binary_key_stores_are_refused_under_any_name(head: bytes, why: str) -> None:
    assert secret_file_reason("/db2/keystore/mystore", head) is not None, why


def test_a_der_certificate_is_not_a_key_store() -> None:
    certificate = b"\x30\x82\x03\x5d\x30\x82\x02\x45\xa0\x03\x02\x01\x02"
    assert secret_file_reason("/tmp/ca.der", certificate) is None


@pytest.mark.parametrize(
    "path",
    [
        "/etc/shadow.bak",
        "/etc/security/opasswd",
        "/etc/krb5.keytab",
        "/etc/ppp/chap-secrets",
        "/home/u/.htpasswd",
        "/opt/IBM/WebSphere/AppServer/profiles/AppSrv01/config/cells/c/trust.p12",
        "/home/db2inst1/keystore/db2inst1_keystore.p12",
    ],
)
def test_more_secret_files_are_refused(path: str) -> None:
    assert secret_file_reason(path) is not None
