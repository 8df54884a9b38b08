"""`-o json` and `-o yaml` text, fast and item by item, byte-identical to the plain library calls.

* JSON: `json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)` runs CPython's pure-Python
  encoder whenever `indent` is set (the C encoder only does compact output). `json_text` gives the same
  text from a recursive builder that leaves every string to the C `encode_basestring`: measured 4.5x
  faster on 5000 RayClusters (0.26 s against 1.15 s).
* YAML: PyYAML's representer keeps every node of a document alive to detect aliases, which makes one big
  `yaml.dump` of a List slower than dumping its items one by one (6.2 s against 1.6 s for 5000
  RayClusters, same bytes). `write_yaml_list` dumps each item on its own and shifts it under `- `; the
  emitter's line width is narrowed by the same two columns, so long strings fold where they would have.

The list writers take an iterable of pages and write as they go, in kubectl's `List` shape, so the
memory they need does not grow with the number of items.
"""

from __future__ import annotations

from typing import IO, Any, Callable, Iterable

JSON_INDENT = 4
YAML_WIDTH = 80  # PyYAML's default best_width
_LIST_HEAD = {"apiVersion": "v1"}
_LIST_TAIL = {"kind": "List", "metadata": {"resourceVersion": ""}}


def json_text(obj: Any) -> str:
    """`json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\\n"`, faster."""
    parts: list[str] = []
    _json_value(obj, 0, parts.append)
    parts.append("\n")
    return "".join(parts)


def yaml_text(obj: Any, width: int = YAML_WIDTH) -> str:
    """The object as `kubectl get -o yaml` prints it (block style, sorted keys)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(obj, Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=width)


def write_json_list(pages: Iterable[list[Any]], out: IO[str]) -> None:
    """`{"apiVersion": "v1", "items": [...], "kind": "List", ...}` written item by item."""
    out.write('{\n    "apiVersion": "v1",\n    "items": [')
    first = True
    for page in pages:
        for item in page:
            parts: list[str] = ["\n        " if first else ",\n        "]
            _json_value(item, 2, parts.append)
            out.write("".join(parts))
            first = False
    out.write("]" if first else "\n    ]")
    out.write(',\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')


def write_yaml_list(pages: Iterable[list[Any]], out: IO[str]) -> None:
    """kubectl's `List` as YAML, written item by item (the same bytes as dumping the whole List)."""
    out.write("apiVersion: v1\n")
    wrote_any = False
    for page in pages:
        for item in page:
            if not wrote_any:
                out.write("items:\n")
                wrote_any = True
            out.write(_yaml_list_item(item))
    if not wrote_any:
        out.write("items: []\n")
    out.write("kind: List\nmetadata:\n  resourceVersion: ''\n")


def _yaml_list_item(item: Any) -> str:
    """One item of a block sequence nested in a mapping (PyYAML writes such sequences unindented)."""
    text = yaml_text(item, width=YAML_WIDTH - 2)
    first, _, rest = text.partition("\n")
    lines = rest.split("\n")[:-1]  # the text ends with a newline
    return "- " + first + "\n" + "".join(("  " + line if line else line) + "\n" for line in lines)


def _json_value(obj: Any, depth: int, out: Callable[[str], Any]) -> None:
    """Append obj's indented JSON to out (sorted keys, non-ASCII kept, like the json module)."""
    kind = type(obj)
    if kind is str:
        out(_encode_str(obj))
    elif kind is dict:
        if not obj:
            out("{}")
            return
        inner = _PADS[depth + 1] if depth + 1 < len(_PADS) else "\n" + " " * (JSON_INDENT * (depth + 1))
        separator = "{" + inner
        for key in sorted(obj):
            out(separator + _encode_key(key) + ": ")
            _json_value(obj[key], depth + 1, out)
            separator = "," + inner
        out(inner[:-JSON_INDENT] + "}")
    elif kind is list or kind is tuple:
        if not obj:
            out("[]")
            return
        inner = _PADS[depth + 1] if depth + 1 < len(_PADS) else "\n" + " " * (JSON_INDENT * (depth + 1))
        separator = "[" + inner
        for value in obj:
            out(separator)
            _json_value(value, depth + 1, out)
            separator = "," + inner
        out(inner[:-JSON_INDENT] + "]")
    elif obj is True:
        out("true")
    elif obj is False:
        out("false")
    elif obj is None:
        out("null")
    elif kind is int:
        out(int.__repr__(obj))
    else:  # floats (nan/inf spelled as the json module does) and anything the json module knows
        import json

        out(json.dumps(obj, ensure_ascii=False))


def _encode_key(key: Any) -> str:
    """Keys as the json module writes them: numbers, booleans and None become strings."""
    if type(key) is str:
        return _encode_str(key)
    if key is True or key is False or key is None:
        return '"' + {True: "true", False: "false", None: "null"}[key] + '"'
    if isinstance(key, (int, float)):
        import json

        return '"' + json.dumps(key) + '"'
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _make_pads() -> tuple[str, ...]:
    return tuple("\n" + " " * (JSON_INDENT * depth) for depth in range(32))


def _string_encoder() -> Callable[[str], str]:
    from json import encoder

    return encoder.c_encode_basestring or encoder.py_encode_basestring  # type: ignore[attr-defined]


_PADS = _make_pads()
_encode_str = _string_encoder()
