"""What counts as one server: the origin (scheme, host, port) of a URL, with the scheme's
default port filled in (RFC 9110 §4.3.1), written once for the limits, the transport, the
saved files' names, the canonical URL and the messages. Imports nothing of fetchall's."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
"""The port an http(s) URL means when it names none (RFC 9110 §4.2)."""


def default_port(scheme: str) -> int:
    """The port ``scheme`` means when a URL names none: 443 for https, 80 otherwise."""
    return DEFAULT_PORTS.get(scheme, 80)


class Origin(NamedTuple):
    """(scheme, host, port), lower-cased, the port always given: one server."""

    scheme: str
    host: str
    """The host name or address, without IPv6 brackets."""
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of an http(s) URL; ValueError when its port is not a number in
        0-65535."""
        parts = urlsplit(url)
        return cls.from_parts(parts.scheme, parts.hostname or "", parts.port)

    @classmethod
    def from_parts(cls, scheme: str, host: str, port: int | None) -> Origin:
        """The origin of already split parts (``port`` None for the default)."""
        scheme = scheme.lower()
        return cls(scheme, host.lower(), default_port(scheme) if port is None else port)

    @property
    def has_default_port(self) -> bool:
        """Whether the port is the scheme's default, so URLs may leave it out."""
        return self.port == DEFAULT_PORTS.get(self.scheme)

    @property
    def authority(self) -> str:
        """``host:port``, an IPv6 address in brackets: where to connect, for messages."""
        return f"{bracketed(self.host)}:{self.port}"

    @property
    def netloc(self) -> str:
        """``host`` or ``host:port``: the port only when it is not the default."""
        host = bracketed(self.host)
        return host if self.has_default_port else f"{host}:{self.port}"


def bracketed(host: str) -> str:
    """An IPv6 address in brackets, as URLs write it; any other host as it is."""
    return f"[{host}]" if ":" in host else host
