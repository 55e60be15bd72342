"""Obfuscation: every matcher case (positive and negative), consistency through
the map, prefix preservation, bytes in other encodings, streams, files, JSON
documents, the summary and the map file itself."""

from __future__ import annotations

import ipaddress
import json
import random
import stat
from pathlib import Path

import pytest

from collector.errors import BadInput
from collector.host import Host
from collector.obfuscate import (
    ObfuscatingStream,
    Obfuscator,
    obfuscate_file,
    parse_kinds,
    read_keyword_file,
    trie_pattern,
)
from collector.obfuscation_map import load_map, new_map
from collector.pseudonyms import Pseudonyms

ALL = ("hostnames", "ips", "macs", "users")
PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
prdinst:x:500:500:Db2 instance owner:/db2home/prdinst:/bin/ksh
mqm:x:1001:1001:MQ:/var/mqm:/bin/sh
jsmith:x:1000:1000:John Smith:/home/jsmith:/bin/bash
al:x:1002:1002::/home/al:/bin/bash
nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin
"""
HOSTS = """\
127.0.0.1   localhost localhost.localdomain
::1         ip6-localhost ip6-loopback
192.0.2.10  dbhost01.example.com dbhost01
192.0.2.11  dbhost02.example.com dbhost02   # standby
"""


def make_host(root: Path) -> Host:
    etc = root / "sysroot" / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hostname").write_text("dbhost01.example.com\n")
    (etc / "hosts").write_text(HOSTS)
    (etc / "resolv.conf").write_text("search corp.example.org\nnameserver 192.0.2.53\n")
    (etc / "passwd").write_text(PASSWD)
    (root / "sysroot" / "db2home" / "prdinst" / "sqllib").mkdir(parents=True)
    return Host(
        sysroot=root / "sysroot",
        env={"HOME": str(root / "home"), "XDG_STATE_HOME": str(root / "state")},
    )


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return make_host(tmp_path)


@pytest.fixture
def obfuscator(host: Host) -> Obfuscator:
    return Obfuscator.from_options(host, ALL, ["ACME"])


def run(obfuscator: Obfuscator, text: str) -> str:
    return obfuscator.block(text.encode()).decode()


# --- options -------------------------------------------------------------------


def test_kinds_are_validated() -> None:
    assert parse_kinds("hostnames, IPS") == {"hostnames", "ips"}
    assert parse_kinds("all") == set(ALL)
    with pytest.raises(BadInput, match="unknown kind 'hosts'"):
        parse_kinds("hosts,ips")
    with pytest.raises(BadInput, match="no kind"):
        parse_kinds(" , ")


def test_keyword_file_skips_comments_and_blanks(tmp_path: Path) -> None:
    words = tmp_path / "words"
    words.write_text("# customer names\nACME\n\n  Project Falcon  # codename\n")
    assert read_keyword_file(words) == ["ACME", "Project Falcon"]
    with pytest.raises(BadInput, match="cannot read keyword file"):
        read_keyword_file(tmp_path / "missing")


# --- host names ----------------------------------------------------------------


def test_fqdn_keeps_its_structure_and_agrees_with_the_short_name(obfuscator: Obfuscator) -> None:
    fqdn, short = run(obfuscator, "dbhost01.example.com dbhost01").split()
    host_label, domain_label, tld = fqdn.split(".")
    assert host_label == short and short.startswith("host-") and len(short) == len("host-") + 6
    assert domain_label.startswith("dom-") and tld == "com"


def test_one_domain_maps_one_way(obfuscator: Obfuscator) -> None:
    first, second, bare = run(
        obfuscator, "dbhost01.example.com db9.example.com example.com"
    ).split()
    assert first.split(".", 1)[1] == second.split(".", 1)[1] == bare


@pytest.mark.parametrize(
    "text",
    [
        "unknown9.example.com",  # any FQDN under a known domain
        "app.corp.example.org",  # a resolv.conf search domain
        "DBHOST02.EXAMPLE.COM",  # case-insensitive
        "backup of dbhost02: ok",
        "/var/log/dbhost01.log",
        "db2inst1@dbhost01:~",
        "x.dbhost01.example.com.",
    ],
)
def test_host_names_are_replaced(obfuscator: Obfuscator, text: str) -> None:
    out = run(obfuscator, text)
    for original in ("dbhost01", "dbhost02", "unknown9", "example", "corp"):
        assert original not in out.lower()
    assert "host-" in out or "dom-" in out


@pytest.mark.parametrize(
    "text",
    [
        "localhost localhost.localdomain ip6-localhost",
        "dbhost012 xdbhost01 dbhost01x",  # not a whole name
        "www.ibm.com",  # a domain the host does not know
        "example",  # a domain's first label alone is no host name
    ],
)
def test_other_names_stay(obfuscator: Obfuscator, text: str) -> None:
    assert run(obfuscator, text) == text


# --- users and keywords --------------------------------------------------------


def test_people_and_custom_instance_owners_are_replaced(obfuscator: Obfuscator) -> None:
    out = run(obfuscator, "/home/jsmith JSMITH prdinst owner")
    assert "jsmith" not in out.lower() and "prdinst" not in out
    assert out.count("user-") == 3


@pytest.mark.parametrize(
    "text",
    [
        "root daemon nobody",  # system accounts
        "/var/mqm owned by mqm",  # a product's fixed default account
        "al is here",  # too short to match safely
        "jsmithers prdinst2",  # longer words
    ],
)
def test_system_and_default_accounts_stay(obfuscator: Obfuscator, text: str) -> None:
    assert run(obfuscator, text) == text


def test_keywords_match_whole_words_case_insensitively(obfuscator: Obfuscator) -> None:
    out = run(obfuscator, "ACME acme-prod db.acme.com Acme_x ACMECorp")
    assert out.split()[-1] == "ACMECorp"
    assert out.lower().count("acme") == 1
    assert out.count("keyword-") == 4


def test_only_chosen_kinds_apply(host: Host) -> None:
    only_ips = Obfuscator.from_options(host, {"ips"})
    out = only_ips.block(b"dbhost01 jsmith 192.0.2.10 52:54:00:12:34:56\n").decode()
    assert out.startswith("dbhost01 jsmith ") and "192.0.2.10" not in out
    assert out.endswith("52:54:00:12:34:56\n")


# --- addresses -----------------------------------------------------------------

ADDRESSES = [
    "192.0.2.10",
    "connect to 10.20.30.40:50000",
    "inet 192.0.2.10/24 brd 192.0.2.255",
    "inet addr:192.0.2.10",
    "10.0.0.1-10.0.0.9",
    "host=192.0.2.10;",
    "reached 192.0.2.10.",
    "2001:db8::1",
    "[2001:db8:0:0:1:0:0:1]:443",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "::ffff:192.0.2.10",
]


@pytest.mark.parametrize("text", ADDRESSES)
def test_addresses_are_replaced(obfuscator: Obfuscator, text: str) -> None:
    out = run(obfuscator, text)
    assert out != text
    for original in ("192.0.2.10", "10.20.30.40", "10.0.0.1", "2001:db8", "85a3"):
        assert original not in out


NOT_ADDRESSES = [
    "DB2 v11.5.9.0",
    "Version: 9.0.5.2",
    "Version       9.0.5.14",
    "<version>9.0.5.14</version>",
    'version="11.5.9.0"',
    "fix pack 11.5.9.0",
    "Fixpack: 11.5.8.0",
    "Build level 9.3.0.5",
    "VRMF 9.3.0.17",
    "release 4.18.0.477",
    "11.5.9.0.1",  # a dotted run of five numbers
    "1.3.6.1.4.1.2.6",  # an OID
    "v9.0.5.2 DB2v11.5.9.0",  # glued to letters
    "2026-11-27-10.15.30.123456",  # Db2 timestamps
    "2026-11-27-10.15.30.123",
    "10:15:30 10:15:30.123",  # times
    "01.02.03.04 300.1.2.3",  # leading zeros, octets past 255
    "kernel.sem = 250 256000 32 4096",  # numeric settings
    "127.0.0.1 127.1.2.3 ::1 :: 0.0.0.0",  # loopback, unspecified
    "255.255.255.255 255.255.255.0 255.255.240.0",  # broadcast, netmasks
    "224.0.0.251 ff02::1",  # multicast
    "169.254.10.20 fe80::1%eth0",  # link-local
    "6:35:29:22:33:35:1:11",  # Db2 codepath data (eight decimal groups)
    "std::string Foo::Bar",
]


@pytest.mark.parametrize("text", NOT_ADDRESSES)
def test_versions_times_and_well_known_addresses_stay(obfuscator: Obfuscator, text: str) -> None:
    assert run(obfuscator, text) == text


def test_a_known_address_is_replaced_even_after_a_version_cue(host: Host, tmp_path: Path) -> None:
    mapping = tmp_path / "m.json"
    seeded = Obfuscator.for_map(new_map(mapping))
    seeded.seed("ip", "10.11.12.13")
    seeded.save()
    obfuscator = Obfuscator.from_options(host, {"ips"}, map_path=mapping)
    assert "10.11.12.13" not in run(obfuscator, "release 10.11.12.13")


def test_subnets_stay_subnets(obfuscator: Obfuscator) -> None:
    a, b, c, d = run(obfuscator, "192.0.2.10 192.0.2.11 10.1.0.5 10.2.0.5").split()
    assert a.rsplit(".", 1)[0] == b.rsplit(".", 1)[0] and a != b  # one /24 stays one /24
    assert c.split(".")[0] == d.split(".")[0]  # the same /8
    assert c.split(".")[:2] != d.split(".")[:2]  # different /16s stay different


def test_every_prefix_length_is_preserved() -> None:
    pseudonyms = Pseudonyms(bytes(range(32)))
    rng = random.Random(7)
    for _ in range(200):
        x, y = rng.getrandbits(32), rng.getrandbits(32)
        shared = 32 - (x ^ y).bit_length()
        fx, fy = pseudonyms.ip(x, 32), pseudonyms.ip(y, 32)
        assert 32 - (fx ^ fy).bit_length() == shared
        assert pseudonyms.invert_ip(fx, 32) == x
    v6 = int(ipaddress.IPv6Address("2001:db8::42"))
    assert pseudonyms.invert_ip(pseudonyms.ip(v6, 128), 128) == v6


def test_ipv6_keeps_its_prefix(obfuscator: Obfuscator) -> None:
    a, b = (ipaddress.IPv6Address(x) for x in run(obfuscator, "2001:db8::1 2001:db8::2").split())
    assert int(a) >> 2 == int(b) >> 2 and a != b


def test_macs_keep_the_vendor_half(obfuscator: Obfuscator) -> None:
    out = run(obfuscator, "link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n")
    mac = out.split()[1]
    assert mac.startswith("52:54:00:") and mac != "52:54:00:12:34:56"
    assert out.endswith("brd ff:ff:ff:ff:ff:ff\n")
    upper = run(obfuscator, "HWaddr 52-54-00-AB-CD-EF").split()[1]
    assert upper.startswith("52-54-00-") and upper.upper() == upper and "AB-CD-EF" not in upper


@pytest.mark.parametrize(
    ("text", "changed"),
    [
        ("00:00:00:00:00:00", False),
        ("36:17:35:29:35:30", False),  # Db2 codepath: decimal groups, no MAC cue
        ("link/ether 00:11:22:33:44:55", True),  # decimal, but named a MAC
        ("ether 0a:1b:2c:3d:4e:5f", True),
    ],
)
def test_mac_candidates(obfuscator: Obfuscator, text: str, changed: bool) -> None:
    assert (run(obfuscator, text) != text) is changed


def test_a_mac_derived_link_local_address_follows_its_mac(obfuscator: Obfuscator) -> None:
    mac, link_local = run(obfuscator, "52:54:00:ab:cd:ef fe80::5054:ff:feab:cdef").split()
    fake = bytes.fromhex(mac.replace(":", ""))
    iid = ipaddress.IPv6Address(link_local).packed[8:]
    assert iid == bytes([fake[0] ^ 2]) + fake[1:3] + b"\xff\xfe" + fake[3:]


# --- bytes, streams, files, documents ----------------------------------------


def test_other_encodings_pass_untouched_except_the_matches(obfuscator: Obfuscator) -> None:
    cp1252 = "Café “dbhost01” \u2013 192.0.2.10 ok\n".encode("cp1252")
    ebcdic_converted = b"\x81\x82\x83 \xc1\xc2 dbhost01 \xff\xfe\n"
    for data in (cp1252, ebcdic_converted):
        out = obfuscator.block(data)
        replaced = obfuscator.block(b"dbhost01")
        head, tail = data.split(b"dbhost01")
        assert out.startswith(head + replaced)
        if b"192.0.2.10" not in data:
            assert out == head + replaced + tail
        else:
            assert b"192.0.2.10" not in out and out.endswith(b" ok\n")


def test_a_stream_in_pieces_equals_one_block(obfuscator: Obfuscator) -> None:
    text = ("dbhost01.example.com 192.0.2.10 jsmith\n" * 50 + "52:54:00:12:34:56 dbhost02").encode()
    whole = obfuscator.block(text)
    rng = random.Random(3)
    stream = ObfuscatingStream(obfuscator)
    pieces, pos = [], 0
    while pos < len(text):
        step = rng.randint(1, 40)
        pieces.append(stream.feed(text[pos : pos + step]))
        pos += step
    assert b"".join(pieces) + stream.close() == whole


def test_obfuscate_file(obfuscator: Obfuscator, tmp_path: Path) -> None:
    source, target = tmp_path / "in.log", tmp_path / "out.log"
    source.write_bytes(b"from 192.0.2.11 by jsmith\n" * 1000)
    size, digest = obfuscate_file(source, target, obfuscator)
    data = target.read_bytes()
    assert size == len(data) and b"jsmith" not in data and b"192.0.2.11" not in data
    assert digest == __import__("hashlib").sha256(data).hexdigest()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_member_names_keep_their_shape(obfuscator: Obfuscator) -> None:
    name = "os/files/home/jsmith/dbhost01.example.com.log"
    out = obfuscator.path(name)
    assert out.count("/") == name.count("/") and out.startswith("os/files/home/user-")
    assert "dbhost01" not in out and out.endswith(".com.log")


def test_documents_keys_and_values(obfuscator: Obfuscator) -> None:
    document = {"host": {"hostname": "dbhost01"}, "jsmith": [1, "192.0.2.10", None, True]}
    out = obfuscator.document(document)
    assert "dbhost01" not in json.dumps(out) and "jsmith" not in json.dumps(out)
    assert (
        list(out) == ["host", obfuscator.text("jsmith")] and out["host"]["hostname"] != "dbhost01"
    )
    assert out[obfuscator.text("jsmith")][0::2] == [1, None]


def test_summary_counts_without_values(obfuscator: Obfuscator) -> None:
    run(obfuscator, "dbhost01 192.0.2.10 192.0.2.11 jsmith ACME 52:54:00:ab:cd:ef")
    summary = obfuscator.summary()
    assert summary["kinds"] == ["hostnames", "ips", "keywords", "macs", "users"]
    assert summary["counts"] == {"hostname": 1, "ip": 2, "keyword": 1, "mac": 1, "user": 1}
    assert summary["keywords"] == 1 and len(summary["map_id"]) == 12
    text = json.dumps(summary).lower()
    assert not any(v in text for v in ("dbhost01", "192.0", "jsmith", "acme", "52:54"))


# --- consistency and the map --------------------------------------------------


SAMPLE = "dbhost01.example.com dbhost02 10.1.2.3 2001:db8::7 jsmith 52:54:00:aa:bb:cc ACME\n"


def test_two_runs_with_one_map_agree(host: Host, tmp_path: Path) -> None:
    mapping = tmp_path / "case.map"
    first = Obfuscator.from_options(host, ALL, ["acme"], mapping)
    out = run(first, SAMPLE)
    first.save()
    second = Obfuscator.from_options(host, ALL, ["acme"], mapping)
    assert run(second, SAMPLE) == out
    other_key = Obfuscator.from_options(host, ALL, ["acme"], tmp_path / "other.map")
    assert run(other_key, SAMPLE) != out


def test_the_default_map_is_created_private_and_reused(host: Host) -> None:
    first = Obfuscator.from_options(host, {"hostnames"})
    path = host.state_dir / "obfuscation-map.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    out = run(first, "dbhost01")
    first.save()
    assert load_map(path).entries["hostname"]["dbhost01"] == out
    assert run(Obfuscator.from_options(host, {"hostnames"}), "dbhost01") == out


def test_names_learned_on_one_host_are_replaced_on_another(host: Host, tmp_path: Path) -> None:
    mapping = tmp_path / "case.map"
    seen_on_a = Obfuscator.from_options(host, {"hostnames"}, map_path=mapping)
    replaced = run(seen_on_a, "dbhost02")
    seen_on_a.save()
    other = make_host(tmp_path / "b")
    (other.sysroot / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    (other.sysroot / "etc" / "hostname").write_text("mqhost07\n")
    on_b = Obfuscator.from_options(other, {"hostnames"}, map_path=mapping)
    assert run(on_b, "talking to dbhost02") == f"talking to {replaced}"


def test_save_keeps_entries_written_meanwhile(host: Host, tmp_path: Path) -> None:
    mapping = tmp_path / "case.map"
    a = Obfuscator.from_options(host, {"hostnames"}, map_path=mapping)
    b = Obfuscator.from_options(host, {"users"}, map_path=mapping)
    run(a, "dbhost01")
    run(b, "jsmith")
    a.save()
    b.save()
    entries = load_map(mapping).entries
    assert "dbhost01" in entries["hostname"] and "jsmith" in entries["user"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"format": 2, "key": "00"}', "format 1 expected"),
        ('{"format": 1, "key": "abc"}', "not 64 hex digits"),
        ('{"format": 1, "key": "' + "ab" * 32 + '", "entries": {"host": {}}}', "unknown kind"),
        ('{"format": 1, "key": "' + "ab" * 32 + '", "entries": {"ip": {"a": 1}}}', "text to text"),
    ],
)
def test_a_bad_map_is_one_line_of_bad_input(
    host: Host, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.map"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(BadInput, match=message):
        Obfuscator.from_options(host, {"ips"}, map_path=path)


def test_a_map_others_can_read_is_refused(host: Host, tmp_path: Path) -> None:
    path = tmp_path / "open.map"
    new_map(path)
    path.chmod(0o644)
    with pytest.raises(BadInput, match="chmod 600"):
        Obfuscator.from_options(host, {"ips"}, map_path=path)


# --- the matcher ---------------------------------------------------------------


def test_the_trie_prefers_the_longest_literal() -> None:
    import re

    words = [b"db", b"dbhost01", b"dbhost01.example.com", b"dbhost02", b"abc"]
    regex = re.compile(trie_pattern(words) + rb"(?![a-z0-9])")
    assert [m.group(0) for m in regex.finditer(b"dbhost01.example.com dbhost01 db abc")] == [
        b"dbhost01.example.com",
        b"dbhost01",
        b"db",
        b"abc",
    ]
    assert regex.fullmatch(b"dbhost0") is None
