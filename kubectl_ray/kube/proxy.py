"""Proxies as kubectl uses them: the cluster's `proxy-url`, else Go's HTTP(S)_PROXY/NO_PROXY rules.

- `proxy-url` (http, https or socks5) is used for every request to that cluster, loopback included,
  whatever NO_PROXY says.
- Otherwise Go's httpproxy rules: HTTPS_PROXY (https_proxy) for https servers, HTTP_PROXY
  (http_proxy) for http ones; never for `localhost` or loopback IPs; NO_PROXY (no_proxy) entries are
  `*`, CIDRs, IPs (optionally `:port`), and domains: `example.com` matches it and its subdomains,
  `.example.com` / `*.example.com` only subdomains, `host:port` only that port.
- Tunnels: HTTP CONNECT for https servers (Proxy-Authorization from the URL's user info), absolute
  URIs for http servers, SOCKS5 (RFC 1928, user/password per RFC 1929) for both.

A proxy URL may hold a password: messages name the proxy as scheme://host:port only.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import SplitResult, unquote, urlsplit

from kubectl_ray.kube.deadline import Deadline
from kubectl_ray.kube.errors import ConfigError, ConnectionFailed
from kubectl_ray.kube.server_url import ServerURL, join_host_port

_DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}


@dataclass(frozen=True)
class ProxyURL:
    scheme: str  # http | https | socks5
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The proxy without its credentials, for messages."""
        return f"{self.scheme}://{join_host_port(self.host, self.port)}"

    @property
    def authorization(self) -> str | None:
        """Proxy-Authorization for http(s) proxies, as Go sends it whenever the URL has user info."""
        if self.username is None:
            return None
        raw = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def parse_proxy_url(text: str) -> ProxyURL:
    """A kubeconfig `proxy-url` (clientcmd's rules); ValueError says what is wrong without the URL."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "socks5"):
        raise ValueError(f'unsupported scheme "{parts.scheme}", must be http, https, or socks5')
    return _proxy(parts)


def parse_env_proxy(text: str) -> ProxyURL | None:
    """An HTTP(S)_PROXY value (Go's parseProxy): `host:port` means http://; unusable values are ignored."""
    if not text:
        return None
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        parts = urlsplit("http://" + text)
    try:
        return _proxy(parts)
    except ValueError:
        return None


def _proxy(parts: SplitResult) -> ProxyURL:
    try:
        port = parts.port
    except ValueError:
        raise ValueError("could not parse it (bad port)") from None
    host = parts.hostname
    if not host:
        raise ValueError("could not parse it (no host)")
    scheme = "socks5" if parts.scheme == "socks5h" else parts.scheme
    user, password = parts.username, parts.password
    return ProxyURL(scheme, host, port or _DEFAULT_PORTS.get(scheme, 80),
                    unquote(user) if user is not None else None, unquote(password) if password is not None else None)


def select_proxy(endpoint: ServerURL, proxy_url: str | None,
                 environ: Mapping[str, str] | None = None) -> ProxyURL | None:
    """The proxy for requests to `endpoint`, or None for a direct connection."""
    if proxy_url:
        try:
            return parse_proxy_url(proxy_url)
        except ValueError as exc:
            raise ConfigError(f"invalid 'proxy-url': {exc}") from None
    env = os.environ if environ is None else environ
    if endpoint.secure:
        proxy = parse_env_proxy(_first(env, "HTTPS_PROXY", "https_proxy"))
    else:
        proxy = parse_env_proxy(_first(env, "HTTP_PROXY", "http_proxy"))
        if proxy is not None and env.get("REQUEST_METHOD"):
            raise ConfigError("refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy")
    if proxy is None or not use_proxy(endpoint.host, endpoint.port, _first(env, "NO_PROXY", "no_proxy")):
        return None
    return proxy


def _first(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        if env.get(name):
            return env[name]
    return ""


def use_proxy(host: str, port: int, no_proxy: str) -> bool:
    """Go's httpproxy useProxy: False for loopback and for hosts NO_PROXY exempts."""
    host = host.strip().lower()
    if host == "localhost":
        return False
    ip = _ip(host)
    if ip is not None and ip.is_loopback:
        return False
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return False
        if _no_proxy_matches(entry, host, str(port), ip):
            return False
    return True


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # Go treats ::ffff:127.0.0.1 as the IPv4 address
    return ip


def _no_proxy_matches(entry: str, host: str, port: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    if "/" in entry:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            network = None
        if network is not None:
            return ip is not None and ip.version == network.version and ip in network
    entry_host, entry_port = _split_host_port(entry)
    if not entry_host:
        return False
    entry_ip = _ip(entry_host)
    if entry_ip is not None:
        return ip is not None and entry_ip == ip and entry_port in ("", port)
    if ip is not None:
        return False  # domain entries never match IP addresses
    if entry_host.startswith("*."):
        entry_host = entry_host[1:]
    match_host = not entry_host.startswith(".")
    suffix = entry_host if not match_host else "." + entry_host
    if host.endswith(suffix) or (match_host and host == suffix[1:]):
        return entry_port in ("", port)
    return False


def _split_host_port(entry: str) -> tuple[str, str]:
    """Go's net.SplitHostPort, or the entry itself as host when it has no port."""
    if entry.startswith("["):
        end = entry.find("]")
        if end > 0 and entry[end + 1:end + 2] == ":":
            return entry[1:end], entry[end + 2:]
        return entry, ""
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


# --- tunnels -------------------------------------------------------------------------------------


def connect_via_proxy(proxy: ProxyURL, host: str, port: int, deadline: Deadline) -> socket.socket:
    """A socket tunnelled through `proxy` to host:port (CONNECT or SOCKS5), ready for TLS or HTTP."""
    if proxy.scheme == "https":
        raise ConfigError(f"proxy {proxy.display}: https:// proxies are not supported; use an http:// or "
                          "socks5:// proxy URL")
    sock = open_socket(proxy.host, proxy.port, deadline)
    try:
        sock.settimeout(deadline.remaining())
        if proxy.scheme == "socks5":
            _socks5_connect(sock, proxy, host, port)
        else:
            _http_connect(sock, proxy, host, port)
    except BaseException:
        sock.close()
        raise
    return sock


def open_socket(host: str, port: int, deadline: Deadline) -> socket.socket:
    """A TCP connection within the deadline (refused/unreachable errors propagate as OSError)."""
    return socket.create_connection((host, port), timeout=deadline.remaining())


def _http_connect(sock: socket.socket, proxy: ProxyURL, host: str, port: int) -> None:
    target = join_host_port(host, port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    head = _read_head(sock, proxy)
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionFailed(f"proxy {proxy.display} answered CONNECT with something that is not HTTP")
    if parts[1] != "200":
        reason = parts[2] if len(parts) > 2 else ""
        raise ConnectionFailed(f"Unable to connect to the server: proxy {proxy.display} refused to connect to "
                               f"{target}: {parts[1]} {reason}".rstrip())


def _read_head(sock: socket.socket, proxy: ProxyURL, limit: int = 65536) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionFailed(f"Unable to connect to the server: proxy {proxy.display} closed the connection")
        data += chunk
        if len(data) > limit:
            raise ConnectionFailed(f"proxy {proxy.display} sent an endless CONNECT answer")
    return data


def _socks5_connect(sock: socket.socket, proxy: ProxyURL, host: str, port: int) -> None:
    methods = b"\x00\x02" if proxy.username is not None else b"\x00"
    sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
    version, method = _recv_exact(sock, 2, proxy)
    if version != 5 or method not in methods:
        raise ConnectionFailed(f"Unable to connect to the server: socks5 proxy {proxy.display} accepts none of our "
                               "authentication methods")
    if method == 2:
        user, password = (proxy.username or "").encode(), (proxy.password or "").encode()
        if len(user) > 255 or len(password) > 255:
            raise ConfigError(f"socks5 proxy {proxy.display}: user name or password longer than 255 bytes")
        sock.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password)
        if _recv_exact(sock, 2, proxy)[1] != 0:
            raise ConnectionFailed(f"Unable to connect to the server: socks5 proxy {proxy.display} rejected the "
                                   "user name or password")
    sock.sendall(b"\x05\x01\x00" + _socks_address(host) + port.to_bytes(2, "big"))
    reply = _recv_exact(sock, 4, proxy)
    if reply[1] != 0:
        raise ConnectionFailed(f"Unable to connect to the server: socks5 proxy {proxy.display} could not connect to "
                               f"{join_host_port(host, port)} ({_SOCKS_REPLIES.get(reply[1], f'code {reply[1]}')})")
    address_length = {1: 4, 4: 16}.get(reply[3])
    if address_length is None:
        address_length = _recv_exact(sock, 1, proxy)[0]
    _recv_exact(sock, address_length + 2, proxy)


_SOCKS_REPLIES = {1: "general failure", 2: "connection not allowed", 3: "network unreachable",
                  4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
                  8: "address type not supported"}


def _socks_address(host: str) -> bytes:
    ip = _ip(host)
    if isinstance(ip, ipaddress.IPv4Address):
        return b"\x01" + ip.packed
    if isinstance(ip, ipaddress.IPv6Address):
        return b"\x04" + ip.packed
    name = host.encode("idna")
    if len(name) > 255:
        raise ConfigError(f"host name {host[:40]}... is too long for a socks5 proxy")
    return b"\x03" + bytes([len(name)]) + name


def _recv_exact(sock: socket.socket, count: int, proxy: ProxyURL) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionFailed(f"Unable to connect to the server: socks5 proxy {proxy.display} closed the "
                                   "connection")
        data += chunk
    return data
