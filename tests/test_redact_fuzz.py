"""Property tests: random bytes and random configs through the redactor.

No crash, bounded output, the same result however the stream is cut, and no
generated secret survives in any of the formats the rules know."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.redact import BASELINE_RULES, MASK, StreamRedactor

SETTINGS = settings(database=None, max_examples=150, deadline=None)

KEYS = st.sampled_from(
    [
        "password",
        "passwd",
        "pwd",
        "PASSWORD",
        "db2.password",
        "bindPassword",
        "SSLClientKeystoreDBPassword",
        "keystorePassword",
        "trustStorePassword",
        "sslKeystash",
        "client_secret",
        "api_key",
        "apiKey",
        "auth_token",
        "credentials",
        "private_key",
        "DB_PASS",
    ]
)
# Secrets: a marker no rule or format adds, then random characters that may
# appear in real passwords (spaces, quotes, backslashes, separators, non-ASCII).
SECRETS = st.builds(
    lambda body: "Qz7" + body,
    st.text(
        alphabet=st.characters(
            min_codepoint=33, max_codepoint=0x24F, exclude_characters="\n\r<>\"'#\\*&;,"
        ),
        min_size=4,
        max_size=24,
    ),
)
PHRASES = st.builds(lambda a, b: f"{a} {b}", SECRETS, SECRETS)


def run(data: bytes, cuts: list[int]) -> tuple[bytes, dict[str, int]]:
    redactor = StreamRedactor(BASELINE_RULES)
    out = b""
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        out += redactor.feed(data[start:end])
    return out + redactor.close(), dict(redactor.counts)


def cut_points(data: st.DataObject, length: int) -> list[int]:
    return data.draw(st.lists(st.integers(0, length), max_size=8).map(sorted), label="cuts")


@SETTINGS
@given(blob=st.binary(max_size=4000), data=st.data())
def test_random_bytes_never_crash_and_stay_bounded(blob: bytes, data: st.DataObject) -> None:
    out, counts = run(blob, cut_points(data, len(blob)))
    whole, whole_counts = run(blob, [])
    assert (out, counts) == (whole, whole_counts)
    # A mask replaces at least one byte; at most a few masks and newlines per line.
    assert len(out) <= len(blob) + (blob.count(b"\n") + 1) * 4 * (len(MASK) + 1)


def key_value(key: str, secret: str) -> str:
    return f"{key}={secret}\n"


def colon(key: str, secret: str) -> str:
    return f"  {key}: {secret}\n"


def json_line(key: str, secret: str) -> str:
    return json.dumps({"user": "db2inst1", key: secret}) + "\n"


def xml_attribute(key: str, secret: str) -> str:
    return f'<dataSource user="u" {key}="{secret}" jndi="jdbc/x"/>\n'


def xml_element(key: str, secret: str) -> str:
    return f"<{key}>{secret}</{key}>\n"


def xml_split(key: str, secret: str) -> str:
    return f"<{key}>\n  {secret}\n</{key}>\n"


def yaml_block(key: str, secret: str) -> str:
    return f"{key}: |\n  {secret}\n  {secret[::-1]}\nnext: 1\n"


def cli_option(key: str, secret: str) -> str:
    return f"tool --{key} {secret.split()[0]} --verbose\n"


def connection_string(key: str, secret: str) -> str:
    return f"jdbc:db2://h:50000/DB:user=u;{key}={secret.split()[0]};\n"


FORMATS = st.sampled_from(
    [
        key_value,
        colon,
        json_line,
        xml_attribute,
        xml_element,
        xml_split,
        yaml_block,
        cli_option,
        connection_string,
    ]
)


@SETTINGS
@given(
    entries=st.lists(st.tuples(FORMATS, KEYS, st.one_of(SECRETS, PHRASES)), min_size=1, max_size=8),
    filler=st.lists(st.sampled_from(["DB2 v11.5.9.0\n", "SQL1224N  x\n", "\n", "ok\n"])),
    encoding=st.sampled_from(["utf-8", "cp1252", "cp850"]),
    data=st.data(),
)
def test_generated_secrets_never_survive(
    entries: list[tuple[object, str, str]], filler: list[str], encoding: str, data: st.DataObject
) -> None:
    text = "".join(fmt(key, secret) for fmt, key, secret in entries)  # type: ignore[operator]
    document = (text + "".join(filler)).encode(encoding, errors="replace")
    out, counts = run(document, cut_points(data, len(document)))
    assert (out, counts) == run(document, [])
    for _fmt, _key, secret in entries:
        for word in secret.split():
            assert word.encode(encoding, errors="replace") not in out
    for line in filler:
        assert line.encode() in out
