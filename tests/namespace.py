"""Running a command with its own ``/etc/resolv.conf`` and ``/etc/hosts``, never the
machine's: a private mount namespace (``unshare -m``, propagation private) where test files
are bind-mounted over them, and a network namespace of its own (``unshare -n``, loopback
brought up), so its 127.0.0.1:53 is free for the test DNS server and nothing it sends can
leave it. The machine's ``/etc/resolv.conf`` is checked unchanged (its bytes) after, with no
mount of it visible outside.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

RESOLV_CONF = Path("/etc/resolv.conf")
_SETUP = """
set -e
mount --bind "$1" /etc/resolv.conf
mount --bind "$2" /etc/hosts
cmp -s "$1" /etc/resolv.conf
ip link set lo up
shift 2
exec "$@"
"""
_UNSHARE = ["unshare", "-m", "-n", "--propagation", "private"]


def why_not_isolated() -> str | None:
    """Why commands cannot be isolated here (unshare not permitted or missing, no
    resolv.conf to mount over), or None when they can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) is not installed"
    if not RESOLV_CONF.is_file() or not Path("/etc/hosts").is_file():
        return "no /etc/resolv.conf or /etc/hosts to mount a test file over"
    try:
        probe = subprocess.run(
            [*_UNSHARE, "true"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError as exc:
        return f"unshare failed: {exc}"
    if probe.returncode != 0:
        return f"unshare -m -n is not permitted here: {probe.stderr.strip()}"
    return None


def run_isolated(
    command: list[str], *, resolv_conf: Path, hosts: Path, timeout: float, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in namespaces where ``resolv_conf`` and ``hosts`` are
    ``/etc/resolv.conf`` and ``/etc/hosts``; AssertionError if the machine's resolv.conf
    changed or a mount over it shows outside."""
    before = hashlib.sha256(RESOLV_CONF.read_bytes()).hexdigest()
    try:
        return subprocess.run(
            [*_UNSHARE, "sh", "-c", _SETUP, "sh", str(resolv_conf), str(hosts), *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )
    finally:
        assert hashlib.sha256(RESOLV_CONF.read_bytes()).hexdigest() == before
        mounts = Path("/proc/self/mountinfo").read_text()
        assert " /etc/resolv.conf " not in mounts
        assert " /etc/hosts " not in mounts
