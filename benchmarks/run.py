"""fetchall's benchmark suite: fetchall against curl, aria2c, Wget2 and a naive httpx script,
on a local nginx, interleaved over rounds, medians and ratios written as markdown.

    python benchmarks/run.py                 # 3 rounds, writes benchmarks/RESULTS.md
    python benchmarks/run.py --rounds 5 --out /tmp/results.md
    python benchmarks/run.py --quick         # smaller lists, one round: a smoke run

Run it with the Python of fetchall's virtual environment (it runs the `fetchall` beside
that Python, and httpx for the naive script). As root it installs what is missing with
apt-get (nginx, its echo module, aria2, wget2, GNU time). It starts its own nginx on
127.0.0.1 (one worker, no access log) and stops it by its PID at the end. Only
127.0.0.1 is ever contacted, and every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FETCHALL = str(BIN / "fetchall")
PACKAGES = {
    "nginx": "nginx",
    "aria2c": "aria2",
    "wget2": "wget2",
    "/usr/bin/time": "time",
}
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
class Scenario:
    """A list of URLs fetched N at a time."""

    name: str
    title: str
    path: str
    count: int
    concurrency: int
    body_bytes: int
    ideal_seconds: float | None = None
    tools: tuple[str, ...] = ("fetchall", "curl", "aria2c", "wget2", "httpx")


@dataclass
class Run:
    """One tool's run of one scenario in one round."""

    wall: float
    cpu: float
    rss_kib: int
    requests: int
    ok: bool


@dataclass
class Table:
    runs: dict[tuple[str, str], list[Run]] = field(default_factory=dict)
    curl_ratio: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, scenario: str, tool: str, run: Run) -> None:
        self.runs.setdefault((scenario, tool), []).append(run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small lists, one round")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    ensure_tools()
    scale = 10 if args.quick else 1
    rounds = 1 if args.quick else args.rounds
    scenarios = [
        Scenario("S1", "10,000 x 1 KiB, 64 at a time", "/small.bin", 10_000 // scale, 64, 1024),
        Scenario(
            "S2",
            "2,000 x 1 KiB each delayed 200 ms, 100 at a time",
            "/delay/x",
            2_000 // scale,
            100,
            1024,
            ideal_seconds=2_000 // scale / 100 * 0.2,
        ),
        Scenario("S3", "64 x 50 MiB, 8 at a time", "/big.bin", 64 // scale or 8, 8, 50 << 20),
        Scenario(
            "S4",
            "200,000 x 1 KiB, 128 at a time",
            "/small.bin",
            200_000 // scale,
            128,
            1024,
            tools=("fetchall", "curl", "aria2c", "wget2"),
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="fetchall-bench-") as work:
        root = Path(work)
        root.chmod(0o755)
        server = Nginx(root)
        try:
            table = Table()
            for number in range(1, rounds + 1):
                for scenario in scenarios:
                    urls = write_urls(root, server, scenario)
                    for tool in scenario.tools:
                        run = run_tool(tool, scenario, urls, root, server)
                        table.add(scenario.name, tool, run)
                        print(
                            f"round {number} {scenario.name} {tool}: {run.wall:.2f}s "
                            f"{run.requests} requests{'' if run.ok else ' (FAILED)'}",
                            flush=True,
                        )
                    curl = table.runs[(scenario.name, "curl")][-1]
                    for tool in scenario.tools:
                        mine = table.runs[(scenario.name, tool)][-1]
                        ratio = mine.wall / curl.wall if curl.wall else float("nan")
                        table.curl_ratio.setdefault((scenario.name, tool), []).append(ratio)
                display = display_overhead(root, server, scenarios[0])
                table.add("S6", "--no-progress", display[0])
                table.add("S6", "--progress", display[1])
            startup = measure_startup()
        finally:
            server.stop()
    report = render(scenarios, table, startup, rounds)
    Path(args.out).write_text(report)
    print(report)
    return 0


def ensure_tools() -> None:
    missing = [package for tool, package in PACKAGES.items() if not shutil.which(tool)]
    if not Path(ECHO_SO).exists():
        missing.append(ECHO_MODULE)
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"missing: {' '.join(missing)}; install them (apt-get install ...) and rerun")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)


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


def write_urls(root: Path, server: Nginx, scenario: Scenario) -> Path:
    path = root / f"{scenario.name}.txt"
    path.write_text("".join(f"{server.url(scenario.path)}?i={i}\n" for i in range(scenario.count)))
    return path


def run_tool(tool: str, scenario: Scenario, urls: Path, root: Path, server: Nginx) -> Run:
    n = str(scenario.concurrency)
    scratch = Path(tempfile.mkdtemp(prefix="fetchall-bench-", dir="/dev/shm"))
    try:
        if tool == "fetchall":
            command = [FETCHALL, "--json", "-q", "--no-progress", "-c", n, str(urls)]
        elif tool == "curl":
            config = root / "curl.cfg"
            config.write_text(
                "".join(f'url = "{u}"\noutput = "/dev/null"\n' for u in urls.read_text().split())
            )
            command = ["curl", "--parallel", "--parallel-max", n, "-s", "-K", str(config)]
        elif tool == "aria2c":
            listing = root / "aria2.txt"
            listing.write_text(
                "".join(f"{u}\n  out={i}.bin\n" for i, u in enumerate(urls.read_text().split()))
            )
            command = [
                "aria2c",
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
        elif tool == "wget2":
            command = [
                "wget2",
                "-q",
                "--no-config",
                f"--max-threads={n}",
                "-i",
                str(urls),
                "-O",
                "/dev/null",
            ]
        elif tool == "httpx":
            script = root / "naive_httpx.py"
            script.write_text(NAIVE_HTTPX)
            command = [sys.executable, str(script), str(urls), n]
        else:
            raise ValueError(tool)
        return timed(command, server, scenario.count)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def timed(command: list[str], server: Nginx | None, expected: int) -> Run:
    """Run under GNU time: wall, user+sys CPU and peak RSS; nginx's request count."""
    before = server.requests() if server else 0
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        finished = subprocess.run(
            ["/usr/bin/time", "-o", report.name, "-f", "%U %S %M", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=3600,
            check=False,
        )
        wall = time.perf_counter() - started
        user, system, rss = report.read().split()[-3:]
    requests = server.requests() - before if server else expected
    ok = requests >= expected and finished.returncode == 0
    return Run(wall, float(user) + float(system), int(rss), requests, ok)


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


def render(scenarios: list[Scenario], table: Table, startup: dict[str, float], rounds: int) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    out = [
        "# fetchall benchmark results",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}; {tool_versions()}.",
        f"Server: nginx, one worker, on 127.0.0.1. {rounds} interleaved round(s); each figure is "
        "the median, with the range over rounds in brackets. 'vs curl' is wall time divided by "
        "curl's in the same round (median of the rounds). 'checked' means nginx's stub_status "
        "counted at least the expected requests and the tool exited 0.",
        "",
        f"Generated by `python benchmarks/run.py` on {time.strftime('%Y-%m-%d')}.",
        "",
    ]
    for scenario in scenarios:
        out += [f"## {scenario.name}: {scenario.title}", ""]
        unit = "MiB/s" if scenario.body_bytes > 1 << 20 else "req/s"
        out.append(
            f"| tool | wall s | {unit} | CPU s | CPU us/req | peak RSS MiB | vs curl | checked |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for tool in scenario.tools:
            runs = table.runs[(scenario.name, tool)]
            wall = [run.wall for run in runs]
            rate = [
                scenario.count * (scenario.body_bytes / 2**20 if unit == "MiB/s" else 1) / w
                for w in wall
            ]
            cpu_s = [run.cpu for run in runs]
            out.append(
                f"| {tool} | {spread(wall, '.2f')} | {spread(rate, ',.0f')} "
                f"| {spread(cpu_s, '.2f')} "
                f"| {statistics.median(cpu_s) / scenario.count * 1e6:,.0f} "
                f"| {statistics.median(run.rss_kib for run in runs) / 1024:.0f} "
                f"| {statistics.median(table.curl_ratio[(scenario.name, tool)]):.2f}x "
                f"| {'yes' if all(run.ok for run in runs) else 'NO'} |"
            )
        if scenario.ideal_seconds:
            fetchall_wall = statistics.median(
                run.wall for run in table.runs[(scenario.name, "fetchall")]
            )
            out += [
                "",
                f"Ideal wall time {scenario.ideal_seconds:.1f} s; fetchall "
                f"{fetchall_wall / scenario.ideal_seconds:.2f}x the ideal.",
            ]
        out.append("")
    s1 = statistics.median(run.rss_kib for run in table.runs[("S1", "fetchall")])
    s4 = statistics.median(run.rss_kib for run in table.runs[("S4", "fetchall")])
    out += [
        f"fetchall's peak RSS in S4 is {s4 / s1:.2f}x its S1 figure "
        f"({s4 / 1024:.0f} vs {s1 / 1024:.0f} MiB).",
        "",
    ]
    off = [run.wall for run in table.runs[("S6", "--no-progress")]]
    on = [run.wall for run in table.runs[("S6", "--progress")]]
    off_cpu = statistics.median(run.cpu for run in table.runs[("S6", "--no-progress")])
    on_cpu = statistics.median(run.cpu for run in table.runs[("S6", "--progress")])
    cost = (statistics.median(on) / statistics.median(off) - 1) * 100
    out += [
        "## S5: start-up (median of 20 runs)",
        "",
        "| command | ms |",
        "|---|---:|",
        *[f"| `{name}` | {seconds * 1000:.0f} |" for name, seconds in startup.items()],
        "",
        "## S6: live display overhead (S1 with the display forced on, rendered to /dev/null)",
        "",
        "| fetchall | wall s | CPU s |",
        "|---|---:|---:|",
        f"| --no-progress | {spread(off, '.2f')} | {off_cpu:.2f} |",
        f"| --progress | {spread(on, '.2f')} | {on_cpu:.2f} |",
        "",
        f"Display cost: {cost:+.1f}% wall time.",
        "",
    ]
    return "\n".join(out)


def spread(values: Sequence[float], spec: str) -> str:
    if len(values) == 1:
        return format(values[0], spec)
    low, high = format(min(values), spec), format(max(values), spec)
    return f"{format(statistics.median(values), spec)} [{low} to {high}]"


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
