"""From option values to a run plan: the settings, the output, the selection of lines.
Pure (no typer): ``make_plan`` checks the values and raises ``UsageError`` naming the
option at fault."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from fetchall._input import STDIN, Shard
from fetchall._settings import Settings, checked_field, checked_method, checked_proxy
from fetchall.cli.environment import Environment
from fetchall.cli.options import (
    bytes_per_second,
    number_or_zero,
    optional_seconds,
    parse_header,
    parse_size,
    positive_number,
    read_body,
    whole_number,
)
from fetchall.cli.writers import OutputFormat

T = TypeVar("T")


class UsageError(Exception):
    """An option value (or SOURCE) that cannot be used: ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Options:
    """The command line's values, as typer parsed them (names as the parameters')."""

    sources: list[str] | None
    concurrency: int
    output_format: OutputFormat | None
    """None when ``--format`` is not given (text)."""
    json: bool
    quiet: bool
    no_color: bool
    progress: bool | None
    timeout: str | None
    connect_timeout: float
    speed_limit: str
    speed_time: float
    retries: int
    max_retry_wait: float
    max_host_errors: int
    fail_fast: bool
    per_host: int
    rate: float | None
    host_rate: float | None
    method: str | None
    header: list[str] | None
    data: list[str] | None
    data_binary: list[str] | None
    user_agent: str | None
    max_redirects: int
    no_follow: bool
    max_size: str | None
    http2: bool
    insecure: bool
    cacert: str | None
    proxy: str | None
    raw: bool
    output_dir: str | None
    skip_existing: bool
    sha256: bool
    resume: str | None
    unique: bool
    shard: str | None
    transport: str
    debug: bool


@dataclass(frozen=True, slots=True)
class Output:
    """How results are shown: record format, quietness, colour, progress and debugging."""

    format: OutputFormat = OutputFormat.TEXT
    quiet: bool = False
    color: bool = True
    progress: bool | None = None
    """The live display: None shows it when stderr is a terminal and not quiet."""
    debug: bool = False

    def shows_progress(self, env: Environment) -> bool:
        """Whether the live display runs."""
        if self.progress is not None:
            return self.progress
        return env.stderr_isatty and not self.quiet


@dataclass(frozen=True, slots=True)
class Selection:
    """Which lines to handle: a shard, lines not done in an earlier run, distinct URLs."""

    shard: Shard | None = None
    resume: str | None = None
    """An earlier run's jsonl output."""
    unique: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one run needs: what to read, how to fetch, how to show it."""

    sources: list[str]
    settings: Settings
    output: Output
    selection: Selection


def make_plan(options: Options, env: Environment) -> Plan:
    """The plan the options describe; ``UsageError`` for a value that cannot be used."""
    return Plan(
        sources=_sources(options, env),
        settings=_settings(options),
        output=Output(
            format=_output_format(options),
            quiet=options.quiet,
            color=not options.no_color,
            progress=options.progress,
            debug=options.debug,
        ),
        selection=Selection(
            shard=_shard(options.shard),
            resume=options.resume,
            unique=options.unique,
        ),
    )


def _sources(options: Options, env: Environment) -> list[str]:
    if options.sources:
        return options.sources
    if env.stdin_isatty:
        raise UsageError(
            "SOURCE", "none given and stdin is a terminal: pipe URLs in or name a file"
        )
    return [STDIN]


def _output_format(options: Options) -> OutputFormat:
    """The record format: ``--format``'s, text by default; ``--json`` with a ``--format``
    other than jsonl (or json) is a contradiction, refused."""
    chosen = options.output_format
    if not options.json:
        return OutputFormat.TEXT if chosen is None else chosen
    if chosen not in (None, OutputFormat.JSONL):
        raise UsageError("--json", f"cannot be combined with --format {chosen}")
    return OutputFormat.JSONL


def install_extra(extra: str) -> str:
    """How to add fetchall's ``extra`` (http2, socks: httpx's extra of the same name) to the
    environment fetchall runs in, for each way README installs it: pip, pipx, uv."""
    return (
        f"pip install 'fetchall[{extra}]'; with pipx: pipx inject fetchall 'httpx[{extra}]'; "
        f"with uv: uv tool install --with 'httpx[{extra}]' . (in the clone)"
    )


def _refuse_unusable(options: Options) -> None:
    """``UsageError`` for options that cannot work here: an extra not installed, an unknown
    transport, --skip-existing without -o."""
    if options.http2 and importlib.util.find_spec("h2") is None:
        raise UsageError("--http2", f"needs the http2 extra: {install_extra('http2')}")
    if _is_socks(options.proxy) and importlib.util.find_spec("socksio") is None:
        raise UsageError(
            "--proxy", f"a SOCKS proxy needs the socks extra: {install_extra('socks')}"
        )
    if options.transport not in ("fast", "httpx"):
        raise UsageError("--transport", "must be fast or httpx")
    if options.skip_existing and options.output_dir is None:
        raise UsageError("--skip-existing", "needs -o/--output-dir")


def _settings(options: Options) -> Settings:
    _refuse_unusable(options)
    max_size = options.max_size
    body = _body(options)
    if options.method is not None:
        _checked("--method", partial(checked_method, options.method))
    method = (options.method or ("POST" if body is not None else "GET")).upper()
    user_agent = options.user_agent
    if user_agent is not None:
        _checked("--user-agent", partial(checked_field, "User-Agent", user_agent))
    proxy = options.proxy
    if proxy is not None:
        proxy = _checked("--proxy", partial(checked_proxy, proxy))
    if method == "HEAD" and body is not None:
        raise UsageError("--method", "HEAD cannot send a body (-d/--data-binary)")
    return Settings(
        concurrency=_checked("-c", lambda: whole_number(options.concurrency, 1, _REQUESTS)),
        timeout=_checked("--timeout", lambda: optional_seconds(options.timeout or "none")),
        connect_timeout=_checked(
            "--connect-timeout", lambda: positive_number(options.connect_timeout, _SECONDS)
        ),
        speed_limit=_checked("--speed-limit", lambda: bytes_per_second(options.speed_limit)),
        speed_time=_checked("--speed-time", lambda: positive_number(options.speed_time, _SECONDS)),
        retries=_checked("--retries", lambda: whole_number(options.retries, 0, _TIMES)),
        max_retry_wait=_checked(
            "--max-retry-wait", lambda: number_or_zero(options.max_retry_wait, _SECONDS_OR_ZERO)
        ),
        max_host_errors=_checked(
            "--max-host-errors", lambda: whole_number(options.max_host_errors, 0, _HOST_ERRORS)
        ),
        per_host=_checked("--per-host", lambda: whole_number(options.per_host, 0, _PER_HOST)),
        rate=_rate(options.rate, "--rate"),
        host_rate=_rate(options.host_rate, "--host-rate"),
        follow_redirects=not options.no_follow,
        max_redirects=_checked(
            "--max-redirects", lambda: whole_number(options.max_redirects, 0, _TIMES)
        ),
        max_size=None if max_size is None else _checked("--max-size", lambda: parse_size(max_size)),
        method=method,
        headers=tuple(
            _checked("--header", partial(parse_header, text)) for text in options.header or ()
        ),
        body=body,
        user_agent=user_agent,
        http2=options.http2,
        verify=not options.insecure,
        cacert=options.cacert,
        proxy=proxy,
        raw=options.raw,
        fail_fast=options.fail_fast,
        output_dir=options.output_dir,
        skip_existing=options.skip_existing,
        sha256=options.sha256,
        transport=options.transport,
    )


def _is_socks(proxy: str | None) -> bool:
    """Whether ``proxy`` names a SOCKS proxy (socks5://, socks5h://)."""
    return proxy is not None and proxy.lower().startswith("socks")


def _body(options: Options) -> bytes | None:
    """The request body of -d or --data-binary (not both: their order would be lost)."""
    if options.data and options.data_binary:
        raise UsageError("--data-binary", "cannot be combined with -d/--data")
    if options.data:
        return _checked("--data", partial(read_body, options.data, binary=False))
    if options.data_binary:
        return _checked("--data-binary", partial(read_body, options.data_binary, binary=True))
    return None


_SECONDS = "a positive number of seconds"
_SECONDS_OR_ZERO = "a number of seconds, 0 or more"
_REQUESTS = "a whole number of requests, 1 or more"
_PER_HOST = "a whole number of requests, or 0 for no limit"
_TIMES = "a whole number, 0 or more"
_HOST_ERRORS = "a whole number of failed attempts, or 0 for no limit"


def _rate(value: float | None, param: str) -> float | None:
    meaning = "a positive number of requests per second"
    return None if value is None else _checked(param, lambda: positive_number(value, meaning))


def _shard(text: str | None) -> Shard | None:
    return None if text is None else _checked("--shard", lambda: Shard.parse(text))


def _checked(param: str, check: Callable[[], T]) -> T:
    """What ``check()`` gives, or a usage error naming the option when it raises
    ValueError."""
    try:
        return check()
    except ValueError as exc:
        raise UsageError(param, str(exc)) from exc
