"""Input: URL lists read from files and stdin, streamed.

Owns the bytes-to-lines path: opening sources (``sources``), framing and parsing lines
into ``Line`` values, a URL or an ``invalid_url`` error (``lines``), and which lines a run
handles: resume, unique, shard (``selection``), with the URL digests they remember
(``digests``).

Knows nothing of HTTP. Imports only the shared values (``_model``, ``_origin``).
"""

from fetchall._input.lines import parse_line
from fetchall._input.selection import (
    LineCounts,
    ResumeState,
    Shard,
    read_resume,
    select_lines,
)
from fetchall._input.sources import (
    STDIN,
    Source,
    SourceError,
    close_sources,
    count_lines,
    open_sources,
    read_lines,
)

__all__ = [
    "STDIN",
    "LineCounts",
    "ResumeState",
    "Shard",
    "Source",
    "SourceError",
    "close_sources",
    "count_lines",
    "open_sources",
    "parse_line",
    "read_lines",
    "read_resume",
    "select_lines",
]
