"""Hosts for the fleet tests and bench/fleet.py: each with its own address,
its own hostname and a real OpenSSH server, all on this machine.

Preferred: one network namespace per host, joined to this (the control) side by
a veth pair with a /30 of a free 10.213.N.0/24, and an sshd per namespace started under
`unshare --uts` with the host's own hostname, so everything a collection sees
(hostname, addresses, interfaces) is the host's own. Without namespaces (no
root, no `ip netns`): one sshd per loopback address 127.0.0.2, .3, ... on a free
port, still each under its own hostname. Root login by a key made for the run,
no passwords. The hosts share the filesystem, so every path the pa_collect role
writes is made host-specific through its variables.

Plain functions and dataclasses (no pytest), so bench/fleet.py uses them too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "deploy" / "ansible" / "collect.yml"
ANSIBLE_CFG = REPO / "deploy" / "ansible" / "ansible.cfg"
SSHD = Path("/usr/sbin/sshd")
CUSTOMER_CARD = {
    "customer_number": "1234567",
    "contract_number": "PA-778899",
    "contact_name": "Fleet Tester",
    "email": "fleet@example.com",
}


class FleetUnavailable(Exception):
    """This machine cannot host the test fleet (the reason says why)."""


@dataclass
class FleetHost:
    name: str  # inventory name and hostname
    address: str
    port: int
    gateway: str = "127.0.0.1"  # this (the control) side, as the host reaches it
    namespace: str | None = None
    sshd: subprocess.Popen[bytes] | None = None  # None: nothing listens (a broken host)


@dataclass
class Fleet:
    root: Path
    user_key: Path
    known_hosts: Path
    hosts: list[FleetHost] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # control-side veth names
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)  # control-side sshd
    subnet: str = "10.213.0"  # the /24 whose /30s join the hosts to this side

    def host_vars(self, host: FleetHost) -> dict[str, object]:
        """How Ansible reaches the host, and the role's host-specific paths."""
        base = self.root / "hosts" / host.name
        return {
            "ansible_host": host.address,
            "ansible_port": host.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.user_key),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} "
            "-o StrictHostKeyChecking=yes -o ConnectTimeout=10",
            "ansible_python_interpreter": sys.executable,
            "pa_collect_home": str(base / "opt"),
            "pa_collect_output_dir": str(base / "bundles"),
            "pa_collect_state_home": str(base / "state"),
            "pa_collect_config_home": str(base / "config"),
            "pa_collect_card_path": str(base / "etc" / "profile.toml"),
        }

    def write_inventory(
        self, path: Path, hosts: list[FleetHost], extra: dict[str, dict[str, object]] | None = None
    ) -> Path:
        """A YAML inventory (written as JSON, which YAML reads as is)."""
        extra = extra or {}
        document = {
            "all": {
                "hosts": {h.name: {**self.host_vars(h), **extra.get(h.name, {})} for h in hosts}
            }
        }
        path.write_text(json.dumps(document, indent=2))
        return path


def namespaces_available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None:
        return False
    probe = f"paflprobe{os.getpid()}"
    made = _run(["ip", "netns", "add", probe], check=False).returncode == 0
    if made:
        _run(["ip", "netns", "del", probe], check=False)
    return made


def start_fleet(root: Path, names: list[str], broken: tuple[str, ...] = ()) -> Fleet:
    """Hosts `names` with a running sshd each, and hosts `broken` whose address
    answers nothing (connection refused). Call stop_fleet() in a finally."""
    if os.geteuid() != 0:
        raise FleetUnavailable("needs root (sshd per host, root login, network namespaces)")
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        raise FleetUnavailable("OpenSSH server not installed: apt-get install openssh-server")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
    _remove_stale_namespaces()
    root.mkdir(parents=True, exist_ok=True)
    user_key = root / "user_key"
    _keygen(user_key)
    (root / "authorized_keys").write_text(user_key.with_suffix(".pub").read_text())
    fleet = Fleet(root, user_key, root / "known_hosts")
    use_namespaces = namespaces_available()
    if use_namespaces:
        fleet.subnet = _free_subnet()
    try:
        for index, name in enumerate([*names, *broken]):
            host = _place(fleet, index, name, use_namespaces)
            if name in names:
                _start_sshd(fleet, host)
    except BaseException:
        stop_fleet(fleet)
        raise
    return fleet


def _place(fleet: Fleet, index: int, name: str, use_namespaces: bool) -> FleetHost:
    """A host's address (and namespace), added to the fleet before anything
    can fail half-way, so stop_fleet() always sees it."""
    if not use_namespaces:
        loopback = f"127.0.0.{index + 2}"
        fleet.hosts.append(FleetHost(name, loopback, _free_port(loopback)))
        return fleet.hosts[-1]
    tag = os.getpid() % 100_000
    namespace, link = f"pafl{tag}h{index}", f"pafl{tag}c{index}"
    # One /30 per host: control .4i+1, host .4i+2.
    subnet = fleet.subnet
    control, address = f"{subnet}.{4 * index + 1}", f"{subnet}.{4 * index + 2}"
    _run(["ip", "netns", "add", namespace])
    host = FleetHost(name, address, 22, control, namespace)
    fleet.hosts.append(host)
    fleet.links.append(link)
    _run(["ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace])
    _run(["ip", "addr", "add", f"{control}/30", "dev", link])
    _run(["ip", "link", "set", link, "up"])
    _run(["ip", "-n", namespace, "addr", "add", f"{address}/30", "dev", "eth0"])
    _run(["ip", "-n", namespace, "link", "set", "eth0", "up"])
    _run(["ip", "-n", namespace, "link", "set", "lo", "up"])
    return host


def _sshd_config(folder: Path, listen: str, port: int, authorized: Path) -> tuple[Path, str]:
    """An sshd configuration (key-only root login, SFTP) and its host key line."""
    folder.mkdir(parents=True, exist_ok=True)
    key_line = _keygen(folder / "host_key")
    config = folder / "sshd_config"
    config.write_text(
        textwrap.dedent(
            f"""\
            Port {port}
            ListenAddress {listen}
            HostKey {folder / "host_key"}
            AuthorizedKeysFile {authorized}
            PidFile {folder / "sshd.pid"}
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            Subsystem sftp internal-sftp
            MaxStartups 50
            MaxSessions 50
            """
        )
    )
    return config, key_line


def _start_sshd(fleet: Fleet, host: FleetHost) -> None:
    folder = fleet.root / "sshd" / host.name
    authorized = fleet.root / "authorized_keys"
    config, key_line = _sshd_config(folder, host.address, host.port, authorized)
    known = f"[{host.address}]:{host.port}" if host.port != 22 else host.address
    with fleet.known_hosts.open("a") as stream:
        stream.write(f"{known} {key_line}\n")
    enter = ["ip", "netns", "exec", host.namespace] if host.namespace else []
    # sshd's sessions inherit the UTS namespace: `hostname` there is the host's.
    script = f'hostname "$1" && exec {SSHD} -D -e -f "$2"'
    with (folder / "sshd.log").open("wb") as log:  # the child keeps its own descriptor
        host.sshd = subprocess.Popen(
            [*enter, "unshare", "--uts", "sh", "-c", script, "sh", host.name, str(config)],
            stdout=log,
            stderr=log,
        )
    _wait_for_port(host, folder / "sshd.log")


@dataclass
class DropServer:
    """An SFTP server on the control side that every host can upload to."""

    port: int
    folder: Path
    known_hosts: Path  # the hosts' view: the server's key at each gateway address
    process: subprocess.Popen[bytes]

    def url(self, host: FleetHost) -> str:
        return f"sftp://root@{host.gateway}:{self.port}{self.folder}"


def start_drop_server(fleet: Fleet) -> DropServer:
    """sshd on every address of this side (the hosts' gateways); stop_fleet() ends it."""
    folder = fleet.root / "drop-server"
    port = _free_port("0.0.0.0")
    config, key_line = _sshd_config(folder, "0.0.0.0", port, fleet.root / "authorized_keys")
    known_hosts = folder / "known_hosts"
    known_hosts.write_text("".join(f"[{h.gateway}]:{port} {key_line}\n" for h in fleet.hosts))
    drop = folder / "drop"
    drop.mkdir()
    with (folder / "sshd.log").open("wb") as log:
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log
        )
    fleet.servers.append(process)
    server = DropServer(port, drop, known_hosts, process)
    _wait_for_port(FleetHost("drop", "127.0.0.1", port, sshd=process), folder / "sshd.log")
    return server


def stop_fleet(fleet: Fleet) -> None:
    """Stop Ansible's persistent SSH connections to the hosts, every sshd and its
    sessions, then remove the namespaces and links."""
    close_control_connections()
    for server in fleet.servers:
        _kill_tree(server.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
    for host in fleet.hosts:
        if host.sshd is not None:
            _kill_tree(host.sshd.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                host.sshd.wait(timeout=10)
        if host.namespace:
            for pid in _run(["ip", "netns", "pids", host.namespace], check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _run(["ip", "netns", "del", host.namespace], check=False)
    for link in fleet.links:  # gone with its namespace; this only catches leftovers
        _run(["ip", "link", "del", link], check=False)


def close_control_connections() -> None:
    """End the ssh ControlPersist masters Ansible left for the hosts."""
    folder = control_dir()
    for socket_path in sorted(folder.glob("*")) if folder.is_dir() else []:
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "fleet-host"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    shutil.rmtree(folder, ignore_errors=True)


def _kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
        processes = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _remove_stale_namespaces() -> None:
    """Namespaces of earlier runs whose process died before tearing down."""
    listing = _run(["ip", "netns", "list"], check=False).stdout
    for name, pid in re.findall(r"^(pafl(\d+)h\d+)", listing, re.MULTILINE):
        if int(pid) != os.getpid() % 100_000 and not _alive(int(pid)):
            _run(["ip", "netns", "del", name], check=False)


def _free_subnet() -> str:
    """A 10.213.X.0/24 that no interface here uses (another fleet's, say)."""
    used = _run(["ip", "-o", "-4", "addr", "show"], check=False).stdout
    for third in range(250):
        if f" 10.213.{third}." not in used:
            return f"10.213.{third}"
    raise FleetUnavailable("every 10.213.X.0/24 is in use")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _keygen(path: Path) -> str:
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-test", "-f", str(path)])
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def _wait_for_port(host: FleetHost, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if host.sshd is not None and host.sshd.poll() is not None:
            raise FleetUnavailable(f"sshd for {host.name} exited:\n{log.read_text()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((host.address, host.port), 0.5),
        ):
            return
        time.sleep(0.05)
    raise FleetUnavailable(f"sshd for {host.name} did not listen:\n{log.read_text()}")


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise FleetUnavailable(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


# --- the control node's side ---------------------------------------------------------


def build_wheelhouse(folder: Path) -> Path:
    """pa-collect's wheel and its dependencies' wheels, as the README says."""
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(folder), str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise FleetUnavailable(f"pip wheel failed:\n{result.stderr[-3000:]}")
    return folder


def control_dir() -> Path:
    """Where Ansible keeps its SSH control sockets: short, as a socket path has a
    length limit that pytest's temporary folders exceed."""
    return Path(f"/tmp/pafl-cp-{os.getpid()}")


def ansible_env(root: Path) -> dict[str, str]:
    """Ansible with the playbook's config, and its own folders for this run."""
    control = control_dir()
    control.mkdir(exist_ok=True)
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_HOME": str(root / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(root / "ansible-tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }


def run_playbook(
    fleet: Fleet,
    inventory: Path,
    variables: dict[str, object],
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook collect.yml against the inventory, with extra vars."""
    vars_file = inventory.with_suffix(".vars.json")
    vars_file.write_text(json.dumps(variables))
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(PLAYBOOK), "-e", f"@{vars_file}"],
        env=ansible_env(fleet.root),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def playbook_variables(results: Path, wheelhouse: Path, **overrides: object) -> dict[str, object]:
    """The extra vars of a test run: the os product, one case, the test card."""
    control = shutil.which("pa-collect")
    if control is None:
        raise FleetUnavailable("pa-collect is not installed: pip install -e '.[test]'")
    return {
        "pa_collect_results": str(results),
        "pa_collect_wheelhouse": str(wheelhouse),
        "pa_collect_product": "os",
        "pa_collect_case": "TS012345678",
        "pa_collect_severity": 3,
        "pa_collect_card": CUSTOMER_CARD,
        "pa_collect_python": sys.executable,
        "pa_collect_control_command": control,
        **overrides,
    }
