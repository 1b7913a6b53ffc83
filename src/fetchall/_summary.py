"""Counting results as they are written, and the short summary printed after a run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from fetchall._engine import FetchResult
from fetchall._result import Err, Ok


@dataclass(slots=True)
class Tally:
    """Running totals of one run: constant memory whatever the number of URLs."""

    ok: int = 0
    failed_by_kind: Counter[str] = field(default_factory=Counter)
    bytes: int = 0

    @property
    def failed(self) -> int:
        """How many lines failed, of any kind."""
        return sum(self.failed_by_kind.values())

    def add(self, result: FetchResult) -> None:
        """Count one result."""
        match result.outcome:
            case Ok(response):
                self.ok += 1
                self.bytes += response.bytes
            case Err(error):
                self.failed_by_kind[error.kind.value] += 1
                self.bytes += error.response.bytes if error.response else 0


def summary_text(tally: Tally, wall_seconds: float, *, interrupted: bool = False) -> str:
    """A few lines for people: counts ok and failed by kind, bytes, wall time."""
    done = tally.ok + tally.failed
    rate = done / wall_seconds if wall_seconds > 0 else 0.0
    head = "interrupted after" if interrupted else "done:"
    lines = [
        f"{head} {done:,} URL{'' if done == 1 else 's'} in {wall_seconds:.2f}s ({rate:,.1f}/s): "
        f"{tally.ok:,} ok, {tally.failed:,} failed",
    ]
    if tally.failed_by_kind:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in tally.failed_by_kind.most_common())
        lines.append(f"failed by kind: {kinds}")
    lines.append(f"received: {tally.bytes:,} bytes ({human_bytes(tally.bytes)})")
    return "\n".join(lines) + "\n"


def human_bytes(count: int) -> str:
    """``count`` in binary units: 512 B, 1.5 KiB, 12.0 MiB."""
    if count < 1024:
        return f"{count} B"
    size = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} TiB"
