"""The command line: parse options, build the settings, and run. Only this module (with
``_run``) reads the process environment, terminals and streams."""

from __future__ import annotations

import importlib.util
import ssl
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from fetchall._options import parse_header, parse_size
from fetchall._settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Settings,
)
from fetchall._version import __version__
from fetchall._writers import OutputFormat

HELP = """Fetch every URL listed in SOURCE files (or stdin), many at a time.

One record per URL line goes to stdout, as soon as that URL finishes; the summary goes
to stderr. SOURCE is a file with one URL per line, or - for stdin; with no SOURCE, stdin
is read. Blank lines and lines starting with # are skipped; a line without a scheme gets
https://.

Exit status: 0 all succeeded, 1 some failed, 2 usage error or unreadable SOURCE,
3 internal error, 130 interrupted, 141 stdout closed, 143 terminated."""

T = TypeVar("T")

OUTPUT = "Output"
NETWORK = "Timeouts and retries"
POLITENESS = "Politeness"
REQUEST = "Request"
SAVING = "Saving bodies"
SELECTION = "Choosing lines"

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"fetchall {__version__}")
        raise typer.Exit()


@app.command(help=HELP)
def fetch(
    sources: Annotated[
        list[str] | None,
        typer.Argument(metavar="SOURCE", show_default=False, help="URL list files; - is stdin."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("-c", "--concurrency", min=1, help="At most N requests in flight.")
    ] = DEFAULT_CONCURRENCY,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="Record format on stdout.", rich_help_panel=OUTPUT),
    ] = OutputFormat.TEXT,
    json: Annotated[
        bool, typer.Option("--json", help="Short for --format jsonl.", rich_help_panel=OUTPUT)
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q",
            "--quiet",
            help="No text records and no summary (jsonl and csv still written).",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    no_color: Annotated[
        bool,
        typer.Option("--no-color", help="No colour (as NO_COLOR=1).", rich_help_panel=OUTPUT),
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            show_default=False,
            help="Force the live display on or off \\[default: on when stderr is a terminal "
            "and not --quiet].",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "-t",
            "--timeout",
            min=0.001,
            help="Hard deadline in seconds for each attempt, body included.",
            rich_help_panel=NETWORK,
        ),
    ] = DEFAULT_TIMEOUT,
    connect_timeout: Annotated[
        float,
        typer.Option(
            "--connect-timeout",
            min=0.001,
            help="Seconds allowed to connect.",
            rich_help_panel=NETWORK,
        ),
    ] = DEFAULT_CONNECT_TIMEOUT,
    retries: Annotated[
        int,
        typer.Option(
            "-r",
            "--retries",
            min=0,
            help="Retries of a transient failure (connect, timeout, dropped body, "
            "429/502/503/504), with jittered exponential backoff.",
            rich_help_panel=NETWORK,
        ),
    ] = DEFAULT_RETRIES,
    max_retry_wait: Annotated[
        float,
        typer.Option(
            "--max-retry-wait",
            min=0,
            help="Longest wait in seconds that a Retry-After header can ask for.",
            rich_help_panel=NETWORK,
        ),
    ] = DEFAULT_MAX_RETRY_WAIT,
    fail_fast: Annotated[
        bool,
        typer.Option(
            "--fail-fast",
            help="Stop at the first failed line: cancel what is in flight, exit 1.",
            rich_help_panel=NETWORK,
        ),
    ] = False,
    per_host: Annotated[
        int,
        typer.Option(
            "--per-host",
            min=0,
            help="At most N requests in flight to one host (scheme, host, port); 0: no limit.",
            rich_help_panel=POLITENESS,
        ),
    ] = 0,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            help="At most R request starts per second overall.",
            rich_help_panel=POLITENESS,
        ),
    ] = None,
    host_rate: Annotated[
        float | None,
        typer.Option(
            "--host-rate",
            min=0.001,
            help="At most R request starts per second to one host.",
            rich_help_panel=POLITENESS,
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option("-X", "--method", help="HTTP method (HEAD works).", rich_help_panel=REQUEST),
    ] = "GET",
    header: Annotated[
        list[str] | None,
        typer.Option(
            "-H",
            "--header",
            metavar="'NAME: VALUE'",
            help="Send this header (repeatable).",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    user_agent: Annotated[
        str | None,
        typer.Option(
            "-A",
            "--user-agent",
            help=f"User-Agent header \\[default: fetchall/{__version__}]",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    max_redirects: Annotated[
        int,
        typer.Option(
            "--max-redirects", min=0, help="Redirects to follow.", rich_help_panel=REQUEST
        ),
    ] = DEFAULT_MAX_REDIRECTS,
    no_follow: Annotated[
        bool,
        typer.Option("--no-follow", help="Do not follow redirects.", rich_help_panel=REQUEST),
    ] = False,
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            metavar="SIZE",
            help="Fail bodies larger than SIZE (500K, 10M, 1G; powers of 1024) as too_large.",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    http2: Annotated[
        bool,
        typer.Option(
            "--http2",
            help="Use HTTP/2 where the server offers it (pip install 'fetchall\\[http2]').",
            rich_help_panel=REQUEST,
        ),
    ] = False,
    insecure: Annotated[
        bool,
        typer.Option(
            "-k", "--insecure", help="Do not verify TLS certificates.", rich_help_panel=REQUEST
        ),
    ] = False,
    cacert: Annotated[
        str | None,
        typer.Option(
            "--cacert",
            metavar="FILE",
            help="Trust the CA certificates in this PEM file.",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    proxy: Annotated[
        str | None,
        typer.Option(
            "--proxy",
            metavar="URL",
            help="Send requests through this proxy (HTTP_PROXY and friends are honoured anyway).",
            rich_help_panel=REQUEST,
        ),
    ] = None,
    output_dir: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output-dir",
            metavar="DIR",
            help="Save each successful body under DIR/<host>/<path> (created if missing).",
            rich_help_panel=SAVING,
        ),
    ] = None,
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing",
            help="With -o: do not fetch a URL whose file already exists.",
            rich_help_panel=SAVING,
        ),
    ] = False,
    sha256: Annotated[
        bool,
        typer.Option(
            "--sha256", help="Add the SHA-256 of each body to its record.", rich_help_panel=SAVING
        ),
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="FILE",
            help="Skip lines whose URL has an ok record in FILE (an earlier run's jsonl).",
            rich_help_panel=SELECTION,
        ),
    ] = None,
    unique: Annotated[
        bool,
        typer.Option(
            "--unique",
            help="Fetch each distinct URL once; later duplicates get no record.",
            rich_help_panel=SELECTION,
        ),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="K/N",
            help="Handle only shard K of N (0 <= K < N), by a stable hash of each URL.",
            rich_help_panel=SELECTION,
        ),
    ] = None,
    transport: Annotated[
        str,
        typer.Option(
            "--transport",
            metavar="fast|httpx",
            help="HTTP/1.1 transport: fetchall's fast one, or httpx's own (--http2 uses httpx's).",
            rich_help_panel=REQUEST,
        ),
    ] = "fast",
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
    from fetchall._run import Environment, Output, Selection, run
    from fetchall._selection import Shard

    if json:
        if output_format not in (OutputFormat.TEXT, OutputFormat.JSONL):
            raise typer.BadParameter("cannot be combined with --format csv", param_hint="--json")
        output_format = OutputFormat.JSONL
    if http2 and importlib.util.find_spec("h2") is None:
        raise typer.BadParameter(
            "needs the http2 extra: pip install 'fetchall[http2]'", param_hint="--http2"
        )
    if cacert is not None:
        _check_cacert(cacert)
    if transport not in ("fast", "httpx"):
        raise typer.BadParameter("must be fast or httpx", param_hint="--transport")
    if skip_existing and output_dir is None:
        raise typer.BadParameter("needs -o/--output-dir", param_hint="--skip-existing")
    selection = Selection(
        shard=None if shard is None else _option(Shard.parse, shard, "--shard"),
        resume=resume,
        unique=unique,
    )
    env = Environment.from_process()
    if not sources:
        if env.stdin_isatty:
            raise typer.BadParameter(
                "none given and stdin is a terminal: pipe URLs in or name a file",
                param_hint="SOURCE",
            )
        sources = ["-"]
    settings = Settings(
        concurrency=concurrency,
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        max_retry_wait=max_retry_wait,
        per_host=per_host,
        rate=rate,
        host_rate=host_rate,
        follow_redirects=not no_follow,
        max_redirects=max_redirects,
        max_size=None if max_size is None else _option(parse_size, max_size, "--max-size"),
        method=method.upper(),
        headers=tuple(_option(parse_header, text, "--header") for text in header or ()),
        user_agent=user_agent,
        http2=http2,
        verify=not insecure,
        cacert=cacert,
        proxy=proxy,
        fail_fast=fail_fast,
        output_dir=output_dir,
        skip_existing=skip_existing,
        sha256=sha256,
        transport=transport,
    )
    output = Output(
        format=output_format, quiet=quiet, color=not no_color, progress=progress, debug=debug
    )
    raise typer.Exit(run(sources, settings, output, env, selection))


def _option(parse: Callable[[str], T], text: str, name: str) -> T:
    """The parsed option value, or a usage error naming the option."""
    try:
        return parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from exc


def _check_cacert(path: str) -> None:
    """A usage error now, rather than a failure of every URL later."""
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise typer.BadParameter(f"cannot load {path}: {reason}", param_hint="--cacert") from exc


def main() -> None:
    """The ``fetchall`` entry point."""
    app(prog_name="fetchall")
