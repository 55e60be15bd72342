"""network: how the host is reachable and what it listens on.

Collects interfaces and addresses, routes, listening sockets with their owning
processes, and name-resolution configuration (/etc/hosts, resolv.conf,
nsswitch.conf). Connection problems to Db2, MQ or WebSphere are often a wrong
route, a resolver or a port owned by someone else. Safe to send: addresses and
port numbers only; no traffic is captured.
"""

from __future__ import annotations

import socket
from collections import Counter
from typing import Any

import psutil

from collector.host import Host
from collector.plugin import Collected, Context, Plugin
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, Spec

FILES = (
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/hostname",
    "/etc/host.conf",
    "/etc/network/interfaces",
    "/etc/sysconfig/network",
)
GLOBS = (
    "/etc/sysconfig/network-scripts/ifcfg-*",
    "/etc/netplan/*.yaml",
    "/etc/NetworkManager/system-connections/*",
)
COMMANDS = (
    ("ip", "-details", "address", "show"),
    ("ip", "route", "show", "table", "all"),
    ("ip", "-6", "route", "show"),
    ("ss", "-tulpn"),
    ("ss", "-s"),
)
FAMILIES = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6", psutil.AF_LINK: "link"}


class Network(Plugin):
    name = "network"
    description = "Interfaces, addresses, routes, listening sockets and name resolution"
    always = True
    budget = 60.0

    def specs(self, ctx: Context) -> list[Spec]:
        specs: list[Spec] = [
            FactSpec(name="interfaces", collect=interfaces),
            FactSpec(name="listening", collect=listening),
            FactSpec(name="connection_states", collect=connection_states),
        ]
        specs += [FileSpec(path=p) for p in FILES]
        specs += [GlobSpec(pattern=p) for p in GLOBS]
        specs += [CommandSpec(argv=argv) for argv in COMMANDS]
        return specs

    def facts(self, collected: Collected) -> dict[str, Any]:
        nics = collected.json("interfaces") or {}
        ports = collected.json("listening") or []
        return {
            "interfaces": {
                name: [a["address"] for a in nic.get("addresses", []) if a["family"] != "link"]
                for name, nic in nics.items()
            },
            "listening_ports": sorted({p["port"] for p in ports}),
            "nameservers": nameservers(collected.text("etc_resolv.conf")),
        }


def interfaces(host: Host) -> dict[str, Any]:
    stats = psutil.net_if_stats()
    found: dict[str, Any] = {}
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        stat = stats.get(name)
        found[name] = {
            "up": stat.isup if stat else None,
            "mtu": stat.mtu if stat else None,
            "speed_mbps": stat.speed if stat else None,
            "addresses": [
                {
                    "family": FAMILIES.get(a.family, str(a.family)),
                    "address": a.address,
                    "netmask": a.netmask,
                }
                for a in addresses
            ],
        }
    return found


def listening(host: Host) -> list[dict[str, Any]]:
    found = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status != psutil.CONN_LISTEN and conn.type != socket.SOCK_DGRAM:
            continue
        found.append(
            {
                "protocol": "tcp" if conn.type == socket.SOCK_STREAM else "udp",
                "address": conn.laddr.ip,
                "port": conn.laddr.port,
                "pid": conn.pid,
                "process": _process_name(conn.pid),
            }
        )
    return sorted(found, key=lambda c: (c["port"], c["protocol"], c["address"]))


def connection_states(host: Host) -> dict[str, int]:
    return dict(Counter(c.status for c in psutil.net_connections(kind="tcp")))


def _process_name(pid: int | None) -> str | None:
    if pid is None:
        return None
    try:
        return str(psutil.Process(pid).name())
    except psutil.Error:
        return None


def nameservers(resolv_conf: str | None) -> list[str]:
    """The `nameserver` entries of a resolv.conf, in order."""
    servers = []
    for line in (resolv_conf or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            servers.append(fields[1])
    return servers
