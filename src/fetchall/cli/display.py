"""The live display on stderr: the requests in flight and the overall progress, redrawn
about ten times a second from a snapshot. Above it scroll the records, when stdout is the
same terminal (each printed once, through the display's console), or else the failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from fetchall._model import Phase
from fetchall._targets import masked
from fetchall.cli.environment import MessageRoute
from fetchall.cli.escaping import printable
from fetchall.cli.progress import FailureLine, ProgressState, RowView, Snapshot
from fetchall.cli.units import human_bytes, human_duration, shorten
from fetchall.cli.writers import ScreenWriter

REFRESH_SECONDS = 0.1
MAX_FAILURE_LINES_PER_REFRESH = 20
_WIDE = 60
"""From this width on, rows show the transfer rate and elapsed time too."""
_PHASE_WORDS: dict[Phase | None, str] = {
    Phase.RESOLVING: "resolving",
    Phase.CONNECTING: "connecting",
    Phase.TLS: "TLS",
    Phase.WAITING: "waiting",
    Phase.RECEIVING: "receiving",
}
"""What a row shows before its response head arrived (at most 10 characters)."""


def render_live(snapshot: Snapshot, width: int, height: int) -> RenderableType:
    """Rows for the oldest requests in flight (as many as fit), then the overall progress."""
    numbers = _overall_numbers(snapshot)
    numbers_height = -(-numbers.cell_len // max(1, width)) + (numbers.cell_len > width)
    room = max(1, height - 2 - numbers_height)  # the bar, and a line for "… more"
    shown = snapshot.rows[:room]
    parts: list[RenderableType] = [_row(row, width) for row in shown]
    hidden = snapshot.in_flight - len(shown)
    if hidden > 0:
        parts.append(Text(f"… and {hidden:,} more in flight", style="dim"))
    parts.append(_overall_bar(snapshot))
    parts.append(numbers)
    return Group(*parts)


def _row(row: RowView, width: int) -> Text:
    """Status, then the transfer figures (before the response head: what the request is
    doing; or the wait before a retry), then the URL (``printable``). A row waiting to retry
    keeps the status of the attempt that failed."""
    status = "···" if row.status is None else str(row.status)
    style = "dim" if row.status is None else "green" if row.status < 400 else "red"
    doing = None if row.status is not None else _PHASE_WORDS.get(row.phase)
    fields = f"{human_bytes(row.bytes) if doing is None else doing:>10}"
    if width >= _WIDE:
        rate = human_bytes(row.bytes / row.elapsed) + "/s" if row.elapsed > 0 else "-"
        shown = f"{rate:>12}" if doing is None else " " * 12
        fields += f" {shown} {row.elapsed:>6.1f}s"
    attempt = f"#{row.attempt} " if row.attempt > 1 else ""
    if row.retry_in is not None:
        fields = f"retry in {row.retry_in:.1f}s (#{row.attempt})".rjust(len(fields))
        attempt = ""
    room = max(1, width - 4 - len(fields) - 2 - len(attempt))
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{status:>3}", style=style)
    text.append(" ")
    text.append(fields, style="yellow" if row.retry_in is not None else "")
    text.append("  ")
    text.append(attempt, style="yellow")
    text.append(shorten(printable(masked(row.url)), room))
    return text


def _failure_line(failure: FailureLine, width: int) -> Text:
    """``label URL  message`` in ``width`` columns: the URL shortened in the middle so
    that the message keeps at least half the room, then the message cut at its end; all
    ``printable`` (the URL and the message may hold a file's or a server's controls)."""
    message = printable(" ".join(failure.message.split()))
    label = printable(failure.label)
    room = max(1, width - len(label) - 1)
    url = printable(failure.url)
    if len(url) + 2 + len(message) > room:
        url = shorten(url, max(room - 2 - len(message), min(len(url), room // 2)))
    text = Text(no_wrap=True, overflow="ellipsis", style="red")
    text.append(f"{label} {url}  ")
    text.append(message, style="dim")
    return text


def _overall_bar(snapshot: Snapshot) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(ratio=1)
    grid.add_column(no_wrap=True)
    total = snapshot.total
    if total is None:
        counts = f"{snapshot.done:,} done"
    else:
        share = snapshot.done / total if total else 1.0
        counts = f"{snapshot.done:,}/{total:,} {share:4.0%}"
    bar = ProgressBar(total=float(total) if total is not None else None, completed=snapshot.done)
    grid.add_row(bar, counts)
    return grid


def _overall_numbers(snapshot: Snapshot) -> Text:
    elapsed = max(snapshot.elapsed, 1e-9)
    parts = [
        ("ok ", f"{snapshot.ok:,}", "green"),
        ("failed ", f"{snapshot.failed:,}", "red" if snapshot.failed else ""),
        *([("skipped ", f"{snapshot.skipped:,}", "")] if snapshot.skipped else []),
        ("", human_bytes(snapshot.bytes), ""),
        ("", f"{snapshot.done / elapsed:,.1f} URLs/s", ""),
        ("", human_bytes(snapshot.bytes / elapsed) + "/s", ""),
        ("", human_duration(snapshot.elapsed), ""),
    ]
    eta = _eta(snapshot)
    if eta is not None:
        parts.append(("ETA ", human_duration(eta), "bold"))
    text = Text()
    for index, (label, value, style) in enumerate(parts):
        if index:
            text.append(" · ", style="dim")
        text.append(label)
        text.append(value, style=style)
    return text


def _eta(snapshot: Snapshot) -> float | None:
    """Seconds left at the rate so far, once the total is known."""
    if snapshot.total is None or not snapshot.done:
        return None
    remaining = snapshot.total - snapshot.done
    return remaining * snapshot.elapsed / snapshot.done


@asynccontextmanager
async def live_display(
    console: Console,
    state: ProgressState,
    records: ScreenWriter | None = None,
    messages: MessageRoute | None = None,
    *,
    ready: Callable[[], bool] = lambda: True,
) -> AsyncIterator[None]:
    """Show the live display while the body runs; it vanishes when the body ends. With
    ``records``, their lines are printed above it (and the failures are not, since the
    records already show them). With ``messages``, people's messages (``say``: a signal's
    notice, a warning) are printed above it too, at once, while it is up: text written
    past rich's console would land inside the live area and leave its rows behind. A
    refresh is skipped while ``ready()`` is False (stderr has not taken the last one: a
    stopped or unread terminal), rather than queued."""

    def renderable() -> RenderableType:
        width, height = console.size
        return render_live(state.snapshot(max(1, height - 4)), width, height)

    live = Live(
        console=console,
        get_renderable=renderable,
        auto_refresh=False,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    above = _Above(live.console, state, records)

    def print_message(text: str) -> None:
        above.print()  # the records that came before it
        live.console.print(Text(text.removesuffix("\n")), soft_wrap=True)

    try:
        with live:
            if messages is not None:
                messages.above = print_message
            ticker = asyncio.create_task(_tick(live, above, ready))
            try:
                yield
            finally:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
                above.print()
    finally:
        if messages is not None:
            messages.above = None


async def _tick(live: Live, above: _Above, ready: Callable[[], bool]) -> None:
    while True:
        if ready():
            above.print()
            live.refresh()
        await asyncio.sleep(REFRESH_SECONDS)


class _Above:
    """What scrolls above the live area: the records, or else the failures."""

    def __init__(
        self, console: Console, state: ProgressState, records: ScreenWriter | None
    ) -> None:
        self._console = console
        self._state = state
        self._records = records

    def print(self) -> None:
        """Print what arrived since the last call, in one go (one redraw of the area)."""
        if self._records is None:
            print_failures(self._console, self._state)
            return
        self._state.take_failures()  # the records show them
        lines = self._records.take()
        if lines:
            texts = [Text(line, style="green" if ok else "red") for line, ok in lines]
            self._console.print(Group(*texts), soft_wrap=True)


def print_failures(console: Console, state: ProgressState) -> None:
    """Print the failures since the last refresh above the live area (a bounded number),
    one line each (``print`` would wrap a lone Text whatever its ``no_wrap``)."""
    failures, dropped = state.take_failures()
    for failure in failures[:MAX_FAILURE_LINES_PER_REFRESH]:
        console.print(_failure_line(failure, console.width), no_wrap=True, overflow="ellipsis")
    dropped += max(0, len(failures) - MAX_FAILURE_LINES_PER_REFRESH)
    if dropped:
        console.print(Text(f"… and {dropped:,} more failures", style="red dim"))
