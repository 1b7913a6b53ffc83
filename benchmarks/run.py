"""fetchall's benchmark suite: fetchall against curl, aria2c, Wget2 and a naive httpx script,
on a local nginx, interleaved over rounds, medians and ratios written as markdown.

    python benchmarks/run.py                 # 3 rounds, writes benchmarks/RESULTS.md
    python benchmarks/run.py --rounds 5 --out /tmp/results.md
    python benchmarks/run.py --quick         # smaller lists, one round: a smoke run
    python benchmarks/run.py --only R1,R2    # some scenarios only

S1-S6 fetch from one nginx by IP literal. R1-R4 name many hosts under bench.test, which
the suite's own DNS server answers after 20 ms, in a private network namespace where each
tool runs in a mount namespace of its own with a resolv.conf naming that server
(names.py says how and why). R1-R4 need root for `unshare -m -n`; where it is not
permitted they are skipped with a note.

Run it with the Python of a virtual environment where fetchall is installed as users
install it (`pip install .`; it runs the `fetchall` beside that Python and httpx for the
naive script). Not the dev environment: its import-linter brings click, and where click is
importable httpx imports its own command-line client (click, pygments, rich.syntax) at
every start, +185 million instructions (callgrind), which no user install pays; the suite
warns when click is there. As root it installs what is missing with apt-get (nginx, its
echo module, aria2, wget2, GNU time, iproute2), and dnslib (the DNS server) and trustme
(the CA) with pip when run from a virtual environment. It starts its own nginx on 127.0.0.1 (one
worker, no access log) and stops it by its PID at the end. Only loopback is ever
contacted, and every loop is bounded. A run of every scenario at full size writes
benchmarks/RESULTS.md; a `--quick` or `--only` run prints its report (and writes it
where `--out` says).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from names import Lab, Names, unavailable
from report import Run, Scenario, Table, render

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FETCHALL = str(BIN / "fetchall")
PACKAGES = {
    "nginx": "nginx",
    "aria2c": "aria2",
    "wget2": "wget2",
    "/usr/bin/time": "time",
}
NAMED_PACKAGES = {"ip": "iproute2", "nsenter": "util-linux", "cmp": "diffutils"}
NAMED_MODULES = ("dnslib", "trustme")
CLICK_WARNING = (
    "note: click is installed here, so httpx imports its command-line client at every"
    " fetchall start (about +0.1 s a run); measure in a venv with only `pip install .`"
)
NAMED_TOOLS = ("fetchall", "curl", "aria2c")
SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "S6", "R1", "R2", "R3", "R4")
ECHO_MODULE = "libnginx-mod-http-echo"
ECHO_SO = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
NAIVE_HTTPX = """
import asyncio, sys, httpx
async def main(path, limit):
    urls = open(path).read().split()
    gate = asyncio.Semaphore(limit)
    async with httpx.AsyncClient() as client:
        async def one(url):
            async with gate:
                response = await client.get(url)
                await response.aread()
        await asyncio.gather(*(one(url) for url in urls))
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@dataclass(frozen=True)
class Measured:
    """What GNU time and the exit status say of one command."""

    returncode: int
    wall: float
    cpu: float
    rss_kib: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small lists, one round")
    parser.add_argument(
        "--only", help=f"comma-separated scenarios to run, of {','.join(SCENARIOS)} (default all)"
    )
    parser.add_argument("--out", help="where to write the report (default: see above)")
    args = parser.parse_args(argv)
    only = selection(parser, args.only)
    scale = 10 if args.quick else 1
    rounds = 1 if args.quick else args.rounds
    every = make_scenarios(scale)
    scenarios = [scenario for scenario in every if scenario.name in only]
    skipped = unavailable() if any(scenario.names for scenario in scenarios) else None
    if skipped:
        print(f"R1-R4 skipped: {skipped}", file=sys.stderr, flush=True)
        scenarios = [scenario for scenario in scenarios if not scenario.names]
    ensure_tools(scenarios, one_host=bool(only & {"S1", "S2", "S3", "S4", "S6"}))
    if importlib.util.find_spec("click") is not None:
        print(CLICK_WARNING, file=sys.stderr, flush=True)
    table = Table(skipped=skipped)
    with tempfile.TemporaryDirectory(prefix="fetchall-bench-") as work:
        root = Path(work)
        root.chmod(0o755)
        with contextlib.ExitStack() as servers:
            server = lab = None
            if any(not scenario.names for scenario in scenarios) or "S6" in only:
                server = Nginx(root)
                servers.callback(server.stop)
            if any(scenario.names for scenario in scenarios):
                lab = servers.enter_context(Lab(root))
                table.wrapper_seconds = lab.wrapper_cost()
            for number in range(1, rounds + 1):
                for scenario in scenarios:
                    measure_scenario(number, scenario, table, root, server, lab)
                if server and "S6" in only:
                    display = display_overhead(root, server, every[0])
                    table.add("S6", "--no-progress", display[0])
                    table.add("S6", "--progress", display[1])
        if "S5" in only:
            table.startup = measure_startup()
    command = " ".join(["python benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    report = render(scenarios, table, rounds, command, tool_versions())
    out = args.out or (None if args.quick or args.only else str(HERE / "RESULTS.md"))
    if out:
        Path(out).write_text(report)
    print(report)
    return 0


def selection(parser: argparse.ArgumentParser, only: str | None) -> set[str]:
    """The scenarios ``--only`` names (all when it is not given)."""
    if not only:
        return set(SCENARIOS)
    chosen = {name.strip().upper() for name in only.split(",") if name.strip()}
    unknown = chosen - set(SCENARIOS)
    if unknown or not chosen:
        parser.error(f"--only: unknown {','.join(sorted(unknown))}; choose from {SCENARIOS}")
    return chosen


def make_scenarios(scale: int) -> list[Scenario]:
    """Every scenario with lists ``scale`` times smaller than the full size (S1 first)."""
    s1, s2, s3, s4 = 10_000 // scale, 2_000 // scale, 64 // scale or 8, 200_000 // scale
    r1, r2, r3, r4 = 10_000 // scale, 3_000 // scale, 2_000 // scale, 1_000 // scale
    return [
        Scenario("S1", f"{s1:,} x 1 KiB, 64 at a time", "/small.bin", s1, 64, 1024),
        Scenario(
            "S2",
            f"{s2:,} x 1 KiB each delayed 200 ms, 100 at a time",
            "/delay/x",
            s2,
            100,
            1024,
            ideal_seconds=s2 / 100 * 0.2,
        ),
        Scenario("S3", f"{s3} x 50 MiB, 8 at a time", "/big.bin", s3, 8, 50 << 20),
        Scenario(
            "S4",
            f"{s4:,} x 1 KiB, 128 at a time",
            "/small.bin",
            s4,
            128,
            1024,
            tools=("fetchall", "curl", "aria2c", "wget2"),
        ),
        Scenario(
            "R1",
            f"{r1:,} x 1 KiB over https, one host name (CA verified), 64 at a time",
            "/small.bin",
            r1,
            64,
            1024,
            tools=NAMED_TOOLS,
            names=Names("https", distinct=False),
            target=3.0,
        ),
        Scenario(
            "R2",
            f"{r2:,} distinct host names over http, 64 at a time",
            "/small.bin",
            r2,
            64,
            1024,
            tools=NAMED_TOOLS,
            names=Names("http", distinct=True),
            target=1.5,
            rss_mib=100,
        ),
        Scenario(
            "R3",
            f"{r3:,} distinct host names over https, 64 at a time",
            "/small.bin",
            r3,
            64,
            1024,
            tools=NAMED_TOOLS,
            names=Names("https", distinct=True),
            target=1.5,
            rss_mib=100,
        ),
        Scenario(
            "R4",
            f"{r4:,} host names over http, 10% never answered by DNS, 64 at a time",
            "/small.bin",
            r4,
            64,
            1024,
            ideal_seconds=2.0,
            tools=NAMED_TOOLS,
            names=Names("http", distinct=True, dead_every=10),
            target=1.5,
            rss_mib=100,
        ),
    ]


def measure_scenario(
    number: int,
    scenario: Scenario,
    table: Table,
    root: Path,
    server: Nginx | None,
    lab: Lab | None,
) -> None:
    """One round of one scenario: each tool in turn, then each tool's ratio to curl."""
    urls = write_urls(root, server, scenario)
    for tool in scenario.tools:
        if scenario.names:
            assert lab is not None
            run = run_named(tool, scenario, urls, root, lab)
        else:
            assert server is not None
            run = run_tool(tool, scenario, urls, root, server)
        table.add(scenario.name, tool, run)
        named = "" if run.failed is None else f", {run.failed} failed, {run.dns_queries} DNS"
        print(
            f"round {number} {scenario.name} {tool}: {run.wall:.2f}s "
            f"{run.requests} requests{named}{'' if run.ok else ' (FAILED)'}",
            flush=True,
        )
    curl = table.runs[(scenario.name, "curl")][-1]
    for tool in scenario.tools:
        mine = table.runs[(scenario.name, tool)][-1]
        ratio = mine.wall / curl.wall if curl.wall else float("nan")
        table.curl_ratio.setdefault((scenario.name, tool), []).append(ratio)


def ensure_tools(scenarios: Sequence[Scenario], *, one_host: bool) -> None:
    """Install the programs (apt-get, as root) and Python packages (pip) the scenarios use."""
    wanted = {"nginx", "/usr/bin/time"} | {t for s in scenarios for t in s.tools if t in PACKAGES}
    packages = {**PACKAGES, **NAMED_PACKAGES}
    named = any(scenario.names for scenario in scenarios)
    if named:
        wanted |= set(NAMED_PACKAGES)
        ensure_modules(NAMED_MODULES)
    missing = sorted({packages[tool] for tool in wanted if not shutil.which(tool)})
    if one_host and not Path(ECHO_SO).exists():
        missing.append(ECHO_MODULE)
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"missing: {' '.join(missing)}; install them (apt-get install ...) and rerun")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)


def ensure_modules(modules: Sequence[str]) -> None:
    """Install missing ``modules`` with pip, as pyproject.toml's extras require them."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if not missing:
        return
    if sys.prefix == sys.base_prefix:
        sys.exit(f"missing: {' '.join(missing)}; pip install them in a virtual environment")
    pyproject = tomllib.loads((HERE.parent / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"].values()
    wanted = {
        requirement
        for extra in extras
        for requirement in extra
        if re.split(r"[^A-Za-z0-9_.-]", requirement, maxsplit=1)[0] in missing
    }
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *sorted(wanted)], check=True)


class Nginx:
    """nginx on 127.0.0.1 with one worker: small.bin, big.bin, /delay/ and stub_status."""

    def __init__(self, root: Path) -> None:
        www = root / "www"
        www.mkdir()
        (www / "small.bin").write_bytes(os.urandom(1024))
        with (www / "big.bin").open("wb") as big:
            for _ in range(50):
                big.write(os.urandom(1 << 20))
        self.port = free_port()
        self.status_requests = 0
        self.pid_file = root / "nginx.pid"
        conf = root / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
pid {self.pid_file};
error_log {root}/error.log;
load_module {ECHO_SO};
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    sendfile on;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port} backlog=8192;
        root {www};
        location = /nginx_status {{ stub_status; }}
        location /delay/ {{ echo_sleep 0.2; echo_exec /small.bin; }}
    }}
}}
""")
        subprocess.run(["nginx", "-c", str(conf), "-p", str(root)], check=True)
        deadline = time.monotonic() + 10
        while not self.pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests(self) -> int:
        """nginx's request count (stub_status), minus the status requests themselves."""
        with urllib.request.urlopen(self.url("/nginx_status"), timeout=10) as answer:
            lines = answer.read().decode().splitlines()
        self.status_requests += 1
        return int(lines[2].split()[2]) - self.status_requests

    def stop(self) -> None:
        if self.pid_file.exists():
            os.kill(int(self.pid_file.read_text()), 15)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_urls(root: Path, server: Nginx | None, scenario: Scenario) -> Path:
    path = root / f"{scenario.name}.txt"
    if scenario.names:
        urls = scenario.names.urls(scenario.count, scenario.path)
    else:
        assert server is not None
        urls = [f"{server.url(scenario.path)}?i={i}" for i in range(scenario.count)]
    path.write_text("".join(f"{url}\n" for url in urls))
    return path


def run_tool(tool: str, scenario: Scenario, urls: Path, root: Path, server: Nginx) -> Run:
    scratch = Path(tempfile.mkdtemp(prefix="fetchall-bench-", dir="/dev/shm"))
    try:
        command = tool_command(tool, str(scenario.concurrency), urls, root, scratch)
        return timed(command, server, scenario.count)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def tool_command(
    tool: str, n: str, urls: Path, root: Path, scratch: Path, extra: Sequence[str] = ()
) -> list[str]:
    """The command line of ``tool`` fetching ``urls`` n at a time; ``extra`` options first."""
    if tool == "fetchall":
        return [FETCHALL, *extra, "--json", "-q", "--no-progress", "-c", n, str(urls)]
    if tool == "curl":
        config = root / "curl.cfg"
        config.write_text(
            "".join(f'url = "{u}"\noutput = "/dev/null"\n' for u in urls.read_text().split())
        )
        return ["curl", *extra, "--parallel", "--parallel-max", n, "-s", "-K", str(config)]
    if tool == "aria2c":
        listing = root / "aria2.txt"
        listing.write_text(
            "".join(f"{u}\n  out={i}.bin\n" for i, u in enumerate(urls.read_text().split()))
        )
        return [
            "aria2c",
            *extra,
            "-q",
            "-j",
            n,
            "-i",
            str(listing),
            "-d",
            str(scratch),
            "--allow-overwrite=true",
            "--auto-file-renaming=false",
            "--file-allocation=none",
            "--max-connection-per-server=16",
            "--console-log-level=error",
            "--summary-interval=0",
        ]
    if tool == "wget2":
        return [
            "wget2",
            *extra,
            "-q",
            "--no-config",
            f"--max-threads={n}",
            "-i",
            str(urls),
            "-O",
            "/dev/null",
        ]
    if tool == "httpx":
        script = root / "naive_httpx.py"
        script.write_text(NAIVE_HTTPX)
        return [sys.executable, str(script), str(urls), n]
    raise ValueError(tool)


def run_named(tool: str, scenario: Scenario, urls: Path, root: Path, lab: Lab) -> Run:
    """An R scenario's run: in the lab's namespaces, trusting its CA, failures counted."""
    assert scenario.names is not None
    scratch = Path(tempfile.mkdtemp(prefix="fetchall-bench-", dir="/dev/shm"))
    try:
        extra = named_options(tool, lab.ca, scratch)
        command = tool_command(tool, str(scenario.concurrency), urls, root, scratch, extra)
        measured, seen = lab.observe(command, lambda wrapped: measure(wrapped, scratch / "out"))
        failed = count_failed(tool, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    dead = scenario.names.dead(scenario.count)
    ok = (
        seen.requests >= scenario.count - dead
        and failed == dead
        and (measured.returncode != 0) == (dead > 0)
        and seen.dns.names >= scenario.names.hosts(scenario.count)
    )
    return Run(
        measured.wall, measured.cpu, measured.rss_kib, seen.requests, ok, failed, seen.dns.queries
    )


def named_options(tool: str, ca: Path, scratch: Path) -> list[str]:
    """Trust the run's CA, and say which URLs failed (read back by ``count_failed``)."""
    if tool == "fetchall":
        return ["--cacert", str(ca)]
    if tool == "curl":
        return ["--cacert", str(ca), "--write-out", "%{exitcode}\n"]
    if tool == "aria2c":
        return [f"--ca-certificate={ca}", f"--save-session={scratch / 'session'}"]
    raise ValueError(tool)


def count_failed(tool: str, scratch: Path) -> int:
    """URLs the tool reported failed: fetchall's records, curl's exit codes, aria2c's session."""
    if tool == "aria2c":  # the session lists each unfinished URL, its options indented below
        session = scratch / "session"
        lines = session.read_text().splitlines() if session.exists() else []
        return sum(1 for line in lines if line and not line[0].isspace())
    lines = (scratch / "out").read_text().splitlines()
    if tool == "fetchall":
        return sum(1 for line in lines if line and not json.loads(line)["ok"])
    return sum(1 for line in lines if line.strip() not in ("", "0"))


def measure(command: list[str], stdout: Path | None = None) -> Measured:
    """Run under GNU time: exit status, wall, user+sys CPU and peak RSS."""
    with contextlib.ExitStack() as stack:
        report = stack.enter_context(tempfile.NamedTemporaryFile("r"))
        out = stack.enter_context(stdout.open("wb")) if stdout else subprocess.DEVNULL
        started = time.perf_counter()
        finished = subprocess.run(
            ["/usr/bin/time", "-o", report.name, "-f", "%U %S %M", *command],
            stdout=out,
            stderr=subprocess.DEVNULL,
            timeout=3600,
            check=False,
        )
        wall = time.perf_counter() - started
        user, system, rss = report.read().split()[-3:]
    return Measured(finished.returncode, wall, float(user) + float(system), int(rss))


def timed(command: list[str], server: Nginx | None, expected: int) -> Run:
    """Run under GNU time: wall, user+sys CPU and peak RSS; nginx's request count."""
    before = server.requests() if server else 0
    measured = measure(command)
    requests = server.requests() - before if server else expected
    ok = requests >= expected and measured.returncode == 0
    return Run(measured.wall, measured.cpu, measured.rss_kib, requests, ok)


def display_overhead(root: Path, server: Nginx, scenario: Scenario) -> tuple[Run, Run]:
    """S6: S1 with the live display forced on (rendered to /dev/null) and off."""
    urls = write_urls(root, server, scenario)
    runs = []
    for flag in ("--no-progress", "--progress"):
        command = [FETCHALL, "--json", "-c", str(scenario.concurrency), flag, str(urls)]
        runs.append(timed(command, server, scenario.count))
    return runs[0], runs[1]


def measure_startup(repeat: int = 20) -> dict[str, float]:
    """S5: median wall seconds of a few commands, each run ``repeat`` times."""
    commands = {
        "fetchall --version": [FETCHALL, "--version"],
        "fetchall --help": [FETCHALL, "--help"],
        "curl --version": ["curl", "--version"],
        "python -c 'import httpx, typer, rich'": [
            sys.executable,
            "-c",
            "import httpx, typer, rich",
        ],
    }
    medians = {}
    for name, command in commands.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        medians[name] = statistics.median(times)
    return medians


def tool_versions() -> str:
    def first_line(command: list[str], keep: Callable[[str], str] = lambda line: line) -> str:
        try:
            output = subprocess.run(command, capture_output=True, text=True, check=False)
            return keep((output.stdout or output.stderr).splitlines()[0])
        except (OSError, IndexError):
            return "?"

    return ", ".join(
        [
            first_line([FETCHALL, "--version"]),
            first_line(["curl", "--version"], lambda line: " ".join(line.split()[:2])),
            first_line(["aria2c", "--version"]),
            first_line(["wget2", "--version"], lambda line: " ".join(line.split()[:3])),
            first_line(["nginx", "-v"]),
            first_line([sys.executable, "-c", "import httpx; print('httpx', httpx.__version__)"]),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
