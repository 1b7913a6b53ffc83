"""The engine: concurrency and politeness, knowing nothing of terminals or options.

Owns the scheduler (``fetcher``: permits, task spawning, stop reasons, the API's
``fetch_all``), the per-host gate (``hosts``), the hosts given up on after failing again
and again (``host_errors``), the attempts of one line with their retries and kept bodies
(``attempts``, ``retry``), start rates (``rates``) and the progress events it reports
(``observer``).

Imports the HTTP, bodies and input packages, the settings and the shared values; never
the command line, typer or rich, and never httpx (``_http`` wraps it).
"""

from fetchall._engine.fetcher import Fetcher, fetch_all
from fetchall._engine.host_errors import not_tried
from fetchall._engine.observer import NullObserver, Observer

__all__ = ["Fetcher", "NullObserver", "Observer", "fetch_all", "not_tried"]
