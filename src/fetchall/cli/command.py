"""The command line: option declarations, and the command that hands their values to
``plan.make_plan`` and ``run.run``. Only the ``cli`` package reads the process environment,
terminals and streams."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from functools import partial
from typing import Annotated

import typer

from fetchall._settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_HOST_ERRORS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_RETRIES,
    DEFAULT_SPEED_LIMIT,
    DEFAULT_SPEED_TIME,
)
from fetchall._version import __version__
from fetchall.cli.status import exit_statuses_help
from fetchall.cli.writers import OutputFormat

HELP = (
    "Fetch every URL listed in SOURCE files (or stdin), many at a time.\n\n"
    "One record per URL line goes to stdout, as soon as that URL finishes; the summary goes "
    "to stderr. SOURCE is a file with one URL per line, or - for stdin; with no SOURCE, "
    "stdin is read. Blank lines and lines starting with # are skipped; a line without a "
    "scheme gets https://.\n\n"
    f"Exit status: {exit_statuses_help()}"
)

EXAMPLES = """[bold]Examples[/bold]

fetchall urls.txt                          text records, one per URL
cat urls.txt | fetchall --json > out.jsonl JSON lines, for a pipeline
fetchall -c 64 --per-host 4 urls.txt       64 at a time, 4 per host
fetchall -X HEAD --format csv urls.txt     status, type and size, as CSV
fetchall -o mirror --sha256 urls.txt       save bodies under mirror/
fetchall --json --resume out.jsonl urls.txt >> out.jsonl
                                           go on after an interruption
"""


class FormatChoice(StrEnum):
    """``--format``'s values: the record formats, and ``json`` as another name of jsonl."""

    TEXT = "text"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"

    @property
    def output_format(self) -> OutputFormat:
        """The format it names."""
        return OutputFormat.JSONL if self is FormatChoice.JSON else OutputFormat(self.value)


app = typer.Typer(
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"fetchall {__version__}")
        raise typer.Exit()


_output = partial(typer.Option, rich_help_panel="Output")
_network = partial(typer.Option, rich_help_panel="Timeouts and retries")
_politeness = partial(typer.Option, rich_help_panel="Politeness")
_request = partial(typer.Option, rich_help_panel="Request")
_saving = partial(typer.Option, rich_help_panel="Saving bodies")
_selection = partial(typer.Option, rich_help_panel="Choosing lines")

# fmt: off
Sources = Annotated[list[str] | None, typer.Argument(
    metavar="[SOURCE]...", show_default=False, help="URL list files; - is stdin.")]
Concurrency = Annotated[int, typer.Option(
    "-c", "--concurrency", help="At most N requests in flight (1 or more).")]

FormatOption = Annotated[FormatChoice | None, _output(
    "--format", help="Record format on stdout: text unless given (json is jsonl).")]
Json = Annotated[bool, _output("--json", help="Short for --format jsonl.")]
Quiet = Annotated[bool, _output(
    "-q", "--quiet",
    help="No live display, no summary, no warnings (errors are still said); records are "
    "written in every format, text included.")]
NoColor = Annotated[bool, _output("--no-color", help="No colour (as NO_COLOR=1).")]
Progress = Annotated[bool | None, _output(
    "--progress/--no-progress", show_default=False,
    help="Force the live display on or off \\[default: on when stderr is a terminal "
    "and not --quiet].")]

Timeout = Annotated[str | None, _network(
    "-t", "--timeout", metavar="SECONDS", show_default=False,
    help="A hard deadline for each attempt, body included \\[default: none; 0 or none: none].")]
ConnectTimeout = Annotated[float, _network(
    "--connect-timeout", metavar="SECONDS", help="Seconds allowed to connect.")]
SpeedLimit = Annotated[str, _network(
    "--speed-limit", metavar="BYTES_PER_S",
    help="Fail an attempt slower than this (1024, 1K) for --speed-time seconds, waiting "
    "included; 0: no limit.")]
SpeedTime = Annotated[float, _network(
    "--speed-time", metavar="SECONDS", help="The time over which --speed-limit is measured.")]
Retries = Annotated[int, _network(
    "-r", "--retries",
    help="Retries of a transient failure (connect, timeout, dropped body, 429/502/503/504), "
    "with jittered exponential backoff.")]
MaxRetryWait = Annotated[float, _network(
    "--max-retry-wait", metavar="SECONDS",
    help="Longest wait in seconds that a Retry-After header can ask for.")]
MaxHostErrors = Annotated[int, _network(
    "--max-host-errors", metavar="N",
    help="After N attempts in a row at one host fail as dns, connect or timeout, fail its "
    "other lines without trying them; 0: never.")]
FailFast = Annotated[bool, _network(
    "--fail-fast", help="Stop at the first failed line: cancel what is in flight, exit 1.")]

PerHost = Annotated[int, _politeness(
    "--per-host",
    help="At most N requests in flight to one host (scheme, host, port); 0: no limit.")]
Rate = Annotated[float | None, _politeness(
    "--rate", metavar="R", help="At most R request starts per second overall.")]
HostRate = Annotated[float | None, _politeness(
    "--host-rate", metavar="R", help="At most R request starts per second to one host.")]

Method = Annotated[str | None, _request(
    "-X", "--method", show_default=False,
    help="HTTP method (HEAD works) \\[default: GET; POST with a body].")]
Header = Annotated[list[str] | None, _request(
    "-H", "--header", metavar="'NAME: VALUE'", help="Send this header (repeatable).")]
Data = Annotated[list[str] | None, _request(
    "-d", "--data", metavar="TEXT",
    help="Send TEXT as the body of every request (implies POST); @FILE sends the file "
    "without its line breaks, as curl does; repeated: joined with &.")]
DataBinary = Annotated[list[str] | None, _request(
    "--data-binary", metavar="@FILE",
    help="Send FILE's bytes exactly as the body (TEXT without @ as given; implies POST).")]
UserAgent = Annotated[str | None, _request(
    "-A", "--user-agent", help=f"User-Agent header \\[default: fetchall/{__version__}]")]
MaxRedirects = Annotated[int, _request("--max-redirects", help="Redirects to follow.")]
NoFollow = Annotated[bool, _request("--no-follow", help="Do not follow redirects.")]
MaxSize = Annotated[str | None, _request(
    "--max-size", metavar="SIZE",
    help="Fail bodies larger than SIZE (500K, 10M, 1G; powers of 1024) as too_large.")]
Http2 = Annotated[bool, _request(
    "--http2", help="Use HTTP/2 where the server offers it (needs the http2 extra: pip install "
    "'fetchall\\[http2]', or pipx inject fetchall 'httpx\\[http2]').")]
Insecure = Annotated[bool, _request(
    "-k", "--insecure", help="Do not verify TLS certificates.")]
Cacert = Annotated[str | None, _request(
    "--cacert", metavar="FILE", help="Trust the CA certificates in this PEM file.")]
Proxy = Annotated[str | None, _request(
    "--proxy", metavar="URL",
    help="Send requests through this proxy (HTTP_PROXY and friends are honoured anyway).")]
Raw = Annotated[bool, _request(
    "--raw", help="Keep bodies exactly as sent: no gzip/deflate/br/zstd decoding; bytes "
    "counted on the wire.")]
Transport = Annotated[str, _request(
    "--transport", metavar="fast|httpx",
    help="HTTP/1.1 transport: fetchall's fast one, or httpx's own (--http2 uses httpx's).")]

OutputDir = Annotated[str | None, _saving(
    "-o", "--output-dir", metavar="DIR",
    help="Save each successful body under DIR/<host>/<path> (created if missing).")]
SkipExisting = Annotated[bool, _saving(
    "--skip-existing", help="With -o: do not fetch a URL whose file already exists.")]
Sha256 = Annotated[bool, _saving(
    "--sha256", help="Add the SHA-256 of each body to its record.")]

Resume = Annotated[str | None, _selection(
    "--resume", metavar="FILE",
    help="Skip lines whose URL has an ok record in FILE (an earlier run's jsonl).")]
Unique = Annotated[bool, _selection(
    "--unique", help="Fetch each distinct URL once; later duplicates get no record.")]
Shard = Annotated[str | None, _selection(
    "--shard", metavar="K/N",
    help="Handle only shard K of N (0 <= K < N), by a stable hash of each URL.")]

Debug = Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")]
Version = Annotated[bool, typer.Option(
    "--version", callback=_show_version, is_eager=True, help="Show the version and exit.")]
# fmt: on


@app.command(name="fetchall", help=HELP, epilog=EXAMPLES)
def command(
    sources: Sources = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    output_format: FormatOption = None,
    json: Json = False,
    quiet: Quiet = False,
    no_color: NoColor = False,
    progress: Progress = None,
    timeout: Timeout = None,
    connect_timeout: ConnectTimeout = DEFAULT_CONNECT_TIMEOUT,
    speed_limit: SpeedLimit = str(DEFAULT_SPEED_LIMIT),
    speed_time: SpeedTime = DEFAULT_SPEED_TIME,
    retries: Retries = DEFAULT_RETRIES,
    max_retry_wait: MaxRetryWait = DEFAULT_MAX_RETRY_WAIT,
    max_host_errors: MaxHostErrors = DEFAULT_MAX_HOST_ERRORS,
    fail_fast: FailFast = False,
    per_host: PerHost = 0,
    rate: Rate = None,
    host_rate: HostRate = None,
    method: Method = None,
    header: Header = None,
    data: Data = None,
    data_binary: DataBinary = None,
    user_agent: UserAgent = None,
    max_redirects: MaxRedirects = DEFAULT_MAX_REDIRECTS,
    no_follow: NoFollow = False,
    max_size: MaxSize = None,
    http2: Http2 = False,
    insecure: Insecure = False,
    cacert: Cacert = None,
    proxy: Proxy = None,
    raw: Raw = False,
    output_dir: OutputDir = None,
    skip_existing: SkipExisting = False,
    sha256: Sha256 = False,
    resume: Resume = None,
    unique: Unique = False,
    shard: Shard = None,
    transport: Transport = "fast",
    debug: Debug = False,
    version: Version = False,
) -> None:
    """Fetch every URL in the SOURCE lists."""
    from fetchall.cli.environment import Environment
    from fetchall.cli.escaping import printable
    from fetchall.cli.plan import Options, UsageError, make_plan
    from fetchall.cli.run import run

    chosen_format = None if output_format is None else output_format.output_format
    options = Options(
        sources=sources, concurrency=concurrency, output_format=chosen_format, json=json,
        quiet=quiet, no_color=no_color, progress=progress, timeout=timeout,
        connect_timeout=connect_timeout, speed_limit=speed_limit, speed_time=speed_time,
        retries=retries, max_retry_wait=max_retry_wait, max_host_errors=max_host_errors,
        fail_fast=fail_fast, per_host=per_host, rate=rate, host_rate=host_rate,
        method=method, header=header, data=data, data_binary=data_binary,
        user_agent=user_agent, max_redirects=max_redirects,
        no_follow=no_follow, max_size=max_size, http2=http2, insecure=insecure,
        cacert=cacert, proxy=proxy, raw=raw, output_dir=output_dir, skip_existing=skip_existing,
        sha256=sha256, resume=resume, unique=unique, shard=shard, transport=transport,
        debug=debug,
    )  # fmt: skip
    env = Environment.from_process()
    try:
        plan = make_plan(options, env)
    except UsageError as exc:
        raise typer.BadParameter(printable(str(exc)), param_hint=exc.param) from exc
    raise typer.Exit(run(plan, env))


def main() -> None:
    """The ``fetchall`` entry point. With colour turned off (NO_COLOR, ``--no-color``),
    typer's usage errors and help are plain text too: they are drawn before any option
    takes effect, so the command line is looked at first."""
    if colour_off(sys.argv[1:], os.environ):
        import typer.rich_utils

        typer.rich_utils.COLOR_SYSTEM = None  # rich then writes no escape code at all
    app(prog_name="fetchall")


def colour_off(args: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether the user turned colour off: NO_COLOR set and not empty (no-color.org), or
    ``--no-color`` among the options (before any ``--``)."""
    options = args[: args.index("--")] if "--" in args else args
    return bool(environ.get("NO_COLOR")) or "--no-color" in options
