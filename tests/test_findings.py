"""The product plugins' findings rules: each one on a small bundle view, with a
case that fires and one that does not, then on real bundles of fake hosts."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from collector.plugins import (
    db2,
    db2_findings,
    domino,
    domino_parse,
    informix,
    mq,
    mq_parse,
    websphere,
    websphere_parse,
)
from conftest import FakeHost, RunPa, collect_on, only_bundle
from test_inspect import Db2Host, db2_record

from collector.bundle import open_bundle
from collector.findings import Finding
from collector.logwindow import Record

CREATED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DF = """Filesystem            1024-blocks     Used Available Capacity Mounted on
/dev/mapper/rhel-root    52403200 10480640  41922560      {root}% /
/dev/sdb1               209612800 94325760 115287040      46% /db2data
"""


@dataclass
class View:
    """A bundle as findings rules see it: facts, parsed logs, one collected file."""

    facts_of: dict[str, dict[str, Any]]
    logs_of: dict[str, dict[str, list[Record]]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def manifest(self) -> dict[str, Any]:
        items = [{"plugin": "os", "name": "df_-kP", "path": path} for path in self.files]
        return {
            "created": CREATED.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "facts": self.facts_of,
            "items": items,
        }

    def facts(self, product: str) -> dict[str, Any]:
        return self.facts_of.get(product, {})

    def logs(self, plugin: str) -> list[str]:
        return sorted(self.logs_of.get(plugin, {}))

    def records(
        self, log: str, since: datetime | None = None, level: str | None = None
    ) -> Iterator[Record]:
        for plugin_logs in self.logs_of.values():
            for record in plugin_logs.get(log, []):
                if since is None or (record.timestamp is not None and record.timestamp >= since):
                    yield record

    def read(self, name: str) -> io.BytesIO:
        return io.BytesIO(self.files[name])


def record(hours_before: float, level: str, message_id: str = "X") -> Record:
    return Record(
        0, CREATED - timedelta(hours=hours_before), level, message_id, f"{message_id} text"
    )


def ids(findings: list[Finding]) -> list[str]:
    return [finding.id for finding in findings]


# --- end of support, every product -----------------------------------------------


@pytest.mark.parametrize(
    ("plugin", "old", "severity", "current"),
    [
        (db2.Db2(), "11.1.4.7", "high", "11.5.9.0"),
        (mq.MQ(), "9.0.0.12", "high", "9.4.0.0"),
        (informix.Informix(), "11.70.FC9", "high", "14.10.FC10"),
        (domino.Domino(), "9.0.1", "medium", "14.0"),  # extended support until 2030
    ],
)
def test_end_of_support_release(plugin: Any, old: str, severity: str, current: str) -> None:
    name = plugin.name
    (found,) = [f for f in plugin.findings(View({name: {"version": old}})) if "end_of" in f.id]
    assert found.id == f"{name}.end_of_support" and old in found.message
    assert found.severity == severity
    assert found.evidence == f"manifest.json#/facts/{name}/version"
    assert plugin.findings(View({name: {"version": current}})) == []


def test_end_of_support_with_extended_support_left_is_medium() -> None:
    (found,) = mq.MQ().findings(View({"mq": {"version": "9.2.0.5"}}))
    assert found.severity == "medium" and "extended support only, until 2029-09-30" in found.message


def test_websphere_releases_in_the_table_are_supported_and_unknown_ones_are_quiet() -> None:
    plugin = websphere.WebSphere()
    assert plugin.findings(View({"websphere": {"version": "9.0.5.14"}})) == []
    assert plugin.findings(View({"websphere": {"version": "7.0.0.45"}})) == []


# --- Db2 ------------------------------------------------------------------------------


def hadr(state: str, syncmode: str = "SYNC") -> dict[str, Any]:
    database = {"name": "PRODDB", "hadr": {"role": "PRIMARY", "state": state, "syncmode": syncmode}}
    return {"db2": {"databases": [{"name": "SAMPLE", "hadr": None}, database]}}


def test_hadr_not_in_peer_state() -> None:
    (found,) = db2_findings.hadr_not_peer(View(hadr("DISCONNECTED_PEER")))
    assert found.id == "db2.hadr_not_peer" and found.severity == "high"
    assert "PRODDB" in found.message and "DISCONNECTED_PEER" in found.message
    assert found.evidence == "manifest.json#/facts/db2/databases/1/hadr"


@pytest.mark.parametrize(("state", "mode"), [("PEER", "SYNC"), ("REMOTE_CATCHUP", "SUPERASYNC")])
def test_hadr_in_peer_or_normal_superasync_catchup_is_quiet(state: str, mode: str) -> None:
    assert db2_findings.hadr_not_peer(View(hadr(state, mode))) == []


def db2_logs(*records: Record) -> View:
    return View({"db2": {}}, {"db2": {"db2/diag/db2diag.log": list(records)}})


def test_severe_records_in_the_last_24_hours() -> None:
    view = db2_logs(
        record(2, "Severe"), record(3, "Error"), record(1, "Warning"), record(30, "Severe")
    )
    (found,) = db2_findings.recent_errors(view)
    assert found.id == "db2.recent_errors" and found.severity == "high"
    assert "1 Severe" in found.message and "1 Error" in found.message
    assert found.evidence == "db2/diag/db2diag.log"


def test_only_old_errors_or_warnings_are_quiet() -> None:
    assert db2_findings.recent_errors(db2_logs(record(25, "Severe"), record(1, "Warning"))) == []


def test_errors_alone_are_medium() -> None:
    (found,) = db2_findings.recent_errors(db2_logs(record(1, "Error")))
    assert found.severity == "medium"


def diag_view(root_percent: int) -> View:
    instance = {
        "name": "db2inst1",
        "diagpath": {"resolved": "/home/db2inst1/sqllib/db2dump/DIAG0000"},
    }
    files = {"os/commands/df_-kP.txt": DF.format(root=root_percent).encode()}
    return View({"db2": {"instances": [instance]}}, files=files)


def test_diagpath_on_a_nearly_full_file_system() -> None:
    (found,) = db2_findings.diagpath_nearly_full(diag_view(98))
    assert found.id == "db2.diagpath_nearly_full" and found.severity == "high"
    assert "is on /, 98% full" in found.message
    assert found.evidence == "os/commands/df_-kP.txt"
    assert db2_findings.diagpath_nearly_full(diag_view(91))[0].severity == "medium"


def test_diagpath_with_room_or_unknown_mount_is_quiet() -> None:
    assert db2_findings.diagpath_nearly_full(diag_view(21)) == []
    assert db2_findings.diagpath_nearly_full(View({"db2": diag_view(99).facts_of["db2"]})) == []


def test_mount_of_takes_the_longest_mount_point() -> None:
    usage = {"/": 1, "/db2": 2, "/db2data": 3}
    assert db2_findings.mount_of("/db2data/diag", usage) == "/db2data"
    assert db2_findings.mount_of("/db2/x", usage) == "/db2"
    assert db2_findings.mount_of("/db2datax", usage) == "/"


# --- MQ -----------------------------------------------------------------------------------


def qmgrs(*statuses: str) -> View:
    return View(
        {
            "mq": {
                "queue_managers": [{"name": f"QM{n}", "status": s} for n, s in enumerate(statuses)]
            }
        }
    )


def test_queue_manager_not_running() -> None:
    found = mq_parse.queue_managers_not_running(
        qmgrs("Running", "Ended unexpectedly", "Ended normally")
    )
    assert ids(found) == ["mq.qmgr_not_running"] * 2
    assert [f.severity for f in found] == ["high", "medium"]
    assert "QM1 is not running: Ended unexpectedly" in found[0].message
    assert found[0].evidence == "manifest.json#/facts/mq/queue_managers/1/status"


def test_running_queue_managers_and_standbys_are_quiet() -> None:
    assert (
        mq_parse.queue_managers_not_running(
            qmgrs("Running", "Running as standby", "Running elsewhere")
        )
        == []
    )


def test_amq_errors_in_the_last_24_hours() -> None:
    view = View(
        {"mq": {}},
        {
            "mq": {
                "mq/AMQERR01.LOG": [record(1, "error", "AMQ9999E"), record(2, "error", "AMQ9999E")]
            }
        },
    )
    (found,) = mq_parse.recent_errors(view)
    assert found.id == "mq.recent_errors" and found.severity == "medium"
    assert "AMQ9999E x2" in found.message and found.evidence == "mq/AMQERR01.LOG"


def test_amq_information_and_old_errors_are_quiet() -> None:
    logs = {
        "mq/AMQERR01.LOG": [record(1, "information", "AMQ5026I"), record(48, "severe", "AMQ6119S")]
    }
    assert mq_parse.recent_errors(View({"mq": {}}, {"mq": logs})) == []


# --- WebSphere ------------------------------------------------------------------------------


def servers(*states: str) -> View:
    listed = [
        {"name": f"server{n}", "state": s, "state_reason": "why"} for n, s in enumerate(states)
    ]
    return View({"websphere": {"profiles": [{"name": "AppSrv01", "servers": listed}]}})


def test_websphere_server_not_running() -> None:
    (found,) = websphere_parse.servers_not_running(servers("running", "stopped", "unknown"))
    assert (
        found.id == "websphere.server_not_running"
        and "server1 of profile AppSrv01" in found.message
    )
    assert found.evidence == "manifest.json#/facts/websphere/profiles/0/servers/1"


def test_websphere_running_or_unknown_servers_are_quiet() -> None:
    assert websphere_parse.servers_not_running(servers("running", "unknown")) == []


def test_websphere_error_and_fatal_entries_in_the_last_24_hours() -> None:
    entries = [
        record(1, "E", "DSRA0010E"),
        record(2, "F", "WSVR0009E"),
        record(1, "W", "CWPKI0041W"),
    ]
    (found,) = websphere_parse.recent_errors(
        View({"websphere": {}}, {"websphere": {"SystemOut.log": entries}})
    )
    assert found.id == "websphere.recent_errors" and found.severity == "high"
    assert "2 E/F entries" in found.message and "DSRA0010E x1" in found.message


def test_websphere_warnings_are_quiet() -> None:
    entries = [record(1, "W", "CWPKI0041W"), record(30, "E", "DSRA0010E")]
    assert (
        websphere_parse.recent_errors(
            View({"websphere": {}}, {"websphere": {"SystemOut.log": entries}})
        )
        == []
    )


# --- Informix ----------------------------------------------------------------------------------


def informix_servers(*servers: dict[str, Any]) -> View:
    return View({"informix": {"servers": list(servers)}})


def test_informix_server_not_online() -> None:
    view = informix_servers(
        {"name": "ol_prod", "state": "On-Line"}, {"name": "ol_test", "state": "Off-Line"}
    )
    (found,) = informix.servers_not_online(view)
    assert found.id == "informix.server_not_online" and "ol_test is Off-Line" in found.message
    assert found.evidence == "manifest.json#/facts/informix/servers/1/state"


def test_informix_online_and_secondary_servers_are_quiet() -> None:
    view = informix_servers(
        {"name": "a", "state": "On-Line (Prim)"},
        {"name": "b", "state": "Read-Only (Sec)"},
        {"name": "c"},
    )
    assert informix.servers_not_online(view) == []


def test_informix_assertion_failure_files() -> None:
    view = informix_servers({"name": "ol_prod", "assertion_failure_files": 2, "dumpdir": "/dumps"})
    (found,) = informix.assertion_failures(view)
    assert (
        found.id == "informix.assertion_failures" and "2 assertion failure file(s)" in found.message
    )
    assert (
        informix.assertion_failures(informix_servers({"name": "x", "assertion_failure_files": 0}))
        == []
    )


# --- Domino --------------------------------------------------------------------------------------


def domino_servers(*servers: dict[str, Any]) -> View:
    return View({"domino": {"servers": list(servers)}})


def test_domino_server_not_running() -> None:
    (found,) = domino_parse.servers_not_running(
        domino_servers({"server_name": "CN=d1/O=Acme", "state": "stopped"})
    )
    assert found.id == "domino.server_not_running" and "CN=d1/O=Acme" in found.message
    assert (
        domino_parse.servers_not_running(domino_servers({"state": "running"}, {"state": "unknown"}))
        == []
    )


def test_domino_nsd_files() -> None:
    view = domino_servers({"server_name": "d1", "nsd_files": ["nsd_b.log", "nsd_a.log"]})
    (found,) = domino_parse.nsd_reports(view)
    assert (
        found.id == "domino.nsd_files"
        and "2 NSD report(s)" in found.message
        and "nsd_b.log" in found.message
    )
    assert domino_parse.nsd_reports(domino_servers({"server_name": "d1", "nsd_files": []})) == []


# --- on real bundles of the fake hosts -------------------------------------------


@pytest.fixture
def db2_host(product_host: Callable[[str], FakeHost], run_pa: RunPa) -> Db2Host:
    return Db2Host(product_host("db2"), run_pa)


def bundle_findings(bundle_path: Any) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for finding in open_bundle(bundle_path).findings():
        found.setdefault(finding.id, []).append(finding)
    return found


def test_db2_bundle_with_hadr_disconnected_peer_and_full_diagpath(db2_host: Db2Host) -> None:
    db2_host.hadr_state("DISCONNECTED_PEER")
    db2_host.override("df", f"/bin/cat <<'OUT'\n{DF.format(root=96)}OUT")
    db2_host.add_records(db2_record(datetime.now(UTC) - timedelta(hours=2), "Critical", "f", "x"))

    found = bundle_findings(db2_host.collect())

    (not_peer,) = found["db2.hadr_not_peer"]
    assert "PRODDB is in state DISCONNECTED_PEER" in not_peer.message
    (full,) = found["db2.diagpath_nearly_full"]
    assert "96% full" in full.message and full.evidence == "os/commands/df_-kP.txt"
    assert [f.evidence for f in found["db2.recent_errors"]] == [
        "db2/files/home/db2inst1/sqllib/db2dump/DIAG0000/db2diag.log"
    ]
    assert "db2.end_of_support" not in found  # 11.5.9.0


def test_db2_bundle_in_peer_with_room_and_old_errors_has_no_db2_finding(db2_host: Db2Host) -> None:
    found = bundle_findings(db2_host.collect())
    assert [name for name in found if name.startswith("db2.")] == []


@pytest.mark.parametrize(
    ("product", "expected"),
    [
        ("mq", {"mq.qmgr_not_running"}),
        ("websphere", {"websphere.server_not_running"}),
        ("informix", {"informix.assertion_failures", "informix.server_not_online"}),
        ("domino", {"domino.nsd_files"}),
    ],
)
def test_fake_product_hosts_raise_their_findings(
    product: str, expected: set[str], product_host: Callable[[str], FakeHost], run_pa: RunPa
) -> None:
    host = product_host(product)
    result = collect_on(host, run_pa, "--product", product, "--since", "all")
    assert result.returncode == 0, result.stderr

    found = bundle_findings(only_bundle(host.out))

    assert {name for name in found if name.startswith(f"{product}.")} == expected
    assert all(f.evidence for findings in found.values() for f in findings)
