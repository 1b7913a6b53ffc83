"""Text for people: what a terminal would act on instead of showing, escaped.

Every writer of people's text (text records, the summary, the live display, messages on
stderr) passes data through ``printable``; machine formats (JSON lines, CSV) keep the exact
values."""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f"  # C0 controls (tab, CR and LF too) and DEL: ESC starts terminal commands
    "\x80-\x9f"  # C1 controls: U+009B is CSI and U+009D OSC on some terminals
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides,
    # isolates: they reorder what is shown (Unicode TR #9; CVE-2021-42574, "Trojan Source")
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff"  # lone surrogates (not text: they cannot even be encoded)
    "]"
)


def printable(text: str) -> str:
    """``text`` with each C0 control (tab and line ends included), DEL, C1 control, bidi
    control, line or paragraph separator and lone surrogate written as ``\\xNN`` (up to
    U+00FF) or ``\\uNNNN``: the way Python's ``backslashreplace`` writes the undecodable
    bytes of an input line, so one rule covers both. Backslashes stay as they are."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def printable_lines(text: str) -> str:
    """``text`` made ``printable`` line by line, its line ends kept (for a traceback)."""
    return "".join(
        printable(line[:-1]) + "\n" if line.endswith("\n") else printable(line)
        for line in text.splitlines(keepends=True)
    )


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
