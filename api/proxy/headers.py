"""Headers between a client and a replica: hop-by-hop ones stay on their hop, the client's
durastack token never reaches the service, and the replica learns where the request came from."""

from __future__ import annotations

from collections.abc import Iterable

RawHeaders = Iterable[tuple[bytes, bytes]]

# RFC 9110 §7.6.1, and what proxies commonly treat so.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade"})
# Set for the replica's hop by the HTTP client (host), answered by the API's own server already
# (expect: 100-continue), or replaced below.
_REPLACED = frozenset({b"host", b"expect", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-prefix"})
# The WebSocket handshake is the proxy's own on each side.
_WEBSOCKET_HANDSHAKE = frozenset({b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions",
                                  b"sec-websocket-protocol", b"sec-websocket-accept"})


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Headers that a Connection header names are hop-by-hop too."""
    return {token.strip().lower() for name, value in headers if name.lower() == b"connection"
            for token in value.split(b",") if token.strip()}


def _without(headers: list[tuple[bytes, bytes]], names: Iterable[bytes]) -> list[tuple[bytes, bytes]]:
    dropped = HOP_BY_HOP | _connection_tokens(headers) | set(names)
    return [(name, value) for name, value in headers if name.lower() not in dropped]


def request_headers(headers: RawHeaders, *, client_host: str | None, scheme: str, strip_authorization: bool,
                    prefix: str | None, websocket: bool = False) -> list[tuple[bytes, bytes]]:
    """What the replica gets. X-Forwarded-For gains the client's address; -Proto and -Host say
    what the client asked for; -Prefix is the path the proxy removed (strip_prefix)."""
    headers = list(headers)
    dropped = set(_REPLACED)
    if strip_authorization:
        dropped.add(b"authorization")
    if websocket:
        dropped |= _WEBSOCKET_HANDSHAKE
    forwarded = _without(headers, dropped)
    host = next((value for name, value in headers if name.lower() == b"host"), None)
    if client_host is not None:
        earlier = [value for name, value in forwarded if name.lower() == b"x-forwarded-for"]
        forwarded = [(name, value) for name, value in forwarded if name.lower() != b"x-forwarded-for"]
        forwarded.append((b"x-forwarded-for", b", ".join([*earlier, client_host.encode()])))
    forwarded.append((b"x-forwarded-proto", b"https" if scheme in ("https", "wss") else b"http"))
    if host is not None:
        forwarded.append((b"x-forwarded-host", host))
    if prefix is not None:
        forwarded.append((b"x-forwarded-prefix", prefix.encode()))
    return forwarded


def response_headers(headers: RawHeaders) -> list[tuple[bytes, bytes]]:
    """What the client gets of the replica's answer."""
    return _without(list(headers), ())


def bearer_token(headers: RawHeaders) -> str | None:
    """As api/auth.py reads it: `Authorization: Bearer <token>` (the proxy takes no ?token=: the
    query string is the service's)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
