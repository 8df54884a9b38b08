"""Header values checked before they are sent, and impersonation header names as client-go writes them."""

from __future__ import annotations

from kubectl_ray.kube.errors import ConfigError

# RFC 7230 token characters (net/http's isTokenTable, as client-go's headerKeyEscape uses it)
_TOKEN_CHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def check_header_value(value: str, source: str) -> bytes:
    """The value as sent (UTF-8), or an error naming where it came from; never the value itself
    (it may be a token, and a CR/LF in it would otherwise split the request)."""
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
        raise ConfigError(f"{source} contains a line break or another control character; it cannot be sent "
                          "in an HTTP header (the value is not shown)")
    return value.encode("utf-8")


def escape_extra_key(key: str) -> str:
    """client-go's headerKeyEscape: percent-encode every byte that is not an RFC 7230 token character."""
    return "".join(chr(b) if b in _TOKEN_CHARS and b != ord("%") else f"%{b:02X}" for b in key.encode("utf-8"))
