"""Outbound webhook HTTP with SSRF protection.

An endpoint URL is checked when it is saved and again before every delivery: ``https`` only
(plain ``http`` in DEBUG), the host resolved, and EVERY address it resolves to must be public
(not loopback, private, link-local, multicast, reserved, unspecified, shared or documentation
space, also when hidden in an IPv4-mapped or 6to4/Teredo IPv6 address), unless it lies in one of
``WEBHOOK_ALLOWED_PRIVATE_NETWORKS``. The request is then sent to the address that was checked
(no second resolution, so no DNS-rebinding window), with the URL's host name in ``Host`` and as
the TLS server name (SNI and certificate check). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESPONSE_BODY_LIMIT = 1024


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks (scheme, host or a resolved address)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS]


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(address: str) -> bool:
    """True when ``address`` is public, or inside an allowed private network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    networks = _allowed_networks()
    embedded = _embedded_ipv4(ip)
    candidates: list[IPAddress] = [ip] if embedded is None else [embedded]
    for candidate in candidates:
        if any(candidate.version == net.version and candidate in net for net in networks):
            continue
        public = candidate.is_global and not (
            candidate.is_multicast
            or candidate.is_private
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_reserved
            or candidate.is_unspecified
        )
        if not public:
            return False
    return True


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl("The host name could not be resolved.") from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def url_check(url: str) -> Target:
    """The checked target of ``url``, or :class:`UnsafeUrl` with a reason fit for the client."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("Enter a valid URL.") from exc
    allowed_schemes = ("https", "http") if settings.DEBUG else ("https",)
    if parts.scheme not in allowed_schemes:
        raise UnsafeUrl("The URL must use https.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("The URL may not contain credentials.")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("The URL has no host.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not addresses:
        raise UnsafeUrl("The host name could not be resolved.")
    if not all(address_allowed(address) for address in addresses):
        raise UnsafeUrl("The URL resolves to a private, loopback or otherwise non-public address.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))


def post_checked(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> SendResult:
    """POST ``body`` to the first checked address of ``target`` (no redirects, ``timeout`` in all);
    never raises for network or HTTP failures: they are in the result."""
    address = target.addresses[0]
    deadline = urllib3.Timeout(total=timeout)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=deadline,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
            assert_hostname=target.host,
            ca_certs=settings.WEBHOOK_CA_BUNDLE or None,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=deadline, retries=False, maxsize=1)
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            raw = response.read(RESPONSE_BODY_LIMIT, decode_content=False) or b""
        finally:
            response.release_conn()
            response.close()
        status_code = response.status
        error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
        text = raw.decode("utf-8", errors="replace")
    except urllib3.exceptions.HTTPError as exc:
        status_code, text = None, ""
        error = _describe(exc)
    finally:
        pool.close()
    return SendResult(status_code=status_code, body=text, error=error, duration_ms=_ms_since(started))


def _describe(exc: Exception) -> str:
    # NewConnectionError is a kind of ConnectTimeoutError in urllib3: test it first.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection refused or unreachable"
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timeout"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLS error"
    return f"network error ({type(exc).__name__})"


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
