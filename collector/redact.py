"""The redaction stage: every byte that enters a bundle passes through here.

One table of rules, applied to a byte stream in blocks of whole lines, so logs of
any size and any encoding go through in bounded memory without touching bytes
that no rule matches. Each rule carries its own examples (what it masks) and
keeps (look-alikes it must leave alone); tests/test_redact_rules.py runs them
all, so the table documents itself. Plugins never redact on their own; they may
add rules. Secret *files* (keystores, stash files, private keys) are refused
before they are read at all, see `secret_file_reason`.

Speed: one lower-cased copy of each block is searched once per distinct trigger
(the shortest of any triggers that contain one another); only the lines holding
a trigger meet the regexes, and only those of the rules whose triggers they hold.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from ahocorasick_rs import BytesAhoCorasick

MASK = b"********"

# Key names whose value is a secret. Matched inside longer names too
# (bindPassword, SSLClientKeystoreDBPassword, db2.api_key, LDAP_BIND_PW...), but
# `pass` only as a whole word part (DB_PASS, storepass; not bypass, compass).
SECRET_KEY = (
    rb"[\w.-]*?(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|credential"
    rb"|private_?key|keystash|authtok|psk"
    rb"|(?:bind|root|ldap|admin|db|user|ssl|smtp|proxy|mail|server)[_.-]?pw(?![a-z]))[\w.-]*"
    rb"|(?:[\w.-]*[_.-])?(?:store|key|src|dest|srcstore|deststore|new|old|auth)?pass(?![a-z])[\w.-]*"
)
# OLDPWD in an environment listing is a directory, never a password. (PWD is
# also db2cli.ini's password key, so PWD=/home/x is masked: safe over precise.)
_CWD_KEYS = {b"oldpwd"}
# Names that contain a secret word but hold a setting about secrets, not one:
# ipfrag_secret_interval, password_max_age, PASS_WARN_AGE, PasswordFile...
_SETTING_SUFFIX = re.compile(
    rb"(?:passw(?:or)?d|pass|pwd|pw|secret|token|credential|psk)s?[_.-]?(?:\w*?[_.-]?)"
    rb"(?:interval|timeout|length|len|policy|expir\w*|age|days|max\w*|min\w*|count|attempts"
    rb"|retries|tries|lifetime|files?|path|dir|type|mode|enabled|required|encoding|algorithm"
    rb"|hash\w*|format|prompt|auth\w*|flags|warn\w*|history|complexity|quality|check|reuse"
    rb"|lock\w*|chars|strength|size|ttl|refresh)$",
    re.IGNORECASE,
)
# PasswordUtil.java:123 in a stack trace is a source line, not key: value.
_SOURCE_FILE = re.compile(rb"\.(?:java|kt|scala|groovy|py|c|cc|cpp|h|js|ts|go|rs)$", re.IGNORECASE)
# Values that are not secrets whatever the key says (nsswitch.conf's
# "passwd: files systemd", "password: required" in PAM, booleans, states).
_PLACEHOLDERS = frozenset(
    b"files compat systemd sss ldap nis none null true false yes no on off required optional"
    b" requisite sufficient include substack * dns myhostname winbind db resolve mymachines"
    b" altfiles mdns4_minimal mdns4 expired changed invalid incorrect accepted rejected denied"
    b" unset missing ok failed updated prompt never".split()
)


def _is_placeholder(value: bytes) -> bool:
    """Every word is a known non-secret (nsswitch sources and actions, booleans)."""
    words = value.lower().split()
    return bool(words) and all(
        word in _PLACEHOLDERS or (word.startswith(b"[") and word.endswith(b"]")) for word in words
    )


Example = tuple[bytes, bytes]


@dataclass(frozen=True)
class Rule:
    """A named redaction. `triggers` are lower-case literals, one of which must
    occur in a line for the pattern to match it: they let the stream skip the
    regex on the vast majority of log lines.

    `replace(match)` returns the match unchanged when it decides the value is not
    a secret; what it returns otherwise never matches again as a secret.
    `examples` are (input, output) pairs the rule must produce and `keeps` are
    inputs it must leave alone; tests run both. `until`, for values that go on
    over the next lines (YAML block scalars, PEM keys), gives the pattern whose
    match ends the value: everything up to it is dropped.
    """

    name: str
    pattern: re.Pattern[bytes]
    replace: Callable[[re.Match[bytes]], bytes]
    triggers: tuple[bytes, ...]
    examples: tuple[Example, ...] = ()
    keeps: tuple[bytes, ...] = ()
    until: Callable[[re.Match[bytes]], re.Pattern[bytes]] | None = None


def mask_secret_value(match: re.Match[bytes]) -> bytes:
    """Replacement for rules with `lead`, `key`, `val` and `trail` groups: masks
    the value unless the key names a setting about secrets (password_max_age) or
    the value is a known non-secret (files, yes, none)."""
    key, value = match.group("key"), match.group("val")
    if key.lower() in _CWD_KEYS and value.startswith(b"/"):
        return match.group(0)
    if _SETTING_SUFFIX.search(key) or _SOURCE_FILE.search(key) or _is_placeholder(value):
        return match.group(0)
    return match.group("lead") + MASK + match.group("trail")


def _mask_quoted(match: re.Match[bytes]) -> bytes:
    """mask_secret_value for a quoted value: the quotes stay."""
    if mask_secret_value(match) == match.group(0):
        return match.group(0)
    return match.group("lead") + match.group("q") + MASK + match.group("trail")


def mask_value(match: re.Match[bytes]) -> bytes:
    """Replacement for rules with `lead`, `val` and `trail` groups whose match
    is always a secret (a URL's password, an encoded password)."""
    return match.group("lead") + MASK + match.group("trail")


def make_rule(
    name: str,
    pattern: bytes,
    replace: Callable[[re.Match[bytes]], bytes],
    triggers: tuple[bytes, ...],
    *,
    examples: tuple[Example, ...] = (),
    keeps: tuple[bytes, ...] = (),
    until: Callable[[re.Match[bytes]], re.Pattern[bytes]] | None = None,
    flags: int = re.IGNORECASE,
) -> Rule:
    """A rule for the table: case-insensitive unless told, ^/$ at line
    boundaries. Plugins build their `redaction_rules` with it."""
    return Rule(
        name,
        re.compile(pattern, flags | re.MULTILINE),
        replace,
        triggers,
        examples,
        keeps,
        until,
    )


_SECRET_KEY_TRIGGERS = (
    b"pass",
    b"pwd",
    b"pw",
    b"secret",
    b"token",
    b"api",
    b"credential",
    b"private",
    b"keystash",
    b"authtok",
    b"psk",
)
# A value that is not quoted: backslash escapes count as part of it, so a JSON
# string's \" never ends a value half-way (the fact files are JSON).
_BARE = rb"(?:\\[^\n]|[^\s\"'\\<>;,&\x00])+"
# A quoted value: anything up to the same unescaped quote.
_QUOTED = rb"(?P<q>[\"'])(?P<val>(?!\*{8}(?P=q))(?:\\[^\n]|(?!(?P=q))[^\\\n])+)(?P<trail>(?P=q))"
# Rest of a line, keeping a ` # comment` (YAML, shell, ini).
_REST = rb"[^\n]*?)(?P<trail>(?:[ \t]+#[^\n]*)?[ \t]*\r?$)"


@lru_cache(maxsize=64)
def _dedent_end(column: int) -> re.Pattern[bytes]:
    """The first line that is not blank and not indented past `column`."""
    return re.compile(rb"^(?=[ \t]{0,%d}[^ \t\r\n])" % column, re.MULTILINE)


def _yaml_block_end(match: re.Match[bytes]) -> re.Pattern[bytes]:
    return _dedent_end(match.start("key") - match.start())


_NEXT_TAG = re.compile(rb"<")


def _mask_cookies(match: re.Match[bytes]) -> bytes:
    """Cookie values masked pair by pair; Set-Cookie attributes stay."""

    def pair(item: re.Match[bytes]) -> bytes:
        if item.group(1).strip().lower() in _COOKIE_ATTRIBUTES:
            return item.group(0)
        return item.group(1) + b"=" + MASK

    masked = _COOKIE_PAIR.sub(pair, match.group("val"))
    return match.group("lead") + masked + match.group("trail")


_COOKIE_PAIR = re.compile(rb"([^=;,]+)=[^;,]*")
_COOKIE_ATTRIBUTES = frozenset({b"path", b"domain", b"expires", b"max-age", b"samesite"})


def _mask_high_entropy(match: re.Match[bytes]) -> bytes:
    """Only values that look random: several character classes, high entropy."""
    value = match.group("val")
    classes = sum(
        any(test(chr(byte)) for byte in value) for test in (str.islower, str.isupper, str.isdigit)
    )
    if classes < 2 or _entropy(value) < 3.5 or _SETTING_SUFFIX.search(match.group("key")):
        return match.group(0)
    return match.group("lead") + MASK


def _entropy(value: bytes) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _mask_new_password(match: re.Match[bytes]) -> bytes:
    return match.group("lead") + MASK + match.group("mid") + MASK


BASELINE_RULES: tuple[Rule, ...] = (
    # --- values that go on over the next lines ---------------------------------
    make_rule(
        "yaml_secret_block",
        rb"^(?P<lead>[ \t]*(?:-[ \t]+)?[\"']?(?P<key>" + SECRET_KEY + rb")[\"']?[ \t]*:[ \t]*)"
        rb"(?P<val>[|>][-+0-9]*)(?P<trail>[ \t]*(?:#[^\n]*)?\r?)$",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b"db:\n  password: |\n    two\n    lines\n  user: u\n",
                b"db:\n  password: ********\n  user: u\n",
            ),
            (b"- token: >-\n    abc\n\n    def\nnext: 1\n", b"- token: ********\nnext: 1\n"),
        ),
        keeps=(b"password_policy: |\n  at least 8 characters\n",),
        until=_yaml_block_end,
    ),
    make_rule(
        "xml_secret_element_open",
        rb"(?P<lead><(?:[\w.-]+:)?(?P<key>" + SECRET_KEY + rb")(?:[ \t][^<>\n]*)?(?<!/)>)"
        rb"(?P<val>(?![ \t]*\*{8})[^<\n]*?)(?P<trail>[ \t]*\r?)$",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (b"<password>\n  s3cr3t\n</password>\n", b"<password>********\n</password>\n"),
            (
                b"<bindPassword>abc\ndef</bindPassword>\n",
                b"<bindPassword>********\n</bindPassword>\n",
            ),
        ),
        keeps=(b"<passwordPolicy>\n  <minLength>8</minLength>\n</passwordPolicy>\n",),
        until=lambda _match: _NEXT_TAG,
    ),
    # --- key and value on one line ------------------------------------------
    # password="a b c" / password='x' / "password": "x" (XML attributes, quoted
    # ini and shell values, JSON)
    make_rule(
        "quoted_secret_value",
        rb"(?P<lead>\b(?P<key>"
        + SECRET_KEY
        + rb")[\"']?[ \t]*(?:[:=]|=>)[ \t]*(?=[\"']))"
        + _QUOTED,
        _mask_quoted,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b'<ds user="db2inst1" password="se cret" jndi="x"/>\n',
                b'<ds user="db2inst1" password="********" jndi="x"/>\n',
            ),
            (
                b'{"password": "it\'s \\"x\\"", "user": "u"}\n',
                b'{"password": "********", "user": "u"}\n',
            ),
            (b"export DB_PASSWORD='x y'\n", b"export DB_PASSWORD='********'\n"),
            (b'keystorePassword => "k1"\n', b'keystorePassword => "********"\n'),
        ),
        keeps=(b'"password_max_age": "90"\n', b'nsswitch passwd="files"\n'),
    ),
    # <parameter name="Password" value="x"/> (db2dsdriver.cfg, WebSphere custom properties)
    make_rule(
        "named_secret_value",
        rb"(?P<lead>\bname[ \t]*=[ \t]*(?P<nq>[\"'])(?P<key>" + SECRET_KEY + rb")(?P=nq)"
        rb"[ \t]+value[ \t]*=[ \t]*(?=[\"']))" + _QUOTED,
        _mask_quoted,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b'<parameter name="Password" value="pw 99"/>\n',
                b'<parameter name="Password" value="********"/>\n',
            ),
            (
                b'<parameter name="SSLClientKeystash" value="/k.sth"/>\n',
                b'<parameter name="SSLClientKeystash" value="********"/>\n',
            ),
        ),
        keeps=(
            b'<parameter name="CommProtocol" value="TCPIP"/>\n',
            b'<parameter name="PasswordTimeout" value="30"/>\n',
        ),
    ),
    # <entry key="password">x</entry>, <property name="password">x</property>
    make_rule(
        "xml_keyed_element",
        rb"(?P<lead>\b(?:key|name)[ \t]*=[ \t]*(?P<q>[\"'])(?P<key>" + SECRET_KEY + rb")(?P=q)"
        rb"[^<>\n]*(?<!/)>)(?P<val>(?!\*{8})[^<\n]+)(?P<trail><)",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b'<entry key="db.password">pw1</entry>\n',
                b'<entry key="db.password">********</entry>\n',
            ),
        ),
        keeps=(b'<entry key="db.user">db2inst1</entry>\n',),
    ),
    # <password>x</password>, <wsse:Password Type="...">x</wsse:Password>
    make_rule(
        "xml_secret_element",
        rb"(?P<lead><(?:[\w.-]+:)?(?P<key>" + SECRET_KEY + rb")(?:[ \t][^<>\n]*)?(?<!/)>)"
        rb"(?P<val>(?!\*{8})[^<\n]+)(?P<trail></)",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (b"<bindPassword>hunter2</bindPassword>\n", b"<bindPassword>********</bindPassword>\n"),
            (
                b'<wsse:Password Type="x">p w</wsse:Password>\n',
                b'<wsse:Password Type="x">********</wsse:Password>\n',
            ),
        ),
        keeps=(b"<passwordExpiryDays>90</passwordExpiryDays>\n", b"<password/>\n"),
    ),
    # Authorization: Basic/Bearer/... x (HTTP headers, curl -H, JSON)
    make_rule(
        "http_authorization",
        rb"(?P<lead>\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
        rb"(?:(?:basic|bearer|digest|negotiate|ntlm|token|aws4-hmac-sha256|ltpa\w*)[ \t]+)?)"
        rb"(?P<val>(?!\*{8})(?![\w-]+[ \t]+\*{8})[^\s\"',;][^\n\"']*?)(?P<trail>[\"']|[ \t]*\r?$)",
        mask_value,
        (b"authorization",),
        examples=(
            (b"Authorization: Basic dXNlcjpwYXNz\n", b"Authorization: Basic ********\n"),
            (
                b"Proxy-Authorization: Negotiate YII=\n",
                b"Proxy-Authorization: Negotiate ********\n",
            ),
            (
                b'curl -H "authorization: Bearer ab.cd" x\n',
                b'curl -H "authorization: Bearer ********" x\n',
            ),
        ),
        keeps=(b"Authorization failed for user db2inst1\n",),
    ),
    # Cookie: a=b; c=d / Set-Cookie: LtpaToken2=x; Path=/
    make_rule(
        "http_cookie",
        rb"(?P<lead>\b(?:set-)?cookie[\"']?[ \t]*:[ \t]*[\"']?)(?P<val>[^\n\"']*?=[^\n\"']*?)"
        rb"(?P<trail>[\"']|[ \t]*\r?$)",
        _mask_cookies,
        (b"cookie",),
        examples=(
            (
                b"Cookie: JSESSIONID=0000ab:1; LtpaToken2=xyz\n",
                b"Cookie: JSESSIONID=********; LtpaToken2=********\n",
            ),
            (
                b"Set-Cookie: sid=s3; Path=/; HttpOnly\n",
                b"Set-Cookie: sid=********; Path=/; HttpOnly\n",
            ),
        ),
        keeps=(b"cookie policy: strict\n",),
    ),
    # YAML-style `password: two words  # comment`: the value is the rest of the line
    make_rule(
        "yaml_secret_value",
        rb"(?P<lead>^[ \t]*(?:-[ \t]+)?(?P<key>" + SECRET_KEY + rb"):[ \t]+)"
        rb"(?P<val>(?!\*{8})[^\s\"'#|>&*!{\[]" + _REST,
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b"  bind_password: two words  # from the vault\n",
                b"  bind_password: ********  # from the vault\n",
            ),
            (b"- apikey: ab#cd\n", b"- apikey: ********\n"),
        ),
        keeps=(b"passwd: files systemd\n", b"password: required\n"),
    ),
    # password=x y at the start of a line (properties, ini, db2cli.ini, shell):
    # the value is the rest of the line
    make_rule(
        "secret_key_value",
        rb"^(?P<lead>[ \t]*(?:export[ \t]+|set[ \t]+|setenv[ \t]+)?(?P<key>" + SECRET_KEY + rb")"
        rb"[ \t]*=[ \t]*)(?P<val>(?!\*{8})[^\s\"'>]" + _REST,
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b"db2.password=hun ter;2 # set by installer\n",
                b"db2.password=******** # set by installer\n",
            ),
            (b"PWD=s3cr3t\r\n", b"PWD=********\r\n"),
            (
                b"com.ibm.SOAP.loginPassword={xor}Lz4sLCgwLTs\\=\n",
                b"com.ibm.SOAP.loginPassword=********\n",
            ),
        ),
        keeps=(b"password_max_age=90\n", b"OLDPWD=/tmp\n", b"PasswordFile=/etc/db2/pw.txt\n"),
    ),
    # --password x, -pw x, -storepass x (argv in shell history, ps, scripts)
    make_rule(
        "cli_secret_option",
        rb"(?P<lead>(?<![\w-])--?(?P<key>" + SECRET_KEY + rb"|pw)(?:=|[ \t]+))"
        rb"(?P<val>(?!\*{8})(?:\"[^\"\n]*\"|'[^'\n]*'|(?!-)" + _BARE + rb"))(?P<trail>)",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b"wsadmin.sh -user admin -password s3 -lang jython\n",
                b"wsadmin.sh -user admin -password ******** -lang jython\n",
            ),
            (
                b"gsk8capicmd -keydb -create -db k.kdb -pw 'p w' -stash\n",
                b"gsk8capicmd -keydb -create -db k.kdb -pw ******** -stash\n",
            ),
            (b"keytool -list -storepass changeit\n", b"keytool -list -storepass ********\n"),
            (b"tool --password=x1 --token y2\n", b"tool --password=******** --token ********\n"),
        ),
        keeps=(b"tool --password-file /etc/pw --verbose\n", b"ssh -p 22 host\n"),
    ),
    # password=x, password: x, PWD=x; anywhere (connection strings, argv, logs)
    make_rule(
        "inline_secret_value",
        rb"(?P<lead>\b(?P<key>" + SECRET_KEY + rb")[\"']?[ \t]*[:=][ \t]*)"
        rb"(?P<val>(?!\*{8})" + _BARE + rb")(?P<trail>)",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b"jdbc:db2://h:50000/DB:user=u;password=p4ss;\n",
                b"jdbc:db2://h:50000/DB:user=u;password=********;\n",
            ),
            (b"DSN=SAMPLE;UID=db2inst1;PWD=s3cr3t;\n", b"DSN=SAMPLE;UID=db2inst1;PWD=********;\n"),
            (b"A=1\x00DB_PASS=x\x00B=2\n", b"A=1\x00DB_PASS=********\x00B=2\n"),
            (
                b"mount -o username=u,password=p //h/s\n",
                b"mount -o username=u,password=******** //h/s\n",
            ),
        ),
        keeps=(
            b"net.ipv4.ipfrag_secret_interval = 600\n",
            b"bypass=yes compass=north\n",
            b"token_expiry=30\n",
            b'SQL0104N  An unexpected token "X" was found following "SELECT".\n',
        ),
    ),
    # `password x` alone on a line: .netrc, ldap.conf BINDPW, onconfig-style files
    make_rule(
        "secret_key_space_value",
        rb"^(?P<lead>[ \t]*(?P<key>" + SECRET_KEY + rb")[ \t]+)"
        rb"(?P<val>(?!\*{8})[^\s=:#\"'][^\s\"']*)(?P<trail>[ \t]*\r?)$",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (b"password hunter2\n", b"password ********\n"),
            (b"BINDPW s3cr3t\n", b"BINDPW ********\n"),
            (b"rootpw {SSHA}abc\n", b"rootpw ********\n"),
        ),
        keeps=(
            b"PASS_MAX_DAYS\t99999\n",
            b"PermitEmptyPasswords no\n",
            b"password requisite pam_pwquality.so retry=3\n",
            b"Password expired\n",
        ),
    ),
    # `token ghp_...` / `secret is ...`: a long random value right after a secret-ish word
    make_rule(
        "secret_key_token_value",
        rb"(?P<lead>\b(?P<key>"
        + SECRET_KEY
        + rb")[\"']?(?:[ \t]*(?:[:=]>?|=>)[ \t]*|[ \t]+(?:is[ \t]+)?)"
        rb"[\"']?)(?P<val>(?!\*{8})[A-Za-z0-9+/_.~-]{20,}={0,2})",
        _mask_high_entropy,
        _SECRET_KEY_TRIGGERS,
        examples=(
            (
                b"using token ghp_R4nd0mT0k3nV4lu3Xy9Zq1 for the API\n",
                b"using token ******** for the API\n",
            ),
            (b"api secret is Zx81kLm29QpR7tYb3NcV\n", b"api secret is ********\n"),
        ),
        keeps=(
            b"token sqlrr_process_fetch_request was found\n",
            b"the secret is aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
        ),
    ),
    # MQSC: DEFINE AUTHINFO(x) LDAPPWD('x'), PASSWORD('x')
    make_rule(
        "mqsc_secret_value",
        rb"(?P<lead>\b(?P<key>(?:LDAP|SSL)?(?:PASSWORD|PWD|PASSWD))\([ \t]*(?P<q>'?))"
        rb"(?P<val>(?!'?\*{8})(?:(?!(?P=q)[ \t]*\))[^\n)\"])+)(?P<trail>(?P=q)[ \t]*\))",
        mask_secret_value,
        (b"pass", b"pwd"),
        examples=(
            (
                b"DEFINE AUTHINFO(LDAP) AUTHTYPE(IDPWLDAP) LDAPPWD('p w')\n",
                b"DEFINE AUTHINFO(LDAP) AUTHTYPE(IDPWLDAP) LDAPPWD('********')\n",
            ),
            (b"ALTER CHLAUTH PASSWORD(x)\n", b"ALTER CHLAUTH PASSWORD(********)\n"),
        ),
        keeps=(b"at com.ibm.ws.security.PasswordUtil.decode(PasswordUtil.java:123)\n",),
    ),
    # machine h login u password p (one-line .netrc, ftp scripts)
    make_rule(
        "netrc_password",
        rb"(?P<lead>\b(?:login|user|account)[ \t]+[^\s\"']+[ \t]+(?:password|passwd)[ \t]+)"
        rb"(?P<val>(?!\*{8})" + _BARE + rb")(?P<trail>)",
        mask_value,
        (b"pass",),
        examples=(
            (
                b"machine h login bob password s3 port 21\n",
                b"machine h login bob password ******** port 21\n",
            ),
        ),
        keeps=(b"login incorrect, check the password\n",),
    ),
    # db2 connect to X user U using P / attach to N user U using P
    make_rule(
        "db2_using_password",
        rb"(?P<lead>\buser[ \t]+[^\s\"']+[ \t]+using[ \t]+)(?P<val>(?!\*{8})[^\s'\";]+)(?P<trail>)",
        mask_value,
        (b"using",),
        examples=(
            (
                b'db2 "connect to SAMPLE user db2inst1 using s3cret"\n',
                b'db2 "connect to SAMPLE user db2inst1 using ********"\n',
            ),
        ),
        keeps=(b"db2 update dbm cfg using DIAGLEVEL 4\n",),
    ),
    # ... using OLD new NEW confirm NEW (changing a password while connecting)
    make_rule(
        "db2_new_password",
        rb"(?P<lead>\bnew[ \t]+)(?P<val>(?!\*{8})[^\s'\";]+)(?P<mid>[ \t]+confirm[ \t]+)"
        rb"(?P<val2>[^\s'\";]+)",
        lambda m: m.group(0) if m.group("val2") == MASK else _mask_new_password(m),
        (b"using",),
        examples=(
            (
                b"db2 connect to S user u using ******** new n3w confirm n3w\n",
                b"db2 connect to S user u using ******** new ******** confirm ********\n",
            ),
        ),
        keeps=(b"a new tablespace; confirm it exists\n",),
    ),
    # mysql -pSECRET, sshpass -p SECRET
    make_rule(
        "mysql_password_option",
        # The gap stops at a backslash too: in JSON (the manifest) a history is
        # one string whose lines end in a literal \n.
        rb"(?P<lead>\b(?:mysql\w*|sshpass)\b[^\n|;&\\]*?[ \t]-p[ \t]*)"
        rb"(?P<val>(?!\*{8})(?!-)[^\s\"']+)(?P<trail>)",
        mask_value,
        (b"mysql", b"sshpass"),
        examples=(
            (b"mysql -u root -pS3cret db\n", b"mysql -u root -p******** db\n"),
            (b"sshpass -p s3 ssh host\n", b"sshpass -p ******** ssh host\n"),
        ),
        keeps=(
            b"mysql --port=3306 -h db\n",
            b'"sshpass -p ******** ssh h\\n$ gsk8capicmd_64 -list -db key.kdb -pw ********"\n',
        ),
    ),
    # echo secret | passwd --stdin user / chpasswd / sudo -S / docker login
    make_rule(
        "piped_password",
        rb"(?P<lead>\becho[ \t]+(?:-[en]+[ \t]+)?)"
        rb"(?P<val>(?!\*{8})(?:'[^'\n]*'|\"(?:\\[^\n]|[^\"\\\n])*\"|(?:\\[^\n]|[^\s\"'\\|])+))"
        rb"(?P<trail>[ \t]*\|[ \t]*(?=(?:sudo[ \t]+)?(?:passwd|chpasswd)\b|sudo[ \t]+-S\b"
        rb"|(?:docker|podman|helm)[ \t]+(?:registry[ \t]+)?login\b))",
        mask_value,
        (b"echo",),
        examples=(
            (
                b"echo S3cret | passwd --stdin db2inst1\n",
                b"echo ******** | passwd --stdin db2inst1\n",
            ),
            (b"echo 'u:p w' | sudo chpasswd\n", b"echo ******** | sudo chpasswd\n"),
            (b"echo pw | sudo -S ls\n", b"echo ******** | sudo -S ls\n"),
        ),
        keeps=(b"echo hello | tee /tmp/x\n",),
    ),
    # scheme://user:secret@host
    make_rule(
        "url_credentials",
        rb"(?P<lead>\b[a-z][a-z0-9+.-]*://[^\s/:@\"'<>]+:)(?P<val>(?!\*{8}@)[^\s/?#\"'<>]+)(?P<trail>@)",
        mask_value,
        (b"://",),
        examples=(
            (
                b"fetching https://bob:hunter2@repo.example.com/x.tgz\n",
                b"fetching https://bob:********@repo.example.com/x.tgz\n",
            ),
            (
                b"ldap://cn=admin:p@ss@ldap.example.com\n",
                b"ldap://cn=admin:********@ldap.example.com\n",
            ),
        ),
        keeps=(b"see https://example.com/path:with@sign/x\n", b"http://db2host:50000/x\n"),
    ),
    # Authorization-less bearer tokens in text: "Bearer abc..."
    make_rule(
        "bearer_token",
        rb"(?P<lead>\bbearer[ \t]+)(?P<val>(?!\*{8})[A-Za-z0-9._~+/-]{16,}=*)(?P<trail>)",
        mask_value,
        (b"bearer",),
        examples=((b"sent Bearer abcdefghijklmnop123 to x\n", b"sent Bearer ******** to x\n"),),
        keeps=(b"the bearer token was refused\n",),
    ),
    make_rule(
        "jwt",
        rb"(?P<lead>)(?P<val>\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)(?P<trail>)",
        mask_value,
        (b"eyj",),
        examples=((b"id=eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl end\n", b"id=******** end\n"),),
        keeps=(b"eyJust a word\n",),
        flags=0,
    ),
    # AWS access key ids (long-term AKIA, temporary ASIA); the secret key is a
    # secret_key_value (aws_secret_access_key=...).
    make_rule(
        "aws_access_key_id",
        rb"(?P<lead>\b(?:AKIA|ASIA))(?P<val>[A-Z0-9]{16})(?P<trail>\b)",
        mask_value,
        (b"akia", b"asia"),
        examples=((b"key AKIAIOSFODNN7EXAMPLE used\n", b"key AKIA******** used\n"),),
        keeps=(b"TZ=Asia/Tokyo\n", b"ASIAN_MARKETS_2024\n"),
        flags=0,
    ),
    # WebSphere / Liberty encoded passwords: {xor}..., {aes}..., {custom:x}...
    make_rule(
        "ibm_encoded_password",
        rb"(?P<lead>\{(?:xor|aes|custom:[^}\s]*)\})(?P<val>(?!\*{8})[A-Za-z0-9+/=._\\-]+)(?P<trail>)",
        mask_value,
        (b"{xor}", b"{aes}", b"{custom:"),
        examples=(
            (b"x = {xor}Lz4sLCgwLTs= end\n", b"x = {xor}******** end\n"),
            (b"pw {aes}ABCDEF== y\n", b"pw {aes}******** y\n"),
            (b"{custom:myenc}QUJD\n", b"{custom:myenc}********\n"),
        ),
        keeps=(b"{xor} is the WebSphere encoding\n",),
    ),
)


def _pem_replace(match: re.Match[bytes]) -> bytes:
    return match.group(0) + b"\n" + MASK


PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----")
PEM_END = re.compile(rb"-----END ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----")
PEM_RULE = "pem_private_key"
# Always applied by the stream, ahead of any table; not in BASELINE_RULES, whose
# every rule can be checked one line at a time (a key's BEGIN line stays as it is).
PEM_KEY_RULE = Rule(
    PEM_RULE,
    PEM_BEGIN,
    _pem_replace,
    (b"private key",),
    examples=(
        (
            b"a\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\nxyz=\n-----END RSA PRIVATE KEY-----\nb\n",
            b"a\n-----BEGIN RSA PRIVATE KEY-----\n********\n-----END RSA PRIVATE KEY-----\nb\n",
        ),
    ),
    keeps=(b"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",),
    until=lambda _match: PEM_END,
)

# A line longer than this is redacted in pieces rather than buffered whole.
MAX_LINE = 1024 * 1024


class _TriggerScan:
    """Finds the lines of a block that hold any rule's trigger in ONE pass of an
    Aho-Corasick automaton over all triggers (ahocorasick_rs, in Rust): searching
    each of the ~23 triggers with bytes.find cost 0.6 ms/MB apiece and capped the
    redactor near 70 MB/s; one pass is about 2 ms/MB for all of them. A trigger
    that contains another is left out: its lines are among the shorter one's."""

    def __init__(self, triggers: Iterable[bytes]) -> None:
        found = set(triggers)
        self.triggers = tuple(
            sorted(t for t in found if not any(other != t and other in t for other in found))
        )
        self._automaton = BytesAhoCorasick(list(self.triggers))

    def lines(self, lower: bytes) -> list[tuple[int, int]]:
        """Sorted (start, end) of the lines holding a trigger, end past the newline.
        Matches come in order and never hold a newline, so a match that starts
        before the end of the last line found is on that line."""
        spans: list[tuple[int, int]] = []
        line_end = 0
        for _, found, _ in self._automaton.find_matches_as_indexes(lower):
            if found < line_end:
                continue
            start = lower.rfind(b"\n", 0, found) + 1
            newline = lower.find(b"\n", found)
            line_end = len(lower) if newline == -1 else newline + 1
            spans.append((start, line_end))
        return spans


@lru_cache(maxsize=32)
def _trigger_scan(triggers: tuple[bytes, ...]) -> _TriggerScan:
    """One scan per set of triggers, shared by every redactor that has them:
    building one takes ~0.14 ms, which thousands of small files each paid. It
    holds no state, so threads share it too. Keyed by the triggers, all it
    depends on, which hash ten times faster than the rules themselves."""
    return _TriggerScan(triggers)


class StreamRedactor:
    """Redacts a byte stream fed in arbitrary pieces; counts hits per rule.

    Works on whole lines; a value that goes on over the next lines (a PEM key,
    a YAML block scalar, an XML element) is dropped up to its end, tracked as
    state across pieces.
    """

    def __init__(self, rules: Iterable[Rule] = BASELINE_RULES) -> None:
        self.rules = tuple(rules)
        self._all = (PEM_KEY_RULE, *self.rules)
        self._scan = _trigger_scan(tuple(t for rule in self._all for t in rule.triggers))
        self.counts: Counter[str] = Counter()
        self._pending = b""
        self._open: re.Pattern[bytes] | None = None  # ends the value being dropped
        self._dropped_newline = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def feed(self, data: bytes) -> bytes:
        data = self._pending + data if self._pending else data
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < MAX_LINE:
            self._pending = data
            return b""
        if cut == 0:
            cut = len(data)
        self._pending = data[cut:]
        return self._redact_block(data[:cut])

    def close(self) -> bytes:
        tail, self._pending = self._pending, b""
        out = self._redact_block(tail) if tail else b""
        if self._open is not None:
            out += b"\n" if self._dropped_newline else b""
            self._open, self._dropped_newline = None, False
        return out

    def _redact_block(self, block: bytes) -> bytes:
        lower = block.lower()
        spans = self._scan.lines(lower)
        out: list[bytes] = []
        pos = 0
        index = 0
        while pos < len(block):
            if self._open is not None:
                pos = self._drop_value(block, pos, out)
                continue
            while index < len(spans) and spans[index][1] <= pos:
                index += 1
            if index == len(spans):
                out.append(block[pos:])
                break
            start, end = spans[index]
            if start > pos:
                out.append(block[pos:start])
                pos = start
            pos = self._redact_line(block[pos:end], lower[pos:end], out) + pos
        return b"".join(out)

    def _drop_value(self, block: bytes, pos: int, out: list[bytes]) -> int:
        """Skip the open value up to its end; returns where to go on."""
        assert self._open is not None
        end = self._open.search(block, pos)
        stop = len(block) if end is None else end.start()
        if block.find(b"\n", pos, stop) != -1:
            self._dropped_newline = True
        if end is None:
            return stop
        out.append(b"\n" if self._dropped_newline else b"")
        self._open, self._dropped_newline = None, False
        return stop

    def _redact_line(self, line: bytes, lower: bytes, out: list[bytes]) -> int:
        """Redact one line; returns how much of it was consumed (all of it, or
        up to the end of a match that opens a multi-line value)."""
        rules = [r for r in self._all if any(t in lower for t in r.triggers)]
        opener = self._first_opener(line, rules)
        head = line if opener is None else line[: opener[1].start()]
        for rule in rules:
            if rule.until is None:
                head = self._apply(rule, head)
        out.append(head)
        if opener is None:
            return len(line)
        rule, match = opener
        out.append(rule.replace(match))
        self.counts[rule.name] += 1
        assert rule.until is not None
        self._open = rule.until(match)
        return match.end()

    @staticmethod
    def _first_opener(line: bytes, rules: list[Rule]) -> tuple[Rule, re.Match[bytes]] | None:
        """The earliest match that masks a value going on over the next lines."""
        best: tuple[Rule, re.Match[bytes]] | None = None
        for rule in rules:
            if rule.until is None:
                continue
            for match in rule.pattern.finditer(line):
                if rule.replace(match) != match.group(0):
                    if best is None or match.start() < best[1].start():
                        best = (rule, match)
                    break
        return best

    def _apply(self, rule: Rule, text: bytes) -> bytes:
        hits = 0

        def replace(match: re.Match[bytes]) -> bytes:
            nonlocal hits
            result = rule.replace(match)
            hits += result != match.group(0)
            return result

        text = rule.pattern.sub(replace, text)
        if hits:
            self.counts[rule.name] += hits
        return text


def redact_bytes(data: bytes, rules: Iterable[Rule] = BASELINE_RULES) -> tuple[bytes, int]:
    """Redact a complete small value (a command line, a fact); returns (text, hits)."""
    redactor = StreamRedactor(rules)
    out = redactor.feed(data) + redactor.close()
    return out, redactor.total


def redact_text(text: str) -> str:
    """Redact a user-given string (a description, an argument) for the manifest."""
    return redact_bytes(text.encode("utf-8"))[0].decode("utf-8", errors="replace")


# --- secret files: never read, only named --------------------------------------

SECRET_SUFFIXES = frozenset(
    {
        ".kdb",  # GSKit CMS key database (Db2, MQ, Informix, IHS)
        ".sth",  # GSKit stash: the key database's password
        ".rdb",
        ".crl",
        ".p12",  # PKCS#12: WebSphere key.p12/trust.p12, Db2 native-encryption keystores
        ".pfx",
        ".jks",
        ".jceks",
        ".keystore",
        ".kyr",  # Domino key ring
        ".bks",
        ".keytab",  # Kerberos service keys
        ".ppk",  # PuTTY private key
        ".kdbx",  # KeePass
        # Domino/Notes ID files hold the private key; .key files are private keys
        # that may be DER-encoded, which the PEM sniffing cannot see.
        ".id",
        ".key",
    }
)
SECRET_NAMES = frozenset(
    {
        "shadow",
        "gshadow",
        "shadow-",
        "gshadow-",
        "opasswd",  # pam_pwhistory's old password hashes
        "master.passwd",
        ".pgpass",
        ".netrc",
        ".git-credentials",
        ".htpasswd",
        "htpasswd",
        ".vault-token",
        ".xauthority",
        "chap-secrets",
        "pap-secrets",
        "secring.gpg",
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_ecdsa_sk",
        "id_ed25519_sk",
        "ltpa.keys",  # WebSphere/Liberty LTPA keys
        "passwd_file",  # Informix onpassword (Enterprise Replication, Connection Manager)
    }
)
_KEY_SNIFF = re.compile(
    rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY|\bPRIVATE KEY BLOCK-----"
    rb"|---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----|^PuTTY-User-Key-File-\d:",
    re.MULTILINE,
)
# shadow-style lines: user:$id$salt$hash (a copy of /etc/shadow under any name)
_HASH_SNIFF = re.compile(rb"^[\w.-]+:\$(?:1|2[aby]?|5|6|y|gy|7|sha1|md5)\$[^:\n]+:", re.MULTILINE)
_DER_LENGTH = rb"(?:[\x00-\x7f]|\x81[\x80-\xff]|\x82[\x00-\xff]{2}|\x83[\x00-\xff]{3}|\x80)"
# Binary key stores by their first bytes: JKS, JCEKS, PKCS#12 (SEQUENCE, version
# 3, then the authSafe SEQUENCE), DER private keys (SEQUENCE, version 0, then an
# INTEGER modulus (PKCS#1) or an AlgorithmIdentifier SEQUENCE (PKCS#8)).
_STORE_SNIFF = re.compile(
    rb"\A(?:\xfe\xed\xfe\xed|\xce\xce\xce\xce|\x30"
    + _DER_LENGTH
    + rb"\x02\x01(?:\x03\x30|\x00[\x02\x30]))",
    re.DOTALL,
)
SNIFF_BYTES = 4096


def secret_file_reason(path: str, head: bytes = b"") -> str | None:
    """Why a file must never be collected, or None. `head`: its first bytes."""
    lower = PurePosixPath(path).name.lower()
    # Every suffix counts: key.kdb.bak and key.sth.old are still key stores.
    for suffix in PurePosixPath(lower).suffixes:
        if suffix in SECRET_SUFFIXES:
            return f"secret file type {suffix}"
    stem = lower.split(".", 1)[0]
    if lower in SECRET_NAMES or stem in {"shadow", "gshadow"}:
        return "secret file (credentials or private key)"
    if lower.startswith("ssh_host_") and lower.endswith("_key"):
        return "secret file (credentials or private key)"
    if _KEY_SNIFF.search(head):
        return "contains a private key"
    if _STORE_SNIFF.match(head):
        return "key store (by content)"
    if _HASH_SNIFF.search(head):
        return "contains password hashes"
    return None
