"""Hostile answers: what a broken or malicious API server or Ray dashboard can send instead of the real one.

A `Mutation` is plain data (hypothesis draws it; its repr is the reproduction). `apply` turns the body
an honest server would have sent into the hostile one: one field swapped for a value of another type,
the whole document swapped, the bytes truncated or made not-JSON or not-UTF-8, nested past any real
object, an odd status code with an odd body, a wrong Content-Type, or a body far larger than any real
answer. Field paths are chosen at request time (`where` picks among the document's paths), so one
drawn mutation fits whatever document the command happens to ask for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from hypothesis import strategies as st

DEEP = 100_000  # levels of nesting of the deep-document mutations: far past any parser's recursion limit
HUGE_BYTES = 300 * 1024 * 1024  # more than any answer cap; sent lazily, never built in memory


@dataclass(frozen=True)
class Mutation:
    kind: str  # field | body | raw | status | huge
    where: float = 0.0  # which field path, as a fraction of the document's paths
    value: Any = None  # the new field value / document (field, body)
    raw: bytes = b""  # bytes sent as they are (raw, status)
    status: int = 200  # the status code sent (status)
    content_type: str = "application/json"

    def new_body(self, doc: Any) -> bytes:
        """The hostile body for an honest document `doc` (kinds field, body, raw)."""
        if self.kind == "field":
            paths = [p for p in json_paths(doc) if p]
            if not paths:
                return _dumps(self.value)
            target = paths[min(int(self.where * len(paths)), len(paths) - 1)]
            return _dumps(replace_at(doc, target, self.value))
        if self.kind == "body":
            return _dumps(self.value)
        return self.raw


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def json_paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from json_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from json_paths(value, prefix + (index,))


def replace_at(doc: Any, path: tuple, value: Any) -> Any:
    """A copy of doc with the node at path replaced (only the spine is copied)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[head] = replace_at(doc[head], rest, value)
    return copy


def deep_document(levels: int = DEEP) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


# --- strategies ----------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=16),
    st.sampled_from(["", "3", "-1", "1e999990", "9" * 80, "True", "null", "Running", "2026-13-45T99:99:99Z",
                     "a\nb\rc\x1b[31m", "\u202e\u0000", "x" * 5000, "raycluster", "../../etc/passwd", "{}", "[]"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["a", "name", "status", "type", "items", "metadata", "x"]),
                                        inner, max_size=3), max_leaves=6)
STATUS_BODIES = st.sampled_from([
    b"", b"[]", b'[1,2]', b'"str"', b"null", b"5", b"{}", b"<html><body>302 Found</body></html>",
    b'{"kind":"Status","details":[1,2]}', b'{"kind":"Status","details":"x","causes":5}',
    b'{"kind":"Status","code":"500","reason":5,"message":["a"]}',
    b'{"kind":"Status","message":"m","details":{"causes":[1,"a",{"field":5}],"name":["x"]}}',
    b'{"kind":"Status","message":"' + b"x" * 10000 + b'"}', b"\xff\xfe\x00garbage",
])
STATUS_CODES = st.sampled_from([200, 201, 202, 204, 206, 301, 302, 304, 307, 400, 401, 403, 404, 405, 409, 410, 415,
                                418, 422, 429, 500, 502, 503, 504, 599])
RAW_BODIES = st.one_of(
    st.sampled_from([b"", b"{", b'{"items": [', b"not json", b"\xff\xfe\xfd", b'{"a": NaN}', b"[" * 50,
                     b"\x00" * 16, b'{"items": [}', b'{"kind": "List", "items": [{"a": 1}]} trailing',
                     b'\xef\xbb\xbf{"kind":"List","items":[]}', b'"\\ud800"', b'{"a":"\\u0000"}']),
    st.binary(max_size=64),
    st.builds(deep_document, st.sampled_from([150, 1_000, DEEP])),
)
CONTENT_TYPES = st.sampled_from(["application/json", "text/html", "text/plain", "application/octet-stream", "",
                                 "application/json; charset=latin-1", "application/vnd.kubernetes.protobuf"])

MUTATIONS = st.one_of(
    st.builds(Mutation, kind=st.just("field"), where=st.floats(0, 1, exclude_max=True), value=VALUES),
    st.builds(Mutation, kind=st.just("field"), where=st.floats(0, 1, exclude_max=True), value=SCALARS),
    st.builds(Mutation, kind=st.just("body"), value=VALUES),
    st.builds(Mutation, kind=st.just("raw"), raw=RAW_BODIES, content_type=CONTENT_TYPES),
    st.builds(Mutation, kind=st.just("status"), status=STATUS_CODES, raw=STATUS_BODIES, content_type=CONTENT_TYPES),
    st.builds(Mutation, kind=st.just("huge"), content_type=CONTENT_TYPES),
)


# --- the emulator side ---------------------------------------------------------------------------------

def emulator_hook(emu: Any, mutation: Mutation, start: int = 0, *, discovery: bool = False) -> Any:
    """A `mutate_response` for the API emulator: answers from the start-th request on (discovery answers
    only with discovery=True) are replaced as the mutation says."""
    from aiohttp import web

    seen = [0]

    def hook(rec: Any, response: Any) -> Any:
        if rec.verb == "discovery" and not discovery:
            return None
        seen[0] += 1
        if seen[0] <= start:
            return None
        if response is None:  # a watch: the events it would start with
            events = [{"type": "ADDED", "object": o} for o in _watched(emu, rec)]
            if mutation.kind == "field":
                events = json.loads(mutation.new_body(events)) if events else [mutation.value]
                lines = b"".join(_dumps(e) + b"\n" for e in (events if isinstance(events, list) else [events]))
                return web.Response(body=lines, status=200, content_type="application/json")
            doc: Any = None
        else:
            doc = json.loads(response.body) if response.body and response.content_type == "application/json" else None
        return answer(mutation, doc)

    return hook


def answer(mutation: Mutation, doc: Any) -> Any:
    """The aiohttp response a mutation makes of an honest document."""
    from aiohttp import web

    if mutation.kind == "huge":
        return web.Response(body=_endless(), status=200, headers=_ctype(mutation.content_type))
    status = mutation.status if mutation.kind == "status" else 200
    return web.Response(body=mutation.new_body(doc), status=status, headers=_ctype(mutation.content_type))


def _ctype(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type} if content_type else {}


def _endless() -> Any:
    from aiohttp.payload import AsyncIterablePayload

    async def chunks() -> Any:
        block = b'{"kind":"List","items":[' + b'{"a":"' + b"x" * (1 << 20) + b'"},'
        sent = 0
        while sent < HUGE_BYTES:
            yield block
            sent += len(block)
            block = b'{"a":"' + b"x" * (1 << 20) + b'"},'

    return AsyncIterablePayload(chunks())


def _watched(emu: Any, rec: Any) -> list[dict[str, Any]]:
    plural = rec.resource.split("/")[0]
    try:
        objs = emu.objects(plural, rec.namespace) if plural else []
    except (KeyError, ValueError):
        return []
    selector = rec.q("fieldSelector") if hasattr(rec, "q") else None
    if selector and selector.startswith("metadata.name="):
        name = selector.split("=", 1)[1]
        objs = [o for o in objs if (o.get("metadata") or {}).get("name") == name]
    return objs
