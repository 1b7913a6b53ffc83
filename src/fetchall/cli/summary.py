"""The summary after a run: where every input line went, distributions with bars, totals,
latency percentiles, the slowest URLs and the first failures. Rendered by rich; plain text
off a terminal."""

from __future__ import annotations

from rich.bar import Bar
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fetchall._model import ErrorKind
from fetchall._targets import masked
from fetchall.cli.escaping import printable
from fetchall.cli.stats import Accounting, Failure, RunStats
from fetchall.cli.units import human_bytes, human_latency, shorten

BAR_WIDTH = 20
MIN_BAR_WIDTH = 5
"""A narrower bar says too little: it is dropped instead."""
_CELL_PADDING = 3
"""A one-space pad each side of the label, count and share cells (``padding=(0, 1)``)."""
_PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
_PHASE_PERCENTILES = _PERCENTILES[:2]


def render_summary(
    stats: RunStats,
    wall_seconds: float,
    *,
    lines: Accounting,
    unwritten: int = 0,
    width: int | None,
) -> RenderableType:
    """The whole summary, fitted to ``width`` columns (a terminal's), or with URLs in full
    when ``width`` is None (a file, a CI log); ``unwritten`` is how many finished
    URLs have no record on stdout."""
    parts: list[RenderableType] = [_title(stats, wall_seconds, lines.stop)]
    if unwritten:
        has = "URL has" if unwritten == 1 else "URLs have"
        parts.append(Text(f"{unwritten:,} finished {has} no record on stdout", style="bold red"))
    if lines.failed_line is not None:
        parts.append(_stopped_after(lines.failed_line, width))
    if stats.not_tried:
        parts.append(_not_tried(stats))
    if lines.stop or stats.skipped or lines.counts.dropped:
        parts.append(_lines(stats, lines))
    parts += [_distribution(stats, width), _totals(stats, wall_seconds)]
    if stats.slowest:
        parts.append(_slowest(stats, width))
    if stats.first_failures:
        parts.append(_failures(stats, width))
    bugs = stats.failed_by_kind[ErrorKind.INTERNAL.value]
    if bugs:
        parts.append(
            Text(
                f"{bugs:,} internal error{'' if bugs == 1 else 's'}: a bug in fetchall; "
                "run with --debug and report it",
                style="bold red",
            )
        )
    return Group(*parts)


def _title(stats: RunStats, wall_seconds: float, stop: str | None) -> Text:
    done = stats.done
    head = f"{stop} after" if stop else "done:"
    title = Text.assemble(
        (f"{head} {done:,} URL{'' if done == 1 else 's'} in {wall_seconds:.2f}s: ", "bold"),
        (f"{stats.ok:,} ok", "green"),
        ", ",
        (f"{stats.failed:,} failed", "red" if stats.failed else ""),
    )
    if stats.skipped:
        title.append(f", {stats.skipped:,} skipped")
    return title


def _stopped_after(failure: Failure, width: int | None) -> Text:
    """Which line's failure stopped the run."""
    head = f"stopped after the failure of {printable(failure.source)} ({failure.kind}): "
    return Text.assemble(head, _url(failure.url, _less(width, len(head))))


def _not_tried(stats: RunStats) -> Text:
    """How many lines failed without a try, their host having failed again and again."""
    count, limit = stats.not_tried, stats.max_host_errors
    return Text(
        f"{count:,} line{'' if count == 1 else 's'} not tried: their host failed {limit:,} "
        f"time{'' if limit == 1 else 's'} in a row (--max-host-errors)",
        style="red",
    )


def _lines(stats: RunStats, lines: Accounting) -> Table:
    """Where every input line went; the counts add up to the lines."""
    counts = lines.counts
    rest = "the rest of the input was not read" if lines.unread is None else ""
    rows = [
        ("lines", counts.read + (lines.unread or 0), rest),
        (" ok", stats.ok, ""),
        (" failed", stats.failed, ""),
    ]
    optional = (
        (" skipped", stats.skipped, "--skip-existing: the file was already saved"),
        (" already done", counts.already_done, "--resume: ok in an earlier run"),
        (" duplicates", counts.duplicate, "--unique"),
        (" other shards", counts.other_shard, "--shard"),
    )
    rows += [row for row in optional if row[1]]
    if lines.stop:
        rows.append((" not started", lines.not_started(stats.done), lines.stop))
    table = Table(box=None, padding=(0, 1), show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column()
    for label, count, why in rows:
        table.add_row(label, f"{count:,}", why)
    return table


def _distribution(stats: RunStats, width: int | None) -> Table:
    """Counts by status class and by error kind, each with a bar of its share, fitted to
    ``width`` columns (None: no limit): the counts and shares are always shown whole; the
    bar shrinks, then goes, before a label is shortened."""
    total = max(stats.done, 1)
    rows = [
        (f"status {label}", count, _status_style(label))
        for label, count in sorted(stats.status_classes.items())
    ]
    rows += [(kind, count, "red") for kind, count in stats.failed_by_kind.most_common()]
    cells = [
        (label, f"{count:,}", f"{count / total:.1%}", count, style) for label, count, style in rows
    ]
    label_width = max((len(cell[0]) for cell in cells), default=0)
    numbers = max((len(cell[1]) for cell in cells), default=0)
    numbers += max((len(cell[2]) for cell in cells), default=0)
    room = None if width is None else width - numbers - 2 * _CELL_PADDING
    bar_width = BAR_WIDTH if room is None else min(BAR_WIDTH, room - label_width - 2)
    table = Table(box=None, padding=(0, 1), show_header=False)
    table.add_column(no_wrap=True, max_width=None if room is None else max(1, room))
    table.add_column(justify="right", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    if bar_width >= MIN_BAR_WIDTH:
        table.add_column(width=bar_width, no_wrap=True)
    for label, count_text, share, count, style in cells:
        cells_of_row: list[RenderableType] = [label, count_text, share]
        if bar_width >= MIN_BAR_WIDTH:
            cells_of_row.append(
                Bar(size=total, begin=0, end=count, width=bar_width, color=style or "default")
            )
        table.add_row(*cells_of_row)
    return table


def _status_style(label: str) -> str:
    return "green" if label in ("2xx", "3xx") else "red"


def _totals(stats: RunStats, wall_seconds: float) -> Table:
    """Bytes, time, rates, latency percentiles, and those of each phase (with how many
    responses had it: a reused connection has no dns, connect or tls)."""
    wall = max(wall_seconds, 1e-9)
    table = Table(box=None, padding=(0, 1), show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(
        "received",
        f"{human_bytes(stats.bytes)} ({stats.bytes:,} bytes), {human_bytes(stats.bytes / wall)}/s",
    )
    table.add_row("time", f"{wall_seconds:.2f}s, {stats.done / wall:,.1f} URLs/s")
    latency = stats.latency
    if latency.count:
        values = [
            f"{name} {human_latency(latency.percentile(fraction) or 0.0)}"
            for name, fraction in _PERCENTILES
        ]
        values.append(f"max {human_latency(latency.max)}")
        table.add_row("latency", " · ".join(values))
    for phase, times in stats.phases.items():
        if times.count:
            values = [
                f"{name} {human_latency(times.percentile(fraction) or 0.0)}"
                for name, fraction in _PHASE_PERCENTILES
            ]
            table.add_row(phase, f"{' · '.join(values)} ({times.count:,})")
    return table


def _slowest(stats: RunStats, width: int | None) -> Table:
    table = Table(box=None, padding=(0, 1), title="slowest", title_justify="left")
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    for elapsed, url in sorted(stats.slowest, reverse=True):
        table.add_row(f"{elapsed:.3f}", Text(_url(url, _less(width, 12))))
    return table


def _failures(stats: RunStats, width: int | None) -> Table:
    table = Table(box=None, padding=(0, 1), title="first failures", title_justify="left")
    table.add_column("kind", no_wrap=True, style="red")
    table.add_column("URL and error", overflow="fold")
    for failure in stats.first_failures:
        url = _url(failure.url, _less(width, 22))
        table.add_row(failure.kind, Text(f"{url}\n{printable(masked(failure.message))}"))
    return table


def _less(width: int | None, used: int) -> int | None:
    """The columns left for a URL after ``used`` of ``width`` (at least 10); None (no
    limit) when ``width`` is None."""
    return None if width is None else max(10, width - used)


def _url(url: str, width: int | None) -> str:
    """``url`` as people see it: its password masked, ``printable``, at most ``width``
    characters (None: whole). A Text of it, never markup: ``[bold]`` in a URL is shown as
    it is."""
    shown = printable(masked(url))
    return shown if width is None else shorten(shown, width)
