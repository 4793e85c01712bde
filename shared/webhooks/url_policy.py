"""Which URLs a merchant may point an endpoint at (SPEC "Webhook endpoints").

Production mode: https only, and the host must not be or resolve to a loopback, private,
link-local, reserved or cloud-metadata address, or we would POST into our own network on a
merchant's behalf (SSRF). The check runs when the URL is saved and again at every delivery,
because DNS can change after the URL was accepted; the delivery then connects to the very
address that passed the check. Development mode allows http and localhost.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import InvalidRequest

MAX_URL_LENGTH = 2048

# Cloud metadata services not already covered by the link-local range.
_METADATA_ADDRESSES = {
    ipaddress.ip_address("fd00:ec2::254"),      # AWS (IPv6)
    ipaddress.ip_address("100.100.100.200"),    # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),        # Oracle Cloud
}
_METADATA_HOSTS = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data"}


class UrlRefused(InvalidRequest):
    code = "url_invalid"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str          # as written in the URL (for Host, SNI and certificate checks)
    port: int
    path: str          # path and query, as sent in the request line
    address: str       # the resolved IP address the request goes to


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this to fake DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # sockaddr[0] is the address text for both families (typeshed types it str | int).
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address):
        # 6to4 (2002::/16) and Teredo (2001::/32) tunnel an IPv4 address: it must be
        # public too, or a relay could carry the request to 127.0.0.1 or the metadata IP.
        tunnelled = [ip.sixtofour] if ip.sixtofour is not None else []
        if ip.teredo is not None:
            tunnelled.extend(ip.teredo)
        if ip.teredo is not None or any(not address_is_public(str(v4)) for v4 in tunnelled):
            return False
    if ip in _METADATA_ADDRESSES:
        return False
    return ip.is_global and not (ip.is_loopback or ip.is_private or ip.is_link_local
                                 or ip.is_reserved or ip.is_multicast or ip.is_unspecified)


def check_syntax(url: str, production: bool) -> tuple[str, str, int, str]:
    """Scheme, host, port and request path of an acceptable URL, or ``UrlRefused``."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"URLs are limited to {MAX_URL_LENGTH} characters.", param="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("Not a valid URL.", param="url") from None
    allowed = ("https",) if production else ("http", "https")
    if parts.scheme not in allowed:
        raise UrlRefused(f"The URL must use {' or '.join(allowed)}.", param="url")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.", param="url")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("The URL must not carry credentials.", param="url")
    if parts.fragment:
        raise UrlRefused("The URL must not have a #fragment.", param="url")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UrlRefused("The URL must not contain whitespace or control characters.",
                         param="url")
    host = parts.hostname
    if production and (host in _METADATA_HOSTS or host == "localhost"
                       or host.endswith((".localhost", ".internal"))):
        raise UrlRefused("The URL must point at a public host.", param="url")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def target_for(url: str, production: bool) -> Target:
    """Check ``url`` and resolve it to the address a delivery may connect to."""
    scheme, host, port, path = check_syntax(url, production)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise UrlRefused(f"The host {host!r} does not resolve.", param="url") from None
    if not addresses:
        raise UrlRefused(f"The host {host!r} does not resolve.", param="url")
    if production:
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            raise UrlRefused("The URL resolves to a private, loopback, link-local or "
                             "metadata address.", param="url")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def validate_endpoint_url(url: str, production: bool) -> str:
    """The check run when a merchant saves a URL. In development an unresolvable host is
    accepted (the receiver may not be up yet); in production it is refused."""
    if production:
        target_for(url, production=True)
    else:
        check_syntax(url, production=False)
    return url
