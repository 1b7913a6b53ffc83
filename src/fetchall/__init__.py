"""fetchall: fetch every URL in a list, concurrently, with one result per line.

The command line is ``fetchall``; the same engine is here for programs::

    async for result in fetchall.fetch_all(["https://example.com/"], fetchall.Settings()):
        print(result.line.text, result.outcome)
"""

from fetchall._engine import Fetcher, FetchResult, fetch_all
from fetchall._errors import ErrorKind, FetchError, Response
from fetchall._lines import Line
from fetchall._observer import NullObserver, Observer
from fetchall._result import Err, Ok, Result
from fetchall._settings import Settings
from fetchall._version import __version__

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
