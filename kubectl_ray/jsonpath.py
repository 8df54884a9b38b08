"""kubectl's JSONPath dialect (k8s.io/client-go/util/jsonpath, v0.32), ported line by line, and Go's way
of printing the values it finds, so `-o jsonpath=...`, `-o custom-columns=...` and `--sort-by` print
what kubectl prints for the same objects.

    template = JSONPath("{range .items[*]}{.metadata.name}{\"\\t\"}{.spec.rayVersion}{\"\\n\"}{end}")
    text = template.execute(list_object)                  # what `kubectl get -o jsonpath=` prints
    values = JSONPath("{.metadata.labels}").find(obj)     # [[value, ...], ...] per top-level node

The dialect: text outside `{}` is printed as is; inside, `.field`, `['key']`, `[n]`, `[a:b:c]`, `[*]`,
`..field` (recursive descent), `[?(@.a=="b")]` filters (==, !=, <, >, <=, >=, or existence), unions
`[a,b]`, quoted literals `{"\\n"}`, and `{range ...}...{end}`. Dictionaries iterate in key order (Go's
order is random; sorted keeps output stable). Values from JSON keep their Go types: integers print as
integers, floats as Go's %v, maps and lists as compact JSON (Go's encoding/json), null as `null`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

_LEFT, _RIGHT = "{", "}"
_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$", re.DOTALL)
MAX_DEPTH = 100  # nesting of ranges/unions/filters a template may have (a bound, not a Go rule)


class JSONPathError(Exception):
    """A template that does not parse, or that fails on the data (the message is client-go's)."""


class _Invalid:
    """reflect.Value{}: what `range` over nothing evaluates against (not null: fields of it are just missing)."""


INVALID = _Invalid()


# --- nodes -------------------------------------------------------------------------------------------

@dataclass
class Node:
    pass


@dataclass
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)


@dataclass
class TextNode(Node):
    text: str


@dataclass
class FieldNode(Node):
    value: str


@dataclass
class ArrayNode(Node):
    params: list[tuple[bool, int, bool]]  # (known, value, derived) for start, end, step


@dataclass
class FilterNode(Node):
    left: ListNode
    right: ListNode
    operator: str


@dataclass
class IntNode(Node):
    value: int


@dataclass
class FloatNode(Node):
    value: float


@dataclass
class BoolNode(Node):
    value: bool


@dataclass
class WildcardNode(Node):
    pass


@dataclass
class RecursiveNode(Node):
    pass


@dataclass
class UnionNode(Node):
    nodes: list[ListNode]


@dataclass
class IdentifierNode(Node):
    name: str


# --- the parser (parser.go) ----------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise JSONPathError("template nested too deeply")
        self.input = text
        self.depth = depth
        self.root = ListNode()
        self.pos = 0
        self.start = 0
        self.width = 0

    def parse(self) -> ListNode:
        """Text up to each `{`, then the action up to its `}` (client-go recurses here; a loop keeps
        templates with many actions off the stack)."""
        while self._parse_text(self.root):
            self.pos += len(_LEFT)
            self._consume()
            node = ListNode()
            self.root.nodes.append(node)
            self._parse_inside_action(node)
        return self.root

    def _consume(self) -> str:
        value = self.input[self.start:self.pos]
        self.start = self.pos
        return value

    def _next(self) -> str | None:
        if self.pos >= len(self.input):
            self.width = 0
            return None
        self.width = 1
        self.pos += 1
        return self.input[self.pos - 1]

    def _peek(self) -> str | None:
        char = self._next()
        self._backup()
        return char

    def _backup(self) -> None:
        self.pos -= self.width

    def _parse_text(self, cur: ListNode) -> bool:
        """Text up to the next `{` (True) or the end (False)."""
        while True:
            if self.input.startswith(_LEFT, self.pos):
                if self.pos > self.start:
                    cur.nodes.append(TextNode(self._consume()))
                return True
            if self._next() is None:
                break
        if self.pos > self.start:
            cur.nodes.append(TextNode(self._consume()))
        return False

    def _parse_inside_action(self, cur: ListNode) -> None:
        # A loop where client-go recurses once per token: long templates must not exhaust the stack.
        while True:
            rest = self.input[self.pos:]
            if rest.startswith(_RIGHT):
                self.pos += len(_RIGHT)
                self._consume()
                return
            if rest.startswith("[?("):
                self._parse_filter(cur)
                continue
            if rest.startswith(".."):
                self._parse_recursive(cur)
                continue
            char = self._next()
            if char is None or char in "\r\n":
                raise JSONPathError("unclosed action")
            if char == " ":
                self._consume()
            elif char in "@$":
                self._consume()
            elif char == "[":
                self._parse_array(cur)
            elif char in "\"'":
                self._parse_quote(cur, char)
            elif char == ".":
                self._parse_field(cur)
            elif char in "+-" or _is_digit(char):
                self._backup()
                self._parse_number(cur)
            elif _is_alphanumeric(char):
                self._backup()
                self._parse_identifier(cur)
            else:
                raise JSONPathError(f"unrecognized character in action: {_go_rune(char)}")

    def _parse_identifier(self, cur: ListNode) -> None:
        while True:
            char = self._next()
            if _is_terminator(char):
                self._backup()
                break
        value = self._consume()
        cur.nodes.append(BoolNode(value == "true") if value in ("true", "false") else IdentifierNode(value))

    def _parse_recursive(self, cur: ListNode) -> None:
        if cur.nodes and isinstance(cur.nodes[-1], RecursiveNode):
            raise JSONPathError("invalid multiple recursive descent")
        self.pos += 2
        self._consume()
        cur.nodes.append(RecursiveNode())
        nxt = self._peek()
        if nxt is not None and _is_alphanumeric(nxt):
            self._parse_field(cur)

    def _parse_number(self, cur: ListNode) -> None:
        if self._peek() in ("+", "-"):
            self._next()
        while True:
            char = self._next()
            if char != "." and not (char is not None and _is_digit(char)):
                self._backup()
                break
        value = self._consume()
        if re.fullmatch(r"[+-]?[0-9]+", value):
            cur.nodes.append(IntNode(int(value)))
            return
        try:
            if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)", value):
                raise ValueError(value)
            cur.nodes.append(FloatNode(float(value)))
        except ValueError:
            raise JSONPathError(f"cannot parse number {value}") from None

    def _parse_array(self, cur: ListNode) -> None:
        while True:
            char = self._next()
            if char is None or char == "\n":
                raise JSONPathError("unterminated array")
            if char == "]":
                break
        text = self._consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            union = [_parse_action(f"[{part.strip(' ')}]", self.depth + 1) for part in parts]
            cur.nodes.append(UnionNode(union))
            return
        key = _DICT_KEY.match(text)
        if key:
            cur.nodes.extend(_parse_action(f".{key.group(1)}", self.depth + 1).nodes)
            return
        match = _SLICE.match(text)
        if match is None:
            raise JSONPathError(f"invalid array index {text}")
        values = list(match.groups())
        params: list[tuple[bool, int, bool]] = []
        for i in range(3):
            value = values[i] or ""
            if value:
                if i > 0:
                    value = value[1:]
                if i > 0 and value == "":
                    params.append((False, 0, False))
                else:
                    try:
                        params.append((True, int(value), False))
                    except ValueError:
                        raise JSONPathError(f"array index {value} is not a number") from None
            elif i == 1:
                params.append((True, params[0][1] + 1, True))
            else:
                params.append((False, 0, False))
        cur.nodes.append(ArrayNode(params))

    def _parse_filter(self, cur: ListNode) -> None:
        self.pos += len("[?(")
        self._consume()
        begin = end = False
        pair = ""
        while True:
            char = self._next()
            if char is None or char == "\n":
                raise JSONPathError("unterminated filter")
            if char in "\"'":
                if not begin:
                    begin, pair = True, char
                    continue
                if self.input[self.pos - 2] != "\\" and char == pair:
                    end = True
            elif char == ")" and begin == end:
                break
        if self._next() != "]":
            raise JSONPathError("unclosed array expect ]")
        text = self._consume()[:-2]
        match = _FILTER.match(text)
        if match is None:
            cur.nodes.append(FilterNode(_parse_action(text, self.depth + 1), ListNode(), "exists"))
            return
        left = _parse_action(match.group(1), self.depth + 1)
        right = _parse_action(match.group(3), self.depth + 1)
        cur.nodes.append(FilterNode(left, right, match.group(2)))

    def _parse_quote(self, cur: ListNode, end: str) -> None:
        while True:
            char = self._next()
            if char is None or char == "\n":
                raise JSONPathError("unterminated quoted string")
            if char == end and self.input[self.pos - 2] != "\\":
                break
        value = self._consume()
        try:
            cur.nodes.append(TextNode(unquote_extend(value)))
        except ValueError:
            raise JSONPathError(f"unquote string {value} error invalid syntax") from None

    def _parse_field(self, cur: ListNode) -> None:
        self._consume()
        while self._advance():
            pass
        value = self._consume()
        cur.nodes.append(WildcardNode() if value == "*" else FieldNode(value.replace("\\", "")))

    def _advance(self) -> bool:
        char = self._next()
        if char == "\\":
            self._next()
        elif _is_terminator(char):
            self._backup()
            return False
        return True


def _parse_action(text: str, depth: int) -> ListNode:
    """parseAction: `text` inside one pair of braces, as its own list."""
    root = _Parser(_LEFT + text + _RIGHT, depth).parse()
    first = root.nodes[0]
    assert isinstance(first, ListNode)
    return first


def _is_terminator(char: str | None) -> bool:
    return char is None or char in " \t\r\n.,[]$@{}"


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or char.isalpha() or _is_digit(char)


def _go_rune(char: str) -> str:
    """Go's %#U: `U+0021 '!'`."""
    code = ord(char)
    return f"U+{code:04X} '{char}'" if char.isprintable() else f"U+{code:04X}"


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def unquote_extend(text: str) -> str:
    """client-go's UnquoteExtend: strconv.Unquote that also takes single quotes around any text."""
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "\"'":
        raise ValueError("invalid syntax")
    quote, body = text[0], text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == quote:
            raise ValueError("invalid syntax")
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("invalid syntax")
        esc = body[i + 1]
        i += 2
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
        elif esc in "'\"":
            if esc != quote:
                raise ValueError("invalid syntax")
            out.append(esc)
        elif esc in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i:i + size]
            if len(digits) != size or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise ValueError("invalid syntax")
            code = int(digits, 16)
            if esc != "x" and (code > 0x10FFFF or 0xD800 <= code <= 0xDFFF):
                raise ValueError("invalid syntax")
            out.append(chr(code))
            i += size
        elif esc in "01234567":
            digits = body[i - 1:i + 2]
            if len(digits) != 3 or not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise ValueError("invalid syntax")
            out.append(chr(int(digits, 8)))
            i += 2
        else:
            raise ValueError("invalid syntax")
    return "".join(out)


# --- evaluation (jsonpath.go) ----------------------------------------------------------------------------

class JSONPath:
    """One parsed template. `allow_missing_keys` is kubectl get's --allow-missing-template-keys (true)."""

    def __init__(self, template: str, *, allow_missing_keys: bool = True, output_json: bool = False) -> None:
        self.template = template
        self.root = _Parser(template).parse()
        self.allow_missing_keys = allow_missing_keys
        self.output_json = output_json

    def find(self, data: Any) -> list[list[Any]]:
        """FindResults: the values each top-level node yields (a range yields one list per item)."""
        state = _Run(self.root.nodes, self.allow_missing_keys)
        return state.find(data, 0)

    def execute(self, data: Any) -> str:
        """What kubectl prints for `data`: each node's values, separated by spaces, no final newline."""
        return "".join(self.print_results(results) for results in self.find(data))

    def print_results(self, results: list[Any]) -> str:
        if self.output_json:
            return go_json(results, indent=True) + "\n"
        texts = [go_json(value) if isinstance(value, (dict, list)) else go_text(value) for value in results]
        return " ".join(texts)


class _Run:
    """The state of one FindResults (client-go keeps it on the JSONPath: range depth and the last end)."""

    def __init__(self, nodes: list[Node], allow_missing_keys: bool) -> None:
        self.nodes = nodes
        self.allow_missing_keys = allow_missing_keys
        self.begin_range = 0
        self.in_range = 0
        self.end_range = 0
        self.last_end = -1

    def find(self, data: Any, start: int) -> list[list[Any]]:
        if self.in_range > MAX_DEPTH:
            raise JSONPathError("template nested too deeply")
        cur = [data]
        full: list[list[Any]] = []
        i = start
        while i < len(self.nodes):
            results = self.walk(cur, self.nodes[i])
            if 0 < self.end_range <= self.in_range:
                self.end_range -= 1
                self.last_end = i
                break
            if self.begin_range > 0:
                self.begin_range -= 1
                self.in_range += 1
                if results:
                    for value in results:
                        full.extend(self.find(value, i + 1))
                else:
                    self.find(INVALID, i + 1)
                self.in_range -= 1
                for k in range(i + 1, len(self.nodes)):
                    if k == self.last_end:
                        i = k
                        break
                i += 1
                continue
            full.append(results)
            i += 1
        return full

    def walk(self, values: list[Any], node: Node) -> list[Any]:
        if isinstance(node, ListNode):
            for child in node.nodes:
                values = self.walk(values, child)
            return values
        if isinstance(node, TextNode):
            return [node.text]
        if isinstance(node, (IntNode, FloatNode, BoolNode)):
            return [node.value for _ in values]
        handler = {FieldNode: self._field, ArrayNode: self._array, FilterNode: self._filter,
                   WildcardNode: self._wildcard, RecursiveNode: self._recursive, UnionNode: self._union,
                   IdentifierNode: self._identifier}.get(type(node))
        if handler is None:
            raise JSONPathError(f"unexpected Node {node}")
        return handler(values, node)

    def _identifier(self, values: list[Any], node: IdentifierNode) -> list[Any]:
        if node.name == "range":
            self.begin_range += 1
            return values
        if node.name == "end":
            if self.in_range > 0:
                self.end_range += 1
                return []
            raise JSONPathError("not in range, nothing to end")
        raise JSONPathError(f"unrecognized identifier {node.name}")

    def _field(self, values: list[Any], node: FieldNode) -> list[Any]:
        results = [value[node.value] for value in values if isinstance(value, dict) and node.value in value]
        if not results and values and not self.allow_missing_keys:
            raise JSONPathError(f"{node.value} is not found")
        return results

    def _array(self, values: list[Any], node: ArrayNode) -> list[Any]:
        result: list[Any] = []
        for value in values:
            if value is None:
                continue
            if not isinstance(value, list):
                raise JSONPathError(f"{go_type(value)} is not array or slice")
            (k0, start, _), (k1, end, derived1), (k2, step, _) = node.params
            length = len(value)
            start = start if k0 else 0
            if start < 0:
                start += length
            if not k1:
                end = length
            if end < 0 or (end == 0 and derived1):
                end += length
            if end == start:
                return result
            if start >= length or start < 0:
                raise JSONPathError(f"array index out of bounds: index {start}, length {length}")
            if end > length or end < 0:
                raise JSONPathError(f"array index out of bounds: index {end - 1}, length {length}")
            if start > end:
                raise JSONPathError(f"starting index {start} is greater than ending index {end}")
            if k2 and step <= 0:
                raise JSONPathError("step must be > 0")
            result.extend(value[start:end:step if k2 else 1])
        return result

    def _union(self, values: list[Any], node: UnionNode) -> list[Any]:
        result: list[Any] = []
        for part in node.nodes:
            result.extend(self.walk(values, part))
        return result

    def _wildcard(self, values: list[Any], node: WildcardNode) -> list[Any]:
        result: list[Any] = []
        for value in values:
            result.extend(_children(value))
        return result

    def _recursive(self, values: list[Any], node: RecursiveNode) -> list[Any]:
        result: list[Any] = []
        stack = [(value, 0) for value in reversed(values)]
        while stack:  # depth first, parents before children, like client-go's recursion
            value, depth = stack.pop()
            children = _children(value)
            if children:
                if depth > MAX_DEPTH * 10:
                    raise JSONPathError("data nested too deeply")
                result.append(value)
                stack.extend((child, depth + 1) for child in reversed(children))
        return result

    def _filter(self, values: list[Any], node: FilterNode) -> list[Any]:
        results: list[Any] = []
        for value in values:
            if not isinstance(value, list):
                raise JSONPathError(f"{go_value(value)} is not array or slice and cannot be filtered")
            for item in value:
                try:
                    lefts = self.walk([item], node.left)
                    error = None
                except JSONPathError as exc:
                    lefts, error = [], exc
                if node.operator == "exists":
                    if lefts:
                        results.append(item)
                    continue
                if error is not None:
                    raise error
                if not lefts:
                    continue
                if len(lefts) > 1:
                    raise JSONPathError("can only compare one element at a time")
                rights = self.walk([item], node.right)
                if not rights:
                    continue
                if len(rights) > 1:
                    raise JSONPathError("can only compare one element at a time")
                if compare(node.operator, lefts[0], rights[0]):
                    results.append(item)
        return results


def _children(value: Any) -> list[Any]:
    """What a wildcard yields: a map's values (in key order), a list's items, a string's bytes."""
    if isinstance(value, dict):
        return [value[key] for key in sorted(value)]
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return list(value.encode("utf-8"))
    return []


# --- Go's comparisons (text/template funcs) ------------------------------------------------------------

def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise JSONPathError("invalid type for comparison")


def compare(operator: str, left: Any, right: Any) -> bool:
    """template.Equal/Less/... over Go kinds: same kind only (int and float do not mix)."""
    kl, kr = _kind(left), _kind(right)
    if kl != kr:
        raise JSONPathError("incompatible types for comparison")
    if operator in ("==", "!="):
        return (left == right) == (operator == "==")
    if kl == "bool":
        raise JSONPathError("invalid type for comparison")
    if operator == "<":
        return bool(left < right)
    if operator == ">":
        return bool(left > right)
    if operator == "<=":
        return bool(left <= right)
    if operator == ">=":
        return bool(left >= right)
    raise JSONPathError(f"unrecognized filter operator {operator}")


# --- Go's printing of JSON values ------------------------------------------------------------------------

def go_type(value: Any) -> str:
    """reflect's type name of a value decoded by k8s' unstructured JSON decoder."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "<nil>" if value is None else type(value).__name__


def go_value(value: Any) -> str:
    """fmt's %v of a value, as client-go puts it in its errors."""
    return go_sprint(value)


def _shortest(value: float) -> tuple[str, int, bool]:
    """(digits, decimal point position, negative): strconv's shortest round-trip decimal."""
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).lstrip("0") or "0"
    stripped = text.rstrip("0") or "0"
    point = len(text) + int(exponent) if text != "0" else 1
    return stripped, point, bool(sign)


def _format_e(digits: str, point: int, negative: bool, min_exp_digits: int = 2) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = point - 1
    sign = "-" if exp < 0 else "+"
    return ("-" if negative else "") + f"{mantissa}e{sign}{abs(exp):0{min_exp_digits}d}"


def _format_f(digits: str, point: int, negative: bool) -> str:
    if point <= 0:
        text = "0." + "0" * (-point) + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    return ("-" if negative else "") + text


def go_float(value: float) -> str:
    """fmt's %v of a float64: strconv's 'g' with the shortest digits, %e below 1e-4 and from 1e+6."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if repr(value).startswith("-") else "0"
    digits, point, negative = _shortest(value)
    exp = point - 1
    if exp < -4 or exp >= 6:
        return _format_e(digits, point, negative)
    return _format_f(digits, point, negative)


def go_text(value: Any) -> str:
    """evalToText: strings raw, numbers and booleans as Go prints them, null as `null`."""
    if value is None or value is INVALID:
        return "null" if value is None else "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    return str(value)


def go_sprint(value: Any) -> str:
    """fmt.Sprint of a JSON value: `map[a:1 b:[x y]]`, `<nil>` (custom-columns cells, errors)."""
    if value is None:
        return "<nil>"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_sprint(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(item) for item in value) + "]"
    return go_text(value)


def _json_float(value: float) -> str:
    """encoding/json's float64: 'f' unless |x| < 1e-6 or >= 1e21, then 'e' with e-7 not e-07."""
    if value == 0:
        return "-0" if repr(value).startswith("-") else "0"
    digits, point, negative = _shortest(value)
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        return _format_e(digits, point, negative, min_exp_digits=1 if point - 1 < 0 else 2)
    return _format_f(digits, point, negative)


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
                 "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_string(text: str) -> str:
    out = []
    for char in text:
        escaped = _JSON_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20 or 0xD800 <= ord(char) <= 0xDFFF:
            out.append("\\ufffd" if ord(char) >= 0xD800 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def go_json(value: Any, *, indent: bool = False) -> str:
    """encoding/json's Marshal (compact) or MarshalIndent(v, "", "    "): sorted keys, HTML escaped."""
    return "".join(_json_parts(value, indent, 0))


def _json_parts(value: Any, indent: bool, level: int) -> Iterator[str]:
    if isinstance(value, dict):
        if not value:
            yield "{}"
            return
        yield "{"
        for i, key in enumerate(sorted(value)):
            yield ("," if i else "") + ("\n" + "    " * (level + 1) if indent else "")
            yield _json_string(str(key)) + (": " if indent else ":")
            yield from _json_parts(value[key], indent, level + 1)
        yield ("\n" + "    " * level if indent else "") + "}"
    elif isinstance(value, list):
        if not value:
            yield "[]"
            return
        yield "["
        for i, item in enumerate(value):
            yield ("," if i else "") + ("\n" + "    " * (level + 1) if indent else "")
            yield from _json_parts(item, indent, level + 1)
        yield ("\n" + "    " * level if indent else "") + "]"
    elif value is None:
        yield "null"
    elif isinstance(value, bool):
        yield "true" if value else "false"
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, float):
        yield _json_float(value)
    else:
        yield _json_string(str(value))


# --- kubectl's relaxed form (custom-columns, --sort-by) ---------------------------------------------------

_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed(expression: str) -> str:
    """RelaxedJSONPathExpression: `metadata.name`, `.metadata.name`, `{metadata.name}` -> `{.metadata.name}`."""
    if not expression:
        return expression
    match = _RELAXED.match(expression)
    if match is None:
        raise JSONPathError("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' "
                            "or '{.name1.name2}'")
    return "{." + (match.group(1) or match.group(2)) + "}"
