"""R1-R4's world: many host names under ``bench.test``, resolved by the suite's DNS server.

How it is laid out, and why:

- One private network namespace (``unshare -n``, loopback only) holds the DNS server on
  127.0.0.1:53, an nginx (http on 127.0.0.1:80, https on :443) and every tool run. Port 53
  there is the namespace's own, so nothing on the machine's port 53 (a local resolver,
  another run of this suite, another session's tests) can clash with it, and nothing sent
  inside can leave loopback: the namespace has no other interface (see ``HOST_ADDRESS``).
- Each tool run also gets its own mount namespace (``unshare -m``, propagation private) in
  which a ``resolv.conf`` naming 127.0.0.1 (``options timeout:2 attempts:1``) and an
  ``nsswitch.conf`` saying ``hosts: files dns`` are bind-mounted over /etc's, and a tmpfs
  over nscd's socket folder if there is one. So glibc's getaddrinfo (curl, fetchall) and
  c-ares (aria2c) ask this server only: no NSS module (systemd-resolved, mDNS) and no nscd
  can hand a benchmark name to the machine's resolver. glibc's resolv.conf cannot name a
  port, hence port 53 and the network namespace.
- run.py stays in the machine's namespaces. It reads nginx's stub_status and the DNS
  server's counters through Unix sockets (a pathname socket is reachable from any network
  namespace), and after every run checks that the wrapper's mounts took inside and that
  the machine's /etc/resolv.conf has the same sha256 and mounts as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
ZONE = "bench.test"
DNS_DELAY = 0.02
RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n"
NSSWITCH_CONF = "hosts: files dns\n"
WATCHED = ("/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/hosts")
WRAPPER = """
set -e
mount --bind "$1" /etc/resolv.conf
cmp -s "$1" /etc/resolv.conf
if [ -e /etc/nsswitch.conf ]; then
    mount --bind "$2" /etc/nsswitch.conf
    cmp -s "$2" /etc/nsswitch.conf
fi
for folder in /run/nscd /var/run/nscd; do
    if [ -d "$folder" ]; then mount -t tmpfs none "$folder"; fi
done
: > "$3"
shift 3
exec "$@"
"""
"""Runs inside the tool's mount namespace: mount, check, leave a mark, become the tool.
The mark tells run.py the mounts took (the tool's own exit status cannot: it is expected
to be non-zero in R4)."""

HOST_ADDRESS = "192.0.2.1/32"
"""An address that is not loopback, on the namespace's loopback interface. aria2c counts
only such addresses as "configured" (like AI_ADDRCONFIG) and with none resolves nothing
("IPv4 configured=0": every URL fails). 192.0.2.0/24 is TEST-NET-1 (RFC 5737): no real
host, and on ``lo`` nothing sent to it leaves the namespace."""

T = TypeVar("T")


@dataclass(frozen=True)
class Names:
    """How a scenario's URLs name their hosts (all under ``ZONE``, all served by nginx)."""

    scheme: str
    distinct: bool
    """One name per URL (``h<i>``); otherwise every URL names ``one``."""
    dead_every: int = 0
    """Every n-th URL names ``dead-<i>``, never answered (0: none)."""

    def host(self, index: int) -> str:
        """The host name of URL number ``index``."""
        if self.dead_every and index % self.dead_every == 0:
            return f"dead-{index}.{ZONE}"
        return f"h{index}.{ZONE}" if self.distinct else f"one.{ZONE}"

    def urls(self, count: int, path: str) -> list[str]:
        """``count`` URLs of ``path``, each with its own query string."""
        return [f"{self.scheme}://{self.host(i)}{path}?i={i}" for i in range(count)]

    def dead(self, count: int) -> int:
        """How many of ``count`` URLs name a host that is never answered."""
        return len(range(0, count, self.dead_every)) if self.dead_every else 0

    def hosts(self, count: int) -> int:
        """How many distinct names ``count`` URLs hold."""
        return count if self.distinct else 1 + self.dead(count)


@dataclass(frozen=True)
class DnsCounts:
    """Queries the DNS server received during one run."""

    queries: int
    a: int
    aaaa: int
    dead: int
    outside: int
    names: int

    @classmethod
    def parse(cls, line: bytes) -> DnsCounts:
        fields = json.loads(line)
        return cls(**{name: int(fields[name]) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Observed:
    """What the servers saw during one run."""

    requests: int
    dns: DnsCounts


def unavailable() -> str | None:
    """Why R1-R4 cannot run here (no ``unshare -m -n``), or None when they can."""
    if not shutil.which("unshare"):
        return "`unshare` (util-linux) is not installed"
    try:
        probe = subprocess.run(
            ["unshare", "-m", "-n", "--propagation", "private", "true"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`unshare -m -n` did not run: {error}"
    if probe.returncode != 0:
        reason = probe.stderr.strip().splitlines()[-1:] or [f"exit {probe.returncode}"]
        return f"`unshare -m -n` is not permitted here ({reason[0]}; it needs CAP_SYS_ADMIN)"
    return None


class Lab:
    """The network namespace with its DNS server and nginx; wraps and checks tool runs.

    Use ``with Lab(root) as lab``; it stops its processes by their PIDs on the way out.
    """

    def __init__(self, root: Path) -> None:
        self.dir = root / "names"
        self.dir.mkdir()
        self.dir.chmod(0o755)
        self.ca = self.dir / "ca.pem"
        self.resolv = self.dir / "resolv.conf"
        self.nsswitch = self.dir / "nsswitch.conf"
        self.mark = self.dir / "wrapped"
        self.control = self.dir / "dns.sock"
        self.status = self.dir / "nginx-status.sock"
        self.pid_file = self.dir / "nginx.pid"
        self.resolv.write_text(RESOLV_CONF)
        self.nsswitch.write_text(NSSWITCH_CONF)
        self.outside = outside_state()
        self.status_requests = 0
        self.dns: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Lab:
        try:
            self._certificates()
            self._start_dns()
            self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def netns(self) -> str:
        """The namespace, named by its first process: the DNS server."""
        assert self.dns is not None
        return f"/proc/{self.dns.pid}/ns/net"

    def wrap(self, command: Sequence[str]) -> list[str]:
        """``command`` run in the namespace, in a mount namespace of its own (see module)."""
        return [
            *self._enter(),
            "unshare",
            "-m",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            WRAPPER,
            "wrap",
            str(self.resolv),
            str(self.nsswitch),
            str(self.mark),
            *command,
        ]

    def observe(self, command: Sequence[str], run: Callable[[list[str]], T]) -> tuple[T, Observed]:
        """``run(wrapped command)``, with nginx's and the DNS server's counts for it.

        Exits the whole suite if the wrapper's mounts did not take or the machine's
        /etc/resolv.conf changed: a benchmark name may then have gone astray.
        """
        self.mark.unlink(missing_ok=True)
        self.take_dns()
        before = self.requests()
        result = run(self.wrap(command))
        observed = Observed(self.requests() - before, self.take_dns())
        if outside_state() != self.outside:
            sys.exit("R scenarios: the machine's /etc/resolv.conf or its mounts CHANGED; stopped")
        if not self.mark.exists():
            by_hand = shlex.join(self.wrap(["cat", "/etc/resolv.conf"]))
            sys.exit(f"R scenarios: the namespace wrapper failed; try by hand: {by_hand}")
        return result, observed

    def wrapper_cost(self, repeat: int = 5) -> float:
        """Median seconds to start ``true`` in the namespaces (part of every R wall time)."""

        def start(wrapped: list[str]) -> float:
            started = time.perf_counter()
            subprocess.run(wrapped, check=True)
            return time.perf_counter() - started

        return statistics.median(self.observe(["true"], start)[0] for _ in range(repeat))

    def requests(self) -> int:
        """nginx's request count (stub_status), minus the status requests themselves."""
        answer = unix_exchange(self.status, b"GET /nginx_status HTTP/1.0\r\nHost: s\r\n\r\n")
        lines = answer.split(b"\r\n\r\n", 1)[1].decode().splitlines()
        self.status_requests += 1
        return int(lines[2].split()[2]) - self.status_requests

    def take_dns(self) -> DnsCounts:
        """The DNS server's counts since the last call."""
        return DnsCounts.parse(unix_exchange(self.control, b"take\n"))

    def stop(self) -> None:
        """Stop nginx and the DNS server (by PID); bounded waits."""
        if self.pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(self.pid_file.read_text()), 15)
            for _ in range(200):  # nginx removes its PID file as it exits: up to 10 s
                if not self.pid_file.exists():
                    break
                time.sleep(0.05)
        if self.dns is not None and self.dns.poll() is None:
            self.dns.terminate()
            try:
                self.dns.wait(10)
            except subprocess.TimeoutExpired:
                self.dns.kill()
                self.dns.wait(10)

    def _enter(self) -> list[str]:
        return ["nsenter", f"--net={self.netns}", "--"]

    def _certificates(self) -> None:
        """A CA made now, and nginx's certificate for ``*.bench.test`` signed by it."""
        import trustme

        authority = trustme.CA()
        issued = authority.issue_cert(f"*.{ZONE}")
        authority.cert_pem.write_to_path(str(self.ca))
        issued.private_key_pem.write_to_path(str(self.dir / "key.pem"))
        with (self.dir / "chain.pem").open("wb") as chain:
            for blob in issued.cert_chain_pems:
                chain.write(blob.bytes())

    def _start_dns(self) -> None:
        """The DNS server, first process of a new network namespace with loopback up."""
        command = [
            "unshare",
            "-n",
            "--",
            "sh",
            "-c",
            f'ip link set lo up && ip addr add {HOST_ADDRESS} dev lo && exec "$0" "$@"',
            sys.executable,
            str(HERE / "dnsserver.py"),
            "--port",
            "53",
            "--delay",
            str(DNS_DELAY),
            "--control",
            str(self.control),
        ]
        dns = self.dns = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        wait_for(lambda: self.control.exists() or dns.poll() is not None, "the DNS server")
        if dns.poll() is not None:
            sys.exit(f"R scenarios: the DNS server exited ({dns.returncode}); see above")

    def _start_nginx(self) -> None:
        www = self.dir / "www"
        www.mkdir()
        (www / "small.bin").write_bytes(os.urandom(1024))
        conf = self.dir / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
pid {self.pid_file};
error_log {self.dir}/error.log;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    sendfile on;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:80 default_server backlog=8192;
        listen 127.0.0.1:443 ssl default_server backlog=8192;
        listen unix:{self.status};
        server_name *.{ZONE};
        ssl_certificate {self.dir}/chain.pem;
        ssl_certificate_key {self.dir}/key.pem;
        root {www};
        location = /nginx_status {{ stub_status; }}
    }}
}}
""")
        subprocess.run([*self._enter(), "nginx", "-c", str(conf), "-p", str(self.dir)], check=True)
        wait_for(lambda: self.pid_file.exists() and self.status.exists(), "nginx")


def outside_state() -> tuple[str, list[str]]:
    """The machine's /etc/resolv.conf (sha256) and the mounts on /etc files a run may touch."""
    digest = hashlib.sha256(Path("/etc/resolv.conf").read_bytes()).hexdigest()
    mounts = [
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if any(f" {path} " in line for path in WATCHED)
    ]
    return digest, mounts


def unix_exchange(path: Path, request: bytes) -> bytes:
    """Send ``request`` on a Unix stream socket; everything answered until it closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(request)
        chunks = []
        for _ in range(1024):  # bounded: both answers are a few hundred bytes
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def wait_for(ready: Callable[[], bool], what: str, seconds: float = 15) -> None:
    """Poll ``ready`` until it holds; exit the suite if it never does."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            sys.exit(f"R scenarios: {what} did not start within {seconds:.0f} s")
        time.sleep(0.05)
