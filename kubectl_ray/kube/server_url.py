"""The API server address as client-go reads it (rest.DefaultServerURL), and host:port as Go prints it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kubectl_ray.kube.errors import ConfigError


def join_host_port(host: str, port: int | str) -> str:
    """Go's net.JoinHostPort: IPv6 addresses in brackets, so every message shows `[::1]:6443`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class ServerURL:
    scheme: str  # http | https
    host: str  # without brackets
    port: int
    base_path: str  # "" or a prefix such as "/k8s" (a proxy in front of the API server)
    configured: str  # the server string as client-go keeps it, for exec plugins and messages

    join_host_port = staticmethod(join_host_port)

    @property
    def secure(self) -> bool:
        return self.scheme == "https"

    @property
    def netloc(self) -> str:
        return join_host_port(self.host, self.port)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.base_path}"


def parse_server(server: str) -> ServerURL:
    """`https://host:port/prefix`, or `host:port` (plain http, as client-go assumes without a scheme)."""
    configured = _clean(server)
    text = configured if "://" in configured else "http://" + configured
    parts = urlsplit(text)
    if "://" not in configured and parts.path not in ("", "/"):
        raise ConfigError(f'host must be a URL or a host:port pair: "{server}"')
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f'server "{server}": unsupported protocol scheme "{parts.scheme}" (use https:// or http://)')
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f'server "{server}": invalid port (must be a number from 1 to 65535)') from None
    if not parts.hostname:
        raise ConfigError(f'host must be a URL or a host:port pair: "{server}"')
    if port == 0:
        raise ConfigError(f'server "{server}": invalid port (must be a number from 1 to 65535)')
    default_port = 443 if parts.scheme == "https" else 80
    return ServerURL(parts.scheme, parts.hostname, port or default_port, parts.path.rstrip("/"), configured)


def _clean(server: str) -> str:
    """client-go drops a query and fragment from a server URL that has a path."""
    if "://" in server:
        head, _, rest = server.partition("://")
        authority, slash, path = rest.partition("/")
        if slash and len(path) > 0:
            path = path.split("#", 1)[0].split("?", 1)[0]
            return f"{head}://{authority}/{path}"
    return server
