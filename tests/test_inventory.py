"""`pa-collect inventory`: the hosts a product spans, from its own configuration,
as an Ansible inventory that Ansible itself (`ansible-inventory`) reads back
the same in every format."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from collector.plugins.operating_system import OperatingSystem
from conftest import DATA, RunPa, no_traceback

from collector.errors import PluginError
from collector.host import Host
from collector.inventory import build_inventory, group_name, render
from collector.plugin import Context, FleetMember, Plugin

FORMATS = ("ini", "yaml", "json")
SUFFIX = {"ini": ".ini", "yaml": ".yml", "json": ".json"}
DPF_NODES = """\
0 dbhost01 0 dbhost01-ib
1 dbhost01 1 dbhost01-ib
2 dbhost02 0
3 dbhost03 0 dbhost03-ib
4 10.0.0.5 0
"""


def db2_tree(root: Path, instances: dict[str, str | None], hostname: str = "dbhost01") -> Path:
    """A sysroot with Db2 instances (name -> db2nodes.cfg text, None: no file)."""
    passwd = ["root:x:0:0:root:/root:/bin/bash"]
    for uid, (name, nodes) in enumerate(instances.items(), start=61001):
        passwd.append(f"{name}:x:{uid}:{uid}:Db2 instance owner:/home/{name}:/bin/bash")
        sqllib = root / "home" / name / "sqllib"
        sqllib.mkdir(parents=True)
        if nodes is not None:
            (sqllib / "db2nodes.cfg").write_text(nodes)
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "passwd").write_text("\n".join(passwd) + "\n")
    (root / "etc" / "hostname").write_text(hostname + "\n")
    return root


def server_index(host: str, *servers: str) -> str:
    entries = "".join(
        f'\n  <serverEntries xmi:id="ServerEntry_{n}" serverName="{name}" serverType="X"/>'
        for n, name in enumerate(servers)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<serverindex:ServerIndex xmi:version="2.0" '
        'xmlns:serverindex="http://www.ibm.com/websphere/appserver/schemas/5.0/serverindex.xmi" '
        f'xmi:id="ServerIndex_1" hostName="{host}">{entries}\n</serverindex:ServerIndex>\n'
    )


def websphere_tree(root: Path, cell: str, nodes: dict[str, tuple[str, list[str]]]) -> Path:
    """A deployment manager profile whose repository holds the whole cell."""
    install = root / "opt/IBM/WebSphere/AppServer"
    (install / "bin").mkdir(parents=True)
    (install / "bin" / "versionInfo.sh").write_text("#!/bin/sh\n")
    for node, (host, servers) in nodes.items():
        folder = install / f"profiles/Dmgr01/config/cells/{cell}/nodes/{node}"
        folder.mkdir(parents=True)
        (folder / "serverindex.xml").write_text(server_index(host, *servers))
    return root


def inventory(run_pa: RunPa, sysroot: Path, product: str, *extra: str, form: str = "ini") -> str:
    result = run_pa(
        "inventory", "--product", product, "--sysroot", str(sysroot), "--format", form, *extra
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def ansible_view(text: str, form: str, folder: Path) -> dict[str, Any]:
    """What Ansible makes of the inventory: groups and each host's variables."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"inventory{SUFFIX[form]}"
    path.write_text(text)
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(folder / "ansible-home"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_NOCOLOR": "1",
    }
    result = subprocess.run(
        ["ansible-inventory", "-i", str(path), "--list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listing: dict[str, Any] = json.loads(result.stdout)
    return listing


def group_hosts(view: dict[str, Any], group: str) -> list[str]:
    hosts: list[str] = view[group]["hosts"]
    return hosts


@pytest.mark.parametrize("form", FORMATS)
def test_db2_members_become_one_host_each(form: str, tmp_path: Path, run_pa: RunPa) -> None:
    sysroot = db2_tree(tmp_path / "root", {"db2inst1": DPF_NODES})

    view = ansible_view(inventory(run_pa, sysroot, "db2", form=form), form, tmp_path)

    assert group_hosts(view, "db2_db2inst1") == ["dbhost01", "dbhost02", "dbhost03", "10.0.0.5"]
    hostvars = view["_meta"]["hostvars"]
    assert hostvars["dbhost01"] == {
        "db2_members": [0, 1],
        "db2_logical_ports": [0, 1],
        "db2_netnames": ["dbhost01-ib"],
        "pa_collect_product": "db2",
        "pa_collect_instance": "db2inst1",
        "db2_instance": "db2inst1",
        "db2_instance_owner": "db2inst1",
        "db2_instance_home": "/home/db2inst1",
    }
    assert hostvars["dbhost02"]["db2_members"] == [2]
    assert "db2_netnames" not in hostvars["dbhost02"]
    assert hostvars["10.0.0.5"]["db2_members"] == [4]


def test_yaml_and_json_are_the_same_document(tmp_path: Path, run_pa: RunPa) -> None:
    sysroot = db2_tree(tmp_path / "root", {"db2inst1": DPF_NODES})

    as_yaml = yaml.safe_load(inventory(run_pa, sysroot, "db2", form="yaml"))
    as_json = json.loads(inventory(run_pa, sysroot, "db2", form="json"))

    assert as_yaml == as_json
    assert list(as_json["all"]["children"]) == ["db2_db2inst1"]


def test_db2_fake_installation(tmp_path: Path, run_pa: RunPa) -> None:
    view = ansible_view(inventory(run_pa, DATA / "db2" / "sysroot", "db2"), "ini", tmp_path)

    assert group_hosts(view, "db2_db2inst1") == ["dbhost01"]
    assert view["_meta"]["hostvars"]["dbhost01"]["db2_members"] == [0]


def test_instance_without_db2nodes_cfg_is_this_host(tmp_path: Path, run_pa: RunPa) -> None:
    sysroot = db2_tree(tmp_path / "root", {"db2inst1": None}, hostname="lonely01")

    view = ansible_view(inventory(run_pa, sysroot, "db2"), "ini", tmp_path)

    assert group_hosts(view, "db2_db2inst1") == ["lonely01"]
    assert view["_meta"]["hostvars"]["lonely01"]["db2_members"] == [0]


def test_every_instance_is_a_group_and_instance_selects_one(tmp_path: Path, run_pa: RunPa) -> None:
    sysroot = db2_tree(
        tmp_path / "root", {"db2inst1": "0 dbhost01 0\n", "db2inst2": "0 dbhost02 0\n"}
    )

    everything = ansible_view(inventory(run_pa, sysroot, "db2"), "ini", tmp_path / "all")
    chosen = json.loads(inventory(run_pa, sysroot, "db2", "--instance", "db2inst2", form="json"))

    assert group_hosts(everything, "db2_db2inst1") == ["dbhost01"]
    assert group_hosts(everything, "db2_db2inst2") == ["dbhost02"]
    assert list(chosen["all"]["children"]) == ["db2_db2inst2"]


def test_a_host_with_two_roles_needs_a_choice(tmp_path: Path, run_pa: RunPa) -> None:
    sysroot = db2_tree(
        tmp_path / "root",
        {"db2inst1": "0 dbhost01 0\n", "db2inst2": "0 dbhost01 0\n1 dbhost01 1\n"},
    )

    result = run_pa("inventory", "--product", "db2", "--sysroot", str(sysroot))

    assert result.returncode == 2 and no_traceback(result) and result.stdout == ""
    assert "host dbhost01 is in db2_db2inst1 and db2_db2inst2 with different db2_members" in (
        result.stderr
    )
    assert "--instance" in result.stderr
    chosen = json.loads(inventory(run_pa, sysroot, "db2", "--instance", "db2inst2", form="json"))
    hosts = chosen["all"]["children"]["db2_db2inst2"]["hosts"]
    assert list(hosts) == ["dbhost01"] and hosts["dbhost01"]["db2_members"] == [0, 1]


def test_websphere_fake_installation(tmp_path: Path, run_pa: RunPa) -> None:
    text = inventory(run_pa, DATA / "websphere" / "sysroot", "websphere", form="yaml")

    view = ansible_view(text, "yaml", tmp_path)

    assert group_hosts(view, "websphere_cell01") == ["washost01.example.com"]
    hostvars = view["_meta"]["hostvars"]["washost01.example.com"]
    assert hostvars["websphere_nodes"] == ["cellManager01", "node01"]
    assert hostvars["websphere_servers"] == [
        "cellManager01/dmgr",
        "node01/nodeagent",
        "node01/server1",
    ]
    assert hostvars["websphere_cell"] == "cell01"
    assert hostvars["pa_collect_product"] == "websphere"


def test_websphere_cell_nodes_on_their_hosts(tmp_path: Path, run_pa: RunPa) -> None:
    sysroot = websphere_tree(
        tmp_path / "root",
        "prod-cell",
        {
            "dmgrNode": ("was0.example.com", ["dmgr"]),
            "node1": ("was1.example.com", ["nodeagent", "app1"]),
            "node2": ("was2.example.com", ["nodeagent", "app2"]),
            "node3": ("was2.example.com", ["app3"]),
        },
    )

    view = ansible_view(inventory(run_pa, sysroot, "websphere"), "ini", tmp_path)

    hosts = ["was0.example.com", "was1.example.com", "was2.example.com"]
    assert group_hosts(view, "websphere_prod_cell") == hosts
    was2 = view["_meta"]["hostvars"]["was2.example.com"]
    assert was2["websphere_nodes"] == ["node2", "node3"]
    assert was2["websphere_servers"] == ["node2/app2", "node2/nodeagent", "node3/app3"]
    assert was2["websphere_cell"] == "prod-cell"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--product", "mq"],
            "mq cannot list the hosts it spans; products that can: db2, websphere",
        ),
        (["--product", "nosuch"], "unknown product 'nosuch'"),
        (["--product", "db2", "--format", "toml"], "Invalid value for '--format'"),
    ],
)
def test_products_that_cannot_say(args: list[str], words: str, run_pa: RunPa) -> None:
    result = run_pa("inventory", *args)

    assert result.returncode == 2 and no_traceback(result)
    assert words in result.stderr and result.stdout == ""


def test_no_hosts_found_is_an_error(tmp_path: Path, run_pa: RunPa) -> None:
    empty = tmp_path / "empty"
    (empty / "etc").mkdir(parents=True)

    for product in ("db2", "websphere"):
        result = run_pa("inventory", "--product", product, "--sysroot", str(empty))

        assert result.returncode == 2 and no_traceback(result)
        assert f"{product}: found no hosts" in result.stderr


def test_group_names_are_ansible_names() -> None:
    assert group_name("websphere", "my-cell.1") == "websphere_my_cell_1"
    assert group_name("db2", "db2inst1") == "db2_db2inst1"


class Crashing(Plugin):
    name = "crashing"

    def specs(self, ctx: Context) -> list[Any]:
        return []

    def fleet_members(self, ctx: Context) -> list[FleetMember]:
        raise KeyError("members")


def test_plugins_without_the_hook_and_a_crashing_hook(tmp_path: Path) -> None:
    ctx = Context(host=Host(sysroot=tmp_path))

    assert OperatingSystem().fleet_members(ctx) is None
    with pytest.raises(PluginError, match="crashing failed to list its hosts: KeyError"):
        build_inventory(Crashing(), ctx, ["db2"])


def test_rendering_quotes_what_yaml_would_misread(tmp_path: Path) -> None:
    members = [
        FleetMember(host="yes", group="g", host_vars={"note": "no"}),
        FleetMember(host="10.1.2.3", group="g", host_vars={"note": 'O\'Brien "x"'}),
    ]

    class Odd(Crashing):
        def fleet_members(self, ctx: Context) -> list[FleetMember]:
            return members

    built = build_inventory(Odd(), Context(host=Host(sysroot=tmp_path)), [])

    for form in FORMATS:
        view = ansible_view(render(built, form), form, tmp_path / form)
        assert group_hosts(view, "crashing_g") == ["yes", "10.1.2.3"]
        assert view["_meta"]["hostvars"]["10.1.2.3"]["note"] == 'O\'Brien "x"'
        assert view["_meta"]["hostvars"]["yes"]["note"] == "no"
