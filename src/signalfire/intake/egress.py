"""Where the server may fetch from.

Feed and snapshot URLs are typed in by org admins and fetched by the server, so by default the fetcher
refuses any address that is not globally routable (loopback, private, link-local, carrier-grade NAT,
multicast, reserved, the cloud metadata address): otherwise a feed URL could read the deployment's own
network. The check is made on the address actually connected to, after resolution, so a public name
that resolves to a private address (or starts to, between two requests) is refused all the same.
``feeds.allow_private_addresses`` turns it off (tests serve feeds on loopback; an intranet feed
reader may need it). Requests that go through a proxy from the environment are the proxy's to police.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class RefusedAddress(httpcore.ConnectError):
    """The host resolves only to addresses the server must not fetch from."""


def is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


class PublicOnlyBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to globally routable addresses (TLS still verifies
    the name: httpcore starts TLS with the URL's host, not the address)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        public = [a for a in addresses if is_public(a)]
        if not public:
            raise RefusedAddress(
                f"refused: {host} resolves to {', '.join(addresses)}, not a public address "
                "(set SIGNALFIRE_FEEDS__ALLOW_PRIVATE_ADDRESSES=true to fetch from a private network)"
            )
        error: httpcore.ConnectError | None = None
        for address in public:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error


class PublicOnlyTransport(httpx.HTTPTransport):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # httpx takes no network backend of its own; the pool it built gets ours. Checked here so that an
        # httpcore that renames the attribute fails at start (and in the tests), never silently.
        pool = self._pool
        if not hasattr(pool, "_network_backend"):  # pragma: no cover - a different httpcore
            raise RuntimeError("httpcore.ConnectionPool has no _network_backend: update egress.py")
        pool._network_backend = PublicOnlyBackend()


def client(*, allow_private: bool, **kwargs: Any) -> httpx.Client:
    """An httpx client for server-side fetches of user-given URLs."""
    if allow_private:
        return httpx.Client(**kwargs)
    return httpx.Client(transport=PublicOnlyTransport(), **kwargs)


__all__ = ["PublicOnlyBackend", "PublicOnlyTransport", "RefusedAddress", "client", "is_public"]
