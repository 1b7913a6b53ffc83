"""Numbers for people: byte sizes, rates and durations."""

from __future__ import annotations


def human_bytes(count: float) -> str:
    """``count`` in binary units: 512 B, 1.5 KiB, 12.0 MiB."""
    if count < 1024:
        return f"{int(count)} B"
    size = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} TiB"


def human_duration(seconds: float) -> str:
    """``H:MM:SS`` for clocks and ETAs."""
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def human_latency(seconds: float) -> str:
    """Milliseconds below a second, seconds above: 12 ms, 1.25 s."""
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds:.3g} s"


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis in the middle, keeping both ends."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) * 2 // 3
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")
