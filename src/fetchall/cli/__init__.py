"""The command line: the only package that reads options, the environment and terminals,
and the only one that imports typer and rich.

Owns the option declarations (``command``), the pure step from option values to the
run's ``Settings`` and plan (``plan``, ``options``), the wiring of one run (``run``) and
its event loop (``fetch_loop``), signals (``signals``), process housekeeping
(``process``), exit statuses (``status``), the records on stdout (``records``,
``writers``, ``stream``), and everything people read on stderr: the live display
(``progress``, ``display``), the summary (``stats``, ``summary``) and the console
(``console``, ``units``, ``escaping``). The event loop is chosen here (``event_loop``).

Imports the engine, the input package, the settings and the shared values; the engine
never imports this package.
"""

from fetchall.cli.command import app, main

__all__ = ["app", "main"]
