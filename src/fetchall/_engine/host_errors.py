"""Dead hosts cost once (``--max-host-errors``): failed attempts in a row per host, and the
hosts given up on, whose lines not yet tried then fail at once.

- What counts: an attempt that failed as ``dns``, ``connect`` or ``timeout`` before any
  response head arrived. Every attempt counts, retries included: a retry goes to the same
  host, and the time a dead host costs is its attempts (each up to ``--connect-timeout``),
  so the limit bounds that whatever ``--retries`` is.
- What resets: any other outcome of an attempt (a response of any status, a TLS or protocol
  failure: the host answered). ``cancelled`` and ``internal`` say nothing of the host and
  change nothing.
- Keys: a ``connect`` or ``timeout`` failure counts against the line's ``Origin`` (scheme,
  host, port); a ``dns`` failure against its host name, whatever the scheme and port (a
  name that does not resolve fails for all of them). A connect failure shows the name
  resolved, so it ends the name's run of ``dns`` failures (a name given up on included).
- A failure at a redirect's target carries the redirect's response (the line's host
  answered), so it neither counts against the line's host nor against the target's (the
  engine sees the outcome of the line's attempt, not each hop).

Memory: hosts with a run of failures and hosts given up on are each kept in an LRU of at
most ``MAX_HOSTS`` (the least recently failed, or refused, forgotten first; a forgotten
host's lines are tried again). Nothing is kept for hosts that never failed, and while none
has failed the work per attempt is a call and a few truthiness checks.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, TypeVar

from fetchall._model import Err, ErrorKind, FetchError, FetchResult, Response, Result
from fetchall._origin import Origin

MAX_HOSTS = 10_000
"""Hosts kept with a run of failures, and hosts kept given up on: each an LRU of this many.
Measured with tracemalloc for 45-character host names, keys included: 0.23 KiB a host with
a run, 0.68 KiB a host given up on (its message kept), so at most about 9 MiB for both."""

COUNTED_KINDS = frozenset({ErrorKind.DNS, ErrorKind.CONNECT, ErrorKind.TIMEOUT})
"""Failures that count towards giving up on a host (before any response head arrived)."""
_NEUTRAL_KINDS = frozenset({ErrorKind.CANCELLED, ErrorKind.INTERNAL})
"""Failures that say nothing of the host: they neither count nor reset."""

_Key = Origin | str
"""An origin (for connect and timeout failures), or a host name (for dns failures)."""
_V = TypeVar("_V")


class Located(Protocol):
    """What an attempt was made for: a line's URL, with its origin parsed when needed."""

    @property
    def origin(self) -> Origin:
        """The URL's origin (scheme, host, port)."""
        ...


@dataclass(frozen=True, slots=True)
class GivenUp:
    """Why a host is given up on, and the error its lines not yet tried get."""

    why: str
    """``10 attempts at 127.0.0.1:9 failed in a row`` (for a dns failure, at the host name:
    ``10 attempts at gone.test failed in a row``)."""
    error: FetchError
    """The kind of the host's last failure; the message says the line was not tried, why,
    and what the last failure was."""

    def not_retried(self, error: FetchError) -> FetchError:
        """``error``, the failure of a line whose retries are dropped, saying why."""
        return FetchError(error.kind, f"{error.message} (not retried: {self.why})", error.response)


class HostErrors:
    """Counts failed attempts in a row per host and gives up on a host after ``limit`` of
    them; ``limit`` 0 never gives up and keeps nothing."""

    def __init__(self, limit: int, max_hosts: int = MAX_HOSTS) -> None:
        self._limit = limit
        self._max_hosts = max_hosts
        self._runs: OrderedDict[_Key, int] = OrderedDict()
        """Failed attempts in a row, for hosts not (yet) given up on."""
        self._given_up: OrderedDict[_Key, GivenUp] = OrderedDict()

    @property
    def giving_up(self) -> bool:
        """Whether any host is given up on (only then can ``refusal`` say anything)."""
        return bool(self._given_up)

    def refusal(self, origin: Origin) -> GivenUp | None:
        """Why a line for ``origin`` is not tried, when its host or its host name is given
        up on; else None."""
        given_up = self._given_up
        for key in (origin, origin.host):
            found = given_up.get(key)
            if found is not None:
                given_up.move_to_end(key)
                return found
        return None

    def record(self, target: Located, outcome: Result[Response, FetchError]) -> None:
        """Count the outcome of one attempt for ``target``'s host: a counted failure makes
        its run one longer (giving up on it at ``limit``); any other outcome but
        ``cancelled`` and ``internal`` ends the runs of its origin and of its name."""
        if not self._limit:
            return
        if isinstance(outcome, Err) and _counts(outcome.error):
            origin = target.origin
            if outcome.error.kind is ErrorKind.DNS:
                self._failed(origin.host, outcome.error)
            else:
                self._forget(origin.host)
                self._failed(origin, outcome.error)
        elif (self._runs or self._given_up) and not _neutral(outcome):
            origin = target.origin
            self._forget(origin)
            self._forget(origin.host)

    def _forget(self, key: _Key) -> None:
        """``key`` answered: its run ends, and it is no longer given up on."""
        self._runs.pop(key, None)
        self._given_up.pop(key, None)

    def _failed(self, key: _Key, error: FetchError) -> None:
        """One more failure in ``key``'s run; at ``limit``, give up on it."""
        if key in self._given_up:
            self._given_up.move_to_end(key)  # an attempt started before the limit was reached
            return
        failures = self._runs.pop(key, 0) + 1
        if failures >= self._limit:
            self._given_up[key] = _give_up(key, failures, error)
            _trim(self._given_up, self._max_hosts)
        else:
            self._runs[key] = failures
            _trim(self._runs, self._max_hosts)


def not_tried(result: FetchResult) -> bool:
    """Whether ``result`` is that of a line failed without a try because its host was given
    up on (no other line fails as dns, connect or timeout without an attempt)."""
    outcome = result.outcome
    return not result.attempts and isinstance(outcome, Err) and outcome.error.kind in COUNTED_KINDS


def _counts(error: FetchError) -> bool:
    return error.kind in COUNTED_KINDS and error.response is None


def _neutral(outcome: Result[Response, FetchError]) -> bool:
    return isinstance(outcome, Err) and outcome.error.kind in _NEUTRAL_KINDS


def _give_up(key: _Key, failures: int, last: FetchError) -> GivenUp:
    """Why ``key`` is given up on after ``failures`` in a row, ``last`` the last of them."""
    where = key if isinstance(key, str) else key.authority
    # Attempts, not lookups: the attempts at one name share one lookup and its cached answer.
    why = f"{failures} attempts at {where} failed in a row"
    return GivenUp(why, FetchError(last.kind, f"not tried: {why} (last: {last.message})"))


def _trim(hosts: OrderedDict[_Key, _V], most: int) -> None:
    """Forget the least recently used hosts beyond ``most``."""
    while len(hosts) > most:
        hosts.popitem(last=False)
