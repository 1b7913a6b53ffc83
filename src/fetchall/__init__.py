"""fetchall: fetch every URL in a list, concurrently, with one result per line.

The command line is ``fetchall``; the same engine is here for programs::

    async for result in fetchall.fetch_all(["https://example.com/"], fetchall.Settings()):
        print(result.line.text, result.outcome)

Names are loaded on first use, so that ``fetchall --version`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fetchall._version import __version__

if TYPE_CHECKING:
    from fetchall._engine import Fetcher, FetchResult, fetch_all
    from fetchall._errors import ErrorKind, FetchError, Response
    from fetchall._lines import Line
    from fetchall._observer import NullObserver, Observer
    from fetchall._result import Err, Ok, Result
    from fetchall._settings import Settings

_HOMES = {
    "Err": "fetchall._result",
    "ErrorKind": "fetchall._errors",
    "FetchError": "fetchall._errors",
    "FetchResult": "fetchall._engine",
    "Fetcher": "fetchall._engine",
    "Line": "fetchall._lines",
    "NullObserver": "fetchall._observer",
    "Observer": "fetchall._observer",
    "Ok": "fetchall._result",
    "Response": "fetchall._errors",
    "Result": "fetchall._result",
    "Settings": "fetchall._settings",
    "fetch_all": "fetchall._engine",
}

__all__ = [
    "Err",
    "ErrorKind",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "Line",
    "NullObserver",
    "Observer",
    "Ok",
    "Response",
    "Result",
    "Settings",
    "__version__",
    "fetch_all",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'fetchall' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
