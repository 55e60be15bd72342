"""The rule table documents itself: every rule (core and plugins) carries examples
it must mask and look-alikes it must keep, and each is run here. The checks also
hold the contract the leak scanner relies on: a masked value never matches again."""

from __future__ import annotations

import pytest

from collector.discovery import discover_plugins
from collector.redact import BASELINE_RULES, PEM_KEY_RULE, Rule, StreamRedactor

PLUGINS = discover_plugins().plugins
# Each rule with the table it runs in: the core's, or the core's plus its plugin's.
TABLES: dict[str, tuple[Rule, tuple[Rule, ...]]] = {
    rule.name: (rule, BASELINE_RULES) for rule in (PEM_KEY_RULE, *BASELINE_RULES)
}
for _plugin in PLUGINS.values():
    for _rule in _plugin.redaction_rules:
        TABLES[_rule.name] = (_rule, (*BASELINE_RULES, *_plugin.redaction_rules))

EXAMPLES = [
    pytest.param(name, source, expected, id=f"{name}-{index}")
    for name, (rule, _table) in sorted(TABLES.items())
    for index, (source, expected) in enumerate(rule.examples)
]
KEEPS = [
    pytest.param(name, kept, id=f"{name}-{index}")
    for name, (rule, _table) in sorted(TABLES.items())
    for index, kept in enumerate(rule.keeps)
]


def redact(data: bytes, rules: tuple[Rule, ...]) -> tuple[bytes, dict[str, int]]:
    redactor = StreamRedactor(rules)
    return redactor.feed(data) + redactor.close(), dict(redactor.counts)


def would_mask(text: bytes, rules: tuple[Rule, ...]) -> list[str]:
    """What the leak scanner does: on each line holding a rule's trigger, does
    the rule's pattern match something its replace would change?"""
    found = []
    for line in text.splitlines():
        lower = line.lower()
        for rule in rules:
            if not any(trigger in lower for trigger in rule.triggers):
                continue
            if any(rule.replace(m) != m.group(0) for m in rule.pattern.finditer(line)):
                found.append(rule.name)
    return found


def test_every_plugin_is_loaded() -> None:
    assert {"db2", "informix", "websphere", "mq", "domino"} <= set(PLUGINS)


def test_rule_names_are_unique() -> None:
    names = [rule.name for rule in (PEM_KEY_RULE, *BASELINE_RULES)]
    names += [rule.name for plugin in PLUGINS.values() for rule in plugin.redaction_rules]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_rule_documents_what_it_masks_and_keeps(name: str) -> None:
    rule = TABLES[name][0]
    assert rule.examples, f"{name} has no example of what it masks"
    assert rule.keeps, f"{name} has no example of what it must keep"
    assert rule.triggers and all(t == t.lower() for t in rule.triggers)


@pytest.mark.parametrize(("name", "source", "expected"), EXAMPLES)
def test_rule_masks_its_examples(name: str, source: bytes, expected: bytes) -> None:
    out, counts = redact(source, TABLES[name][1])
    assert out == expected
    assert counts.get(name, 0) >= 1, f"masked, but not by {name}: {counts}"


@pytest.mark.parametrize(("name", "kept"), KEEPS)
def test_rule_keeps_its_look_alikes(name: str, kept: bytes) -> None:
    assert redact(kept, TABLES[name][1]) == (kept, {})


@pytest.mark.parametrize(
    ("name", "source", "expected"), [p for p in EXAMPLES if p.values[0] != PEM_KEY_RULE.name]
)
def test_leak_scanner_sees_the_secret_before_and_nothing_after(
    name: str, source: bytes, expected: bytes
) -> None:
    table = TABLES[name][1]
    assert would_mask(source, table), "the scanner would not see this secret"
    assert would_mask(expected, table) == [], "a masked value matches again"


@pytest.mark.parametrize(("name", "kept"), KEEPS)
def test_leak_scanner_finds_nothing_in_look_alikes(name: str, kept: bytes) -> None:
    assert would_mask(kept, TABLES[name][1]) == []


# The issue's list, one line each: the secret (the second item) must go.
COVERAGE = [
    (b"password=p1\n", b"p1"),
    (b"passwd: p2\n", b"p2"),
    (b"pwd p3\n", b"p3"),
    (b'{"pass": "p4"}\n', b"p4"),
    (b"<secret>p5</secret>\n", b"p5"),
    (b'<a token="p6"/>\n', b"p6"),
    (b"apikey: p7\n", b"p7"),
    (b"api_key=p8\n", b"p8"),
    (b"credential = p9\n", b"p9"),
    (b"private_key: p10\n", b"p10"),
    (b"SSLClientKeystoreDBPassword=p11\n", b"p11"),
    (b'bindPassword="p12"\n', b"p12"),
    (b"keystorePassword: p13\n", b"p13"),
    (b"<trustStorePassword>p14</trustStorePassword>\n", b"p14"),
    (b"sslKeystash=p15\n", b"p15"),
    (b"x {xor}cDE2 y\n", b"cDE2"),
    (b"x {aes}cDE3 y\n", b"cDE3"),
    (b"x {custom:kms}cDE4 y\n", b"cDE4"),
    (b"jdbc:db2://h:50000/DB:user=u;password=p19;\n", b"p19"),
    (b"DRIVER={DB2};UID=u;PWD=p20;\n", b"p20"),
    (b"sftp://u:p21@h/x\n", b"p21"),
    (b"Authorization: Basic cDIy\n", b"cDIy"),
    (b"Authorization: Bearer p23.x\n", b"p23"),
    (b"Cookie: s=p24\n", b"p24"),
    (b"AKIAP25XXXXXXXXXXXXX\n", b"P25"),
    (b"aws_secret_access_key = p26/ABC\n", b"p26"),
    (b"eyJhbGciOiJ.eyJzdWIiOiI.p27sig\n", b"p27"),
    (b"mysql -u root -pp28\n", b"p28"),
    (b"wsadmin -password p29\n", b"p29"),
    (b"tool --password=p30\n", b"p30"),
    (b"export PGPASSWORD=p31\n", b"p31"),
    (b"db2 connect to S user u using p32\n", b"p32"),
    (b"echo p33 | passwd --stdin u\n", b"p33"),
    (b"LDAP_BIND_PW=p34\n", b"p34"),
    (b"machine h login u password p35\n", b"p35"),
    (b"client_secret: p36\n", b"p36"),
    (b"x-api-key: p37\n", b"p37"),
]


@pytest.mark.parametrize(("line", "secret"), COVERAGE)
def test_issue_list_is_covered(line: bytes, secret: bytes) -> None:
    out, counts = redact(line, BASELINE_RULES)
    assert secret not in out and counts


@pytest.mark.parametrize(
    "line",
    [
        b"DB2 v11.5.9.0 s2310270807 DYN2310270807AMD64\n",
        b"/opt/ibm/db2/V11.5/bin/db2start\n",
        b'SQL30082N  Security processing failed with reason "24" '
        b'("USERNAME AND/OR PASSWORD INVALID").\n',
        b"password_max_age=90\n",
        b"passwd:         files systemd\n",
        b"password\trequisite\tpam_pwquality.so retry=3\n",
        b"password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n",
        b"@include common-password\n",
        b"PasswordAuthentication no\n",
        b"at com.ibm.ws.security.PasswordUtil.decode(PasswordUtil.java:259)\n",
    ],
)
def test_precision_lines_stay(line: bytes) -> None:
    assert redact(line, BASELINE_RULES) == (line, {})
