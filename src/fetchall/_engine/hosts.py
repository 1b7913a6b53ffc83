"""The per-host gate: at most ``per_host`` requests in flight to one origin (scheme, host,
port), a queue of lines waiting for a busy host, and each host's start-rate bucket.

A line for a busy host waits in that host's queue holding no concurrency permit; a
finishing request hands its permit and its slot straight to the next line waiting for
the same host. Hosts with nothing in flight, nothing waiting and a full bucket are
forgotten now and then, so the state is bounded by the lines in flight and waiting,
never by the number of hosts in the list.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from fetchall._engine.rates import TokenBucket
from fetchall._model import Line
from fetchall._origin import Origin

PRUNE_EVERY = 1024
"""Forget idle hosts after this many finished requests."""

Waiting = tuple[Line, str]
"""A line waiting for its host, and the URL it names."""


@dataclass(slots=True)
class Host:
    """One host's requests in flight, lines waiting for it, and its start-rate bucket."""

    active: int = 0
    waiting: deque[Waiting] = field(default_factory=deque)
    bucket: TokenBucket | None = None

    @property
    def idle(self) -> bool:
        """Nothing in flight or waiting, and no rate history worth keeping."""
        return not self.active and not self.waiting and (self.bucket is None or self.bucket.idle)


class HostGate:
    """Per-host slots and rates; ``per_host`` 0 is no slot limit, ``host_rate`` None no
    rate limit (with neither, ``host()`` is always None and nothing is kept)."""

    def __init__(self, per_host: int, host_rate: float | None) -> None:
        self._per_host = per_host
        self._host_rate = host_rate
        self._hosts: dict[Origin, Host] | None = {} if per_host or host_rate else None
        self._finished = 0

    def host(self, url: str) -> Host | None:
        """The state of ``url``'s host, made on first use; None when no limit is set."""
        if self._hosts is None:
            return None
        origin = Origin.of(url)
        host = self._hosts.get(origin)
        if host is None:
            rate = self._host_rate
            host = self._hosts[origin] = Host(bucket=TokenBucket(rate) if rate else None)
        return host

    def enter(self, host: Host | None, line: Line, url: str) -> bool:
        """Take a slot of ``host`` for ``line``: True when it may start now, False when it
        was queued behind the host's requests in flight."""
        if host is None or not self._per_host:
            return True
        if host.active >= self._per_host:
            host.waiting.append((line, url))
            return False
        host.active += 1
        return True

    def leave(self, host: Host | None, *, hand_on: bool) -> Waiting | None:
        """A request to ``host`` finished: the next line waiting for it, which takes over
        the slot (only when ``hand_on``), or None when the slot is free again."""
        self._finished += 1
        if self._hosts is not None and self._finished % PRUNE_EVERY == 0:
            self._hosts = {origin: state for origin, state in self._hosts.items() if not state.idle}
        if host is None or not self._per_host:
            return None
        if host.waiting and hand_on:
            return host.waiting.popleft()
        host.active -= 1
        return None
