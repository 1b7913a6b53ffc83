"""Target URLs (RFC 9110 §7.1): which URLs fetchall requests, whether an input line or a
redirect's ``Location`` names them, and how people are shown them (never a password).

A URL is requested only when all of these hold (``refusal`` says which one fails):

- its scheme is ``http`` or ``https``: fetchall speaks HTTP only (curl, which speaks more,
  follows redirects to http, https, ftp and ftps by default: CURLOPT_REDIR_PROTOCOLS_STR,
  since 7.65.2);
- it names a host, and a port, when it names one, of 1-65535 (RFC 9293 §3.1: 16 bits;
  port 0 is reserved), written in ASCII digits;
- its host can be encoded: a non-ASCII host has an IDNA 2008 form, and every label that
  starts with ``xn--`` is a valid IDNA 2008 A-label (RFC 5891 §5.4) — checked with the
  ``idna`` package, as httpx encodes and decodes hosts with it (httpx raises from
  ``URL.host`` for ``xn--n3h.example``, U+2603 being disallowed);
- it has no whitespace (any character ``str.isspace`` calls one: U+00A0, U+0085,
  U+2028, U+3000 too) nor control character (C0, DEL, C1);
- its host is an IP literal or a valid name (RFC 3986 §3.2.2 reg-name, as DNS takes it:
  RFC 1035 §2.3.4, RFC 1123 §2.1): in its ASCII (IDNA) form, labels of letters, digits,
  ``-`` and ``_`` (underscores are in real DNS names: ``_dmarc``, ``my_host.example``,
  and resolvers answer them), 1-63 characters each, at most 253 in all (one trailing dot
  allowed). A host such as ``=cmd|x`` or ``"quoted",`` is refused before any lookup.

Imports nothing of fetchall's.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

import idna

SCHEMES = ("http", "https")
"""The schemes fetchall requests."""
MAX_PORT = 65535
_WHITESPACE_OR_CONTROL = re.compile(
    "[\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
"""C0 and C1 controls, DEL, and every character ``str.isspace`` calls whitespace (a test
checks the list against all of Unicode)."""
_LABEL = re.compile(r"[a-z0-9_-]{1,63}", re.IGNORECASE)
"""One label of a host name in its ASCII form."""
_BAD_LABEL = "a label that is not 1-63 letters, digits, '-' or '_'"
MAX_HOST_NAME = 253
"""Characters in a host name without its trailing dot (RFC 1035 §2.3.4: 255 octets on
the wire)."""
_PASSWORD = re.compile(r"(^|//)([^/?#\s@:]*):[^/?#\s]*@")
"""``user:password@`` at the start of a text or after ``//``; the password runs to the
last ``@`` of the authority, as ``urlsplit`` reads it (``user:p@ss@host``)."""


def refusal(url: str) -> str | None:
    """Why fetchall does not request ``url`` (words for people), or None when it does."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # broken IPv6 brackets, a netloc that NFKC changes
        return f"unparsable URL: {exc}"
    if parts.scheme not in SCHEMES:
        return f"unsupported scheme {parts.scheme!r}: only http and https are fetched"
    port = _port_text(parts)
    if port and not (port.isascii() and port.isdigit()):
        return f"port {port[:20]!r} is not a number"
    if port and not (len(port) <= 5 and 1 <= int(port) <= MAX_PORT):
        return f"port {port[:20]} is outside 1-{MAX_PORT}"
    host = parts.hostname
    if not host:
        return "no host in URL"
    reason = _host_refusal(host)
    if reason is not None:
        return reason
    if _WHITESPACE_OR_CONTROL.search(url):
        return "URL contains whitespace or control characters"
    if "[" not in parts.netloc:  # an IPv6 literal: urlsplit checked it
        return _name_refusal(host)
    return None


def _name_refusal(host: str) -> str | None:
    """Why ``host`` (lower-cased, encodable) is not a valid host name, or None."""
    name = host if host.isascii() else idna.encode(host).decode("ascii")
    name = name.removesuffix(".")
    if len(name) > MAX_HOST_NAME:
        return f"host {host[:80]!r}… is longer than {MAX_HOST_NAME} characters"
    for label in name.split("."):
        if not _LABEL.fullmatch(label):
            why = (
                "an empty label"
                if not label
                else "a label that is not 1-63 letters, digits, '-' or '_'"
            )
            return f"host {host[:80]!r} is not a valid host name: {why}"
    return None


def _host_refusal(host: str) -> str | None:
    """Why ``host`` (lower-cased, IPv6 brackets removed) cannot be encoded, or None."""
    try:
        if not host.isascii():
            idna.encode(host)
        elif "xn--" in host:
            for label in host.split("."):
                if label.startswith("xn--"):
                    idna.decode(label)
    except UnicodeError as exc:  # idna.IDNAError is one
        return f"host {host[:80]!r} is not a valid internationalized name: {exc}"
    return None


def _port_text(parts: SplitResult) -> str:
    """The port as written in the authority ('' when none)."""
    hostinfo = parts.netloc.rpartition("@")[2]
    if hostinfo.startswith("["):
        return hostinfo.partition("]")[2].removeprefix(":")
    return hostinfo.partition(":")[2]


def masked(text: str) -> str:
    """``text`` with the password of each URL in it replaced by ``***``
    (``http://user:***@host/``); a line without a scheme (``user:pw@host``) too."""
    if "@" not in text:
        return text
    return _PASSWORD.sub(r"\1\2:***@", text)
