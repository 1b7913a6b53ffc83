"""make_url gives exactly the httpx.URL that httpx's own parser gives, or the same error."""

from __future__ import annotations

import httpx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fetchall._http.urls import _parsed_origin, make_url

_PIECES = [
    "a", "Z", "0", "-", ".", "..", "_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";",
    "=", ":", "@", "/", "//", "?", "#", "%", "%41", "%zz", "é", "\\", " ", "\t", "[", "]",
    "{", "}", "|", "^", "`", '"', "<", ">",
]  # fmt: skip
_ORIGINS = [
    "http://example.com",
    "HTTPS://Example.COM:443",
    "http://example.com:80",
    "http://127.0.0.1:8080",
    "http://[::1]:9000",
    "http://user:pw@example.com",
    "http://bücher.example",
    "http://example.com:99999999",
    "http://exa mple.com",
    "http://[not-ip]",
    "http://example.com?",
    "http:/example.com",
    "ftp://example.com",
    "",
    "http",
    "ĥttp://example.com",
]


def _outcome(make: object, text: str) -> tuple[str, ...] | str:
    try:
        url = make(text)  # type: ignore[operator]
    except httpx.InvalidURL as exc:
        return f"InvalidURL: {exc}"
    assert isinstance(url, httpx.URL)
    parts = (url.scheme, url.userinfo.decode(), url.host, str(url.port), url.raw_path.decode())
    return (str(url), *parts)


@settings(max_examples=1000)
@given(st.sampled_from(_ORIGINS), st.lists(st.sampled_from(_PIECES), max_size=12))
@example("http://example.com", ["/", "a", "/", "..", "/", "b"])
@example("http://example.com", ["#", "/", "a"])
@example("http://example.com", ["?", "/", "a"])
@example("http:/example.com", [":", "//", "a", "/"])
@example("http://example.com", ["/", "%41", "?", "%zz"])
@example("http://example.com", ["/", "%zz", "/", "é"])
@example("http://127.0.0.1:8080", ["/", "small.bin", "?", "i", "=", "0"])
def test_same_url_as_httpx_parses(origin: str, pieces: list[str]) -> None:
    """Whatever the path and query hold, the URL (or the error) is httpx's own."""
    text = origin + "".join(pieces)
    assert _outcome(make_url, text) == _outcome(httpx.URL, text)


def test_plain_urls_of_one_origin_parse_it_once() -> None:
    """The origin of URLs needing no rewriting is parsed once, whatever their number."""
    _parsed_origin.cache_clear()
    urls = [make_url(f"http://A.example:8080/file{i}.bin?i={i}&x=y") for i in range(100)]
    assert _parsed_origin.cache_info().misses == 1
    assert [str(url) for url in urls] == [
        str(httpx.URL(f"http://a.example:8080/file{i}.bin?i={i}&x=y")) for i in range(100)
    ]


def test_a_url_too_long_for_httpx_is_refused_the_same_way() -> None:
    text = "http://example.com/" + "a" * 65536
    assert _outcome(make_url, text) == _outcome(httpx.URL, text)
