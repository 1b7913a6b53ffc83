"""Run inside an isolated namespace (``tests/namespace.py``) by ``test_names``: start the
test DNS server on 127.0.0.1:53 and the test HTTP server, run the installed ``fetchall``
on a list of URLs, and print one JSON object: the records, the queries the DNS server
received, the most it had waiting at once, and the run's wall time and exit status.

    python -m tests.dns_scenario FETCHALL SPEC_JSON

SPEC_JSON: {"urls": [...], "args": [...], "delay": seconds, "records": {name: [ip]}, and
optionally "limit": seconds the run may take before it is killed (``RUN_SECONDS``)};
``{port}`` in a URL is the HTTP server's port.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from tests.dnsserver import DNSServer
from tests.server import TestServer

RUN_SECONDS = 60.0
"""The longest a fetchall run may take here (a hang ends as a failed test, not a hang)."""


async def main(fetchall: str, spec: dict) -> dict:
    server = TestServer().start()
    try:
        async with DNSServer(port=53, delay=spec["delay"], records=spec["records"]) as dns:
            urls = "".join(url.format(port=server.port) + "\n" for url in spec["urls"])
            started = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                fetchall,
                *spec["args"],
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                stdout, stderr = await asyncio.wait_for(
                    process.communicate(urls.encode()), spec.get("limit", RUN_SECONDS)
                )
            except TimeoutError:  # a run past its limit: killed, and said so
                process.kill()
                await process.wait()
                stdout, stderr = b"", b"killed: still running at the limit"
            wall = time.perf_counter() - started
            return {
                "records": [json.loads(line) for line in stdout.decode().splitlines()],
                "queries": {f"{name} {kind}": n for (name, kind), n in dns.queries.items()},
                "max_pending": dns.max_pending,
                "wall": wall,
                "returncode": process.returncode,
                "stderr": stderr.decode(),
            }
    finally:
        server.stop()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))))
