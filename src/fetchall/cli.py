"""The command line: parse options, build the settings, and run. Only this module (with
``_run``) reads the process environment, terminals and streams."""

from __future__ import annotations

from typing import Annotated

import typer

from fetchall._settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    Settings,
)
from fetchall._version import __version__
from fetchall._writers import OutputFormat

HELP = """Fetch every URL listed in SOURCE files (or stdin), many at a time.

One record per URL line goes to stdout, as soon as that URL finishes; progress and the
summary go to stderr. SOURCE is a file with one URL per line, or - for stdin; with no
SOURCE, stdin is read. Blank lines and lines starting with # are skipped; a line without
a scheme gets https://.

Exit status: 0 all succeeded, 1 some failed, 2 usage error or unreadable SOURCE,
3 internal error, 130 interrupted, 141 stdout closed, 143 terminated."""

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"fetchall {__version__}")
        raise typer.Exit()


@app.command(help=HELP, no_args_is_help=False)
def fetch(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[SOURCE]...", show_default=False, help="URL list files; - is stdin."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("-c", "--concurrency", min=1, help="At most N requests in flight.")
    ] = DEFAULT_CONCURRENCY,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Record format on stdout.")
    ] = OutputFormat.TEXT,
    json: Annotated[bool, typer.Option("--json", help="Short for --format jsonl.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "-t", "--timeout", min=0.001, help="Deadline in seconds for each URL, body included."
        ),
    ] = DEFAULT_TIMEOUT,
    connect_timeout: Annotated[
        float,
        typer.Option("--connect-timeout", min=0.001, help="Seconds allowed to connect."),
    ] = DEFAULT_CONNECT_TIMEOUT,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q", "--quiet", help="No text records and no summary (jsonl and csv still written)."
        ),
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour (as NO_COLOR=1).")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Fetch every URL in the SOURCE lists."""
    from fetchall._run import Environment, Output, run

    if json:
        if output_format not in (OutputFormat.TEXT, OutputFormat.JSONL):
            raise typer.BadParameter("cannot be combined with --format csv", param_hint="--json")
        output_format = OutputFormat.JSONL
    env = Environment.from_process()
    if not sources:
        if env.stdin_isatty:
            raise typer.BadParameter(
                "none given and stdin is a terminal: pipe URLs in or name a file",
                param_hint="SOURCE",
            )
        sources = ["-"]
    settings = Settings(concurrency=concurrency, timeout=timeout, connect_timeout=connect_timeout)
    output = Output(format=output_format, quiet=quiet, color=not no_color, debug=debug)
    raise typer.Exit(run(sources, settings, output, env))


def main() -> None:
    """The ``fetchall`` entry point."""
    app(prog_name="fetchall")
