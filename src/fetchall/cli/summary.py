"""The summary after a run: counts, distributions with bars, totals, latency percentiles,
the slowest URLs and the first failures. Rendered by rich; plain text off a terminal."""

from __future__ import annotations

from rich.bar import Bar
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fetchall.cli.stats import RunStats
from fetchall.cli.units import human_bytes, human_latency, shorten

BAR_WIDTH = 20
_PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def render_summary(
    stats: RunStats,
    wall_seconds: float,
    *,
    head: str = "done:",
    unwritten: int = 0,
    width: int,
) -> RenderableType:
    """The whole summary, fitted to ``width`` columns. ``head`` says how the run ended
    (``done:``, ``interrupted after``, ``aborted after``); ``unwritten`` is how many
    finished URLs have no record on stdout."""
    done = stats.done
    title = Text.assemble(
        (f"{head} {done:,} URL{'' if done == 1 else 's'} in {wall_seconds:.2f}s: ", "bold"),
        (f"{stats.ok:,} ok", "green"),
        ", ",
        (f"{stats.failed:,} failed", "red" if stats.failed else ""),
    )
    parts: list[RenderableType] = [title]
    if unwritten:
        has = "URL has" if unwritten == 1 else "URLs have"
        parts.append(Text(f"{unwritten:,} finished {has} no record on stdout", style="bold red"))
    parts += [_distribution(stats), _totals(stats, wall_seconds)]
    if stats.slowest:
        parts.append(_slowest(stats, width))
    if stats.first_failures:
        parts.append(_failures(stats, width))
    return Group(*parts)


def _distribution(stats: RunStats) -> Table:
    """Counts by status class and by error kind, each with a bar of its share."""
    table = Table(box=None, padding=(0, 1), show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(width=BAR_WIDTH, no_wrap=True)
    total = max(stats.done, 1)
    rows = [
        (f"status {label}", count, _status_style(label))
        for label, count in sorted(stats.status_classes.items())
    ]
    rows += [(kind, count, "red") for kind, count in stats.failed_by_kind.most_common()]
    for label, count, style in rows:
        bar = Bar(size=total, begin=0, end=count, width=BAR_WIDTH, color=style or "default")
        table.add_row(label, f"{count:,}", f"{count / total:.1%}", bar)
    return table


def _status_style(label: str) -> str:
    return "green" if label in ("2xx", "3xx") else "red"


def _totals(stats: RunStats, wall_seconds: float) -> Table:
    """Bytes, time, rates and latency percentiles."""
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
    return table


def _slowest(stats: RunStats, width: int) -> Table:
    table = Table(box=None, padding=(0, 1), title="slowest", title_justify="left")
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    for elapsed, url in sorted(stats.slowest, reverse=True):
        table.add_row(f"{elapsed:.3f}", shorten(url, max(10, width - 12)))
    return table


def _failures(stats: RunStats, width: int) -> Table:
    table = Table(box=None, padding=(0, 1), title="first failures", title_justify="left")
    table.add_column("kind", no_wrap=True, style="red")
    table.add_column("URL and error", overflow="fold")
    for failure in stats.first_failures:
        table.add_row(
            failure.kind, f"{shorten(failure.url, max(10, width - 22))}\n{failure.message}"
        )
    return table
