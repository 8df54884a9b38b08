"""The typed boundary: documents that come from outside, checked where they enter, and typed getters.

Everything the API server, a Ray dashboard or a file gives us is JSON-like data of unknown shape. The
envelopes are checked once where they enter (an answer must be an object, a list's `items` a list of
objects, a Status's `details` an object) and a wrong envelope is ONE error line naming the source
and what was wrong:

    error: the server's answer to GET /apis/ray.io/v1/namespaces/default/rayclusters is not a list
    object (got a JSON array)

Fields inside objects are read with the getters below, which give a value of the asked type or the
default: a `status: null`, a `replicas: "3"` or a `conditions` string reads as absent, so tables,
rules and printers never see a wrong type and never raise on one. Code that must act on a field (scale
a group, add one) uses `required_*`, which name the object and the field in their error instead.

Limits: JSON nested deeper than the parser can follow is an error here (RecursionError never leaves
`decode_json`); `check_depth` refuses more than MAX_DEPTH levels (and, for YAML files, too many values
once aliases are expanded) before anything walks a document recursively; `read_body_capped` and
`read_stream_capped` read HTTP bodies and files in pieces up to the cap their caller names.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any, Mapping

from kubectl_ray.errors import KubectlRayError

EMPTY: Mapping[str, Any] = MappingProxyType({})  # the default of `mapping`: shared, so read-only
MIB = 1024 * 1024
# Levels of objects and arrays any real document stays within: the KubeRay CRDs, the deepest objects we
# read, nest 36 levels. Code that walks documents recursively (printers, deepcopy, jsonpath) needs ~3
# Python frames a level and Python allows 1000, so deeper documents are refused before such walks.
MAX_DEPTH = 100


class ShapeError(KubectlRayError):
    """An answer or a file whose shape is not what it must be."""


def describe(value: Any) -> str:
    """A value's JSON type, for messages: `a JSON array`, `null`, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, (list, tuple)):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    return type(value).__name__


# --- where data enters ------------------------------------------------------------------------------

def decode_json(data: bytes | str, source: str) -> Any:
    """Parse a JSON body; anything that is not JSON (or nests past the parser's recursion limit) is a
    ShapeError naming the source."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ShapeError(f"{source} is nested too deeply to read") from None
    except UnicodeDecodeError:
        raise ShapeError(f"{source} is not JSON (not UTF-8 text)") from None
    except ValueError as exc:
        raise ShapeError(f"{source} is not JSON ({_json_problem(exc, data)})") from None


def _json_problem(exc: ValueError, data: bytes | str) -> str:
    if not data or not data.strip():
        return "the body is empty"
    msg = getattr(exc, "msg", None)
    pos = getattr(exc, "pos", None)
    return f"{msg} at byte {pos}" if msg and pos is not None else str(exc).split(":")[0]


def check_depth(doc: Any, source: str, limit: int = MAX_DEPTH, *, max_values: int | None = None) -> None:
    """Refuse a document nested deeper than `limit`, or (max_values) holding more values than that once
    shared parts are counted each time they are used (YAML aliases: `&a [*b, *b, ...]` chains grow
    exponentially; the walk stops at the cap). One level-by-level walk, no recursion; it costs about
    what parsing cost, so callers run it only before walking a document recursively."""
    level, values = [doc], 0
    for _ in range(limit + 1):
        below: list[Any] = []
        add = below.append
        for node in level:
            children = node.values() if type(node) is dict else node if type(node) is list else ()
            if max_values is not None:
                values += len(children)
                if values > max_values:
                    raise ShapeError(f"{source} holds more than {max_values} values once its aliases are expanded")
            for value in children:
                if type(value) is dict or type(value) is list:
                    add(value)
        if not below:
            return
        level = below
    raise ShapeError(f"{source} is nested more than {limit} levels deep; no real object is")


def expect_object(doc: Any, source: str, what: str = "an object") -> dict[str, Any]:
    """doc itself, which must be a JSON object."""
    if type(doc) is not dict:
        raise ShapeError(f"{source} is not {what} (got {describe(doc)})")
    return doc


def list_envelope(doc: Any, source: str) -> tuple[list[dict[str, Any]], str | None]:
    """A Kubernetes list: (items, continue token). `items` must be an array of objects (null is empty)
    and `metadata.continue` a string; the check is one type test per item."""
    obj = expect_object(doc, source, "a list object")
    items = obj.get("items")
    if items is None:
        items = []
    elif type(items) is not list:
        raise ShapeError(f"{source} is not a list object (items is {describe(items)}, not an array)")
    for index, item in enumerate(items):
        if type(item) is not dict:
            raise ShapeError(f"{source} is not a list object (items[{index}] is {describe(item)}, not an object)")
    meta = obj.get("metadata")
    token = meta.get("continue") if type(meta) is dict else None
    if token is not None and not isinstance(token, str):
        raise ShapeError(f"{source} is not a list object (metadata.continue is {describe(token)}, not a string)")
    return items, token or None


class TooLarge(Exception):
    """A body past its cap; `start` gives its first `limit` bytes (for error answers we show a part of)."""

    def __init__(self, pieces: list[bytes], limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.pieces, self.limit = pieces, limit

    @property
    def start(self) -> bytes:
        return b"".join(self.pieces)[:self.limit]


def read_body_capped(raw: Any, limit: int, declared: int | None = None) -> bytes:
    """An HTTP body read in pieces (http.client's HTTPResponse or any `read(n)` stream): more than `limit`
    bytes raises TooLarge as soon as it is known, from the declared Content-Length or while reading, so
    memory never grows past the cap."""
    if declared is not None and declared > limit:
        raise TooLarge([raw.read(min(limit, MIB))], limit)
    pieces: list[bytes] = []
    size = 0
    while True:
        piece = raw.read(min(MIB, limit + 1 - size))
        if not piece:
            if getattr(raw, "length", None):  # http.client reads short at EOF without saying so
                import http.client  # only here: kube/http11.py raises its own IncompleteRead

                raise http.client.IncompleteRead(b"".join(pieces), raw.length)
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            raise TooLarge(pieces, limit)


def read_stream_capped(stream: Any, limit: int) -> bytes:
    """All of a file or stdin, but at most `limit` bytes: a longer or endless one (/dev/zero) raises
    TooLarge after reading limit + 1 bytes, never growing past the cap."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge([], limit)
    return data


# --- typed getters -----------------------------------------------------------------------------------

def dig(obj: Any, *path: str | int) -> Any:
    """obj[a][b]..., None for anything missing or of the wrong type on the way (ints index arrays)."""
    cur = obj
    for key in path:
        if isinstance(key, int):
            if type(cur) is not list or not -len(cur) <= key < len(cur):
                return None
        elif type(cur) is not dict:
            return None
        cur = cur.get(key) if type(key) is str else cur[key]
    return cur


def mapping(obj: Any, *path: str | int) -> Mapping[str, Any]:
    """The object at path, or an empty mapping (absent, null or not an object)."""
    value = dig(obj, *path) if path else obj
    return value if type(value) is dict else EMPTY


def array(obj: Any, *path: str | int) -> list[Any]:
    """The array at path, or [] (absent, null or not an array)."""
    value = dig(obj, *path) if path else obj
    return value if type(value) is list else []


def objects(obj: Any, *path: str | int) -> list[dict[str, Any]]:
    """The objects of the array at path; items that are not objects are skipped."""
    return [item for item in array(obj, *path) if type(item) is dict]


def text(obj: Any, *path: str | int, default: str = "") -> str:
    """The string at path, or default (absent or not a string)."""
    value = dig(obj, *path) if path else obj
    return value if type(value) is str else default


def integer(obj: Any, *path: str | int, default: int = 0) -> int:
    """The integer at path, or default (absent, a bool, a float or a string such as "3")."""
    value = dig(obj, *path) if path else obj
    return value if type(value) is int else default


def strings(obj: Any, *path: str | int) -> list[str]:
    """The strings of the array at path; items that are not strings are skipped."""
    return [item for item in array(obj, *path) if type(item) is str]


def string_map(obj: Any, *path: str | int) -> dict[str, str]:
    """A map of strings at path (labels, annotations, nodeSelector); entries that are not strings are skipped."""
    return {k: v for k, v in mapping(obj, *path).items() if type(v) is str}


def name_of(obj: Any) -> str:
    return text(obj, "metadata", "name")


def namespace_of(obj: Any) -> str:
    return text(obj, "metadata", "namespace")


# --- fields an action needs -----------------------------------------------------------------------------

def required_array(obj: Any, path: tuple[str, ...], what: str) -> list[Any]:
    """The array at path of an object we are about to change; absent is empty, any other type an error."""
    value = dig(obj, *path)
    if value is None:
        return []
    if type(value) is not list:
        raise ShapeError(f"{what} has {'.'.join(path)} of the wrong type ({describe(value)}, not an array)")
    return value


def required_object(obj: Any, path: tuple[str, ...], what: str) -> dict[str, Any]:
    value = dig(obj, *path)
    if type(value) is not dict:
        raise ShapeError(f"{what} has {'.'.join(path)} of the wrong type ({describe(value)}, not an object)")
    return value
