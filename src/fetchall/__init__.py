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
    from fetchall._engine import Fetcher, NullObserver, Observer, fetch_all
    from fetchall._http import ResolveError, Resolver
    from fetchall._model import (
        BodyWriteError,
        Err,
        ErrorKind,
        FetchError,
        FetchResult,
        Line,
        Ok,
        Phase,
        Response,
        Result,
        SetupError,
        StopReason,
    )
    from fetchall._settings import Settings

_HOMES = {
    "BodyWriteError": "fetchall._model",
    "Err": "fetchall._model",
    "ErrorKind": "fetchall._model",
    "FetchError": "fetchall._model",
    "FetchResult": "fetchall._model",
    "Fetcher": "fetchall._engine",
    "Line": "fetchall._model",
    "NullObserver": "fetchall._engine",
    "Observer": "fetchall._engine",
    "Ok": "fetchall._model",
    "Phase": "fetchall._model",
    "ResolveError": "fetchall._http",
    "Resolver": "fetchall._http",
    "Response": "fetchall._model",
    "Result": "fetchall._model",
    "SetupError": "fetchall._model",
    "Settings": "fetchall._settings",
    "StopReason": "fetchall._model",
    "fetch_all": "fetchall._engine",
}

__all__ = [
    "BodyWriteError",
    "Err",
    "ErrorKind",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "Line",
    "NullObserver",
    "Observer",
    "Ok",
    "Phase",
    "ResolveError",
    "Resolver",
    "Response",
    "Result",
    "Settings",
    "SetupError",
    "StopReason",
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
