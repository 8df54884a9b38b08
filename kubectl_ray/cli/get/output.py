"""`get`'s output formats and sorting, as kubectl get has them (cli-runtime's print flags, kubectl's
customcolumn.go and sorter.go): `-o json|yaml|name|wide`, `-o jsonpath=TEMPLATE`, `-o jsonpath-file=FILE`,
`-o jsonpath-as-json=TEMPLATE`, `-o custom-columns=SPEC`, `-o custom-columns-file=FILE`, `--sort-by`,
`--show-labels` and `-L/--label-columns`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable

from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.shapes import ShapeError

TEMPLATE_FORMATS = ("jsonpath", "jsonpath-as-json", "jsonpath-file", "custom-columns", "custom-columns-file")
SIMPLE_FORMATS = ("json", "yaml", "name", "wide")
STREAMED_FORMATS = ("json", "yaml", "name")  # written page by page (a List's text does not need all items)
ALLOWED_FORMATS = ",".join(sorted(SIMPLE_FORMATS + TEMPLATE_FORMATS))
MAX_TEMPLATE_FILE = 1 << 20  # a template file larger than 1 MiB is a mistake, not a template


@dataclass(frozen=True)
class Column:
    header: str
    path: Any  # a JSONPath


@dataclass(frozen=True)
class Output:
    """A parsed -o: `table` (the default), `wide`, `json`, `yaml`, `name`, `jsonpath` or `custom-columns`."""

    kind: str = "table"
    template: Any = None  # the JSONPath of -o jsonpath*
    columns: tuple[Column, ...] = ()
    headers: bool = True  # custom-columns-file prints its headers even with --no-headers, as kubectl

    @property
    def is_table(self) -> bool:
        return self.kind in ("table", "wide")


def parse_output(value: str | None, *, no_headers: bool = False) -> Output:
    """Everything kubectl checks before it sends a request, in its words."""
    if value is None or value == "":
        return Output()
    name, eq, template = value.partition("=")
    name = name.lower() if not eq else name
    if not eq and name in SIMPLE_FORMATS:
        return Output(name)
    if name not in TEMPLATE_FORMATS:
        raise UsageError(f'unable to match a printer suitable for the output format "{value}", '
                         f"allowed formats are: {ALLOWED_FORMATS}")
    if name.startswith("custom-columns"):
        if not template:
            raise UsageError("custom-columns format specified but no custom columns given")
        if name == "custom-columns-file":
            return Output("custom-columns", columns=_columns_from_file(template))
        return Output("custom-columns", columns=columns_from_spec(template), headers=not no_headers)
    if not template:
        raise UsageError("template format specified but no template given")
    text = _read_template(template, "--template") if name == "jsonpath-file" else template
    from kubectl_ray.jsonpath import JSONPath, JSONPathError

    try:
        path = JSONPath(text, output_json=name == "jsonpath-as-json")
    except JSONPathError as exc:
        raise UsageError(f"error parsing jsonpath {text}, {exc}") from None
    return Output("jsonpath", template=path)


def _read_template(path: str, what: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TEMPLATE_FILE + 1)
    except OSError as exc:
        raise UsageError(f"error reading {what} {path}, {exc.strerror or exc}") from None
    if len(data) > MAX_TEMPLATE_FILE:
        raise UsageError(f"error reading {what} {path}, larger than {MAX_TEMPLATE_FILE} bytes")
    return data.decode("utf-8", "replace")


def columns_from_spec(spec: str) -> tuple[Column, ...]:
    """`NAME:.metadata.name,RSRC:.metadata.resourceVersion` (NewCustomColumnsPrinterFromSpec)."""
    columns = []
    for part in spec.split(","):
        header, colon, path = part.partition(":")
        if not colon:
            raise UsageError(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        columns.append(Column(header, _column_path(path)))
    return tuple(columns)


def _columns_from_file(path: str) -> tuple[Column, ...]:
    """Line 1: headers, line 2: paths, both split on white space (NewCustomColumnsPrinterFromTemplate)."""
    lines = _read_template(path, "template").splitlines()
    if not lines:
        raise UsageError("invalid template, missing header line. Expected format is one line of space separated "
                         "headers, one line of space separated column specs.")
    if len(lines) < 2:
        raise UsageError("invalid template, missing spec line. Expected format is one line of space separated "
                         "headers, one line of space separated column specs.")
    headers, specs = lines[0].split(), lines[1].split()
    if len(headers) != len(specs):
        raise UsageError(f"number of headers ({len(headers)}) and field specifications ({len(specs)}) don't match")
    return tuple(Column(header, _column_path(spec)) for header, spec in zip(headers, specs))


def _column_path(expression: str) -> Any:
    from kubectl_ray.jsonpath import JSONPath, JSONPathError, relaxed

    try:
        return JSONPath(relaxed(expression))
    except JSONPathError as exc:
        raise UsageError(str(exc)) from None


def sort_path(expression: str | None) -> Any:
    """--sort-by: kubectl's relaxed path (`.metadata.name`, `{.spec.replicas}`), checked up front."""
    if not expression:
        return None
    from kubectl_ray.jsonpath import JSONPath, JSONPathError, relaxed

    try:
        try:
            text = relaxed(expression)
        except JSONPathError:
            text = expression
        return JSONPath(text)
    except JSONPathError as exc:
        raise UsageError(f"--sort-by {expression}: {exc}") from None


# --- printing ------------------------------------------------------------------------------------------

TOO_DEEP = "an object in the server's answer is nested too deeply to print"


def document_text(objs: list[dict[str, Any]], output: Output, *, single: bool, first: bool = True,
                  name_of: Any = None) -> str:
    """json/yaml/name/jsonpath/custom-columns text for objects (a List unless one object was asked for)."""
    try:
        return _document_text(objs, output, single=single, first=first, name_of=name_of)
    except RecursionError:
        raise ShapeError(TOO_DEEP) from None


def _document_text(objs: list[dict[str, Any]], output: Output, *, single: bool, first: bool, name_of: Any) -> str:
    from kubectl_ray.printing import as_list, object_ref, to_json, to_yaml

    if output.kind == "name":
        return "".join((name_of or object_ref)(obj) + "\n" for obj in objs)
    if output.kind == "custom-columns":
        return custom_columns_text(objs, output, headers=first and output.headers)
    doc = objs[0] if single and len(objs) == 1 else as_list(objs)
    if output.kind == "jsonpath":
        return jsonpath_text(output.template, doc)
    if output.kind == "json":
        return to_json(doc)
    return ("" if first else "---\n") + to_yaml(doc)


def stream_documents(pages: Iterable[list[dict[str, Any]]], output: Output, out: Any, *, name_of: Any = None) -> None:
    """A List's json/yaml (or the names) written page by page: the same bytes as document_text of all the
    items, in memory that does not grow with the list."""
    from kubectl_ray.emitters import write_json_list, write_yaml_list
    from kubectl_ray.printing import object_ref

    if output.kind == "name":
        name = name_of or object_ref
        for page in pages:
            out.write("".join(name(obj) + "\n" for obj in page))
        return
    try:
        (write_json_list if output.kind == "json" else write_yaml_list)(pages, out)
    except RecursionError:
        raise ShapeError(TOO_DEEP) from None


def jsonpath_text(template: Any, doc: Any) -> str:
    from kubectl_ray.jsonpath import JSONPathError

    try:
        return template.execute(doc)
    except JSONPathError as exc:
        raise KubectlRayError(f'error executing jsonpath "{template.template}": Error executing template: {exc}') from None


def custom_columns_text(objs: list[dict[str, Any]], output: Output, *, headers: bool) -> str:
    from kubectl_ray.printing import format_table

    rows = [[_cell(column.path, obj) for column in output.columns] for obj in objs]
    if not headers and not rows:
        return ""
    return format_table([c.header for c in output.columns], rows, no_headers=not headers, upper=False)


def _cell(path: Any, obj: dict[str, Any]) -> str:
    """The values a column's path finds, Go-printed and joined by commas; `<none>` first when the path
    found nothing (printOneObject)."""
    from kubectl_ray.jsonpath import JSONPathError, go_sprint

    try:
        found = path.find(obj)
    except JSONPathError as exc:
        raise KubectlRayError(str(exc)) from None
    cells = ["<none>"] if not found or not found[0] else []
    cells += [_escape_terminal(go_sprint(value)) for results in found for value in results]
    return ",".join(cells)


def _escape_terminal(text: str) -> str:
    return text.replace("\x1b", "^[").replace("\r", "\\r")


def label_headers(label_columns: Iterable[str], show_labels: bool) -> list[str]:
    """-L a/b,c -> B, C (the part after the last /, upper case); --show-labels -> LABELS."""
    headers = [key.split("/")[-1].upper() for key in label_columns]
    return headers + (["LABELS"] if show_labels else [])


def label_cells(obj: dict[str, Any], label_columns: Iterable[str], show_labels: bool) -> list[str]:
    from kubectl_ray.shapes import mapping

    labels = mapping(obj, "metadata", "labels")
    cells = [str(labels.get(key, "")) for key in label_columns]
    if show_labels:
        cells.append(",".join(f"{k}={labels[k]}" for k in sorted(labels)) or "<none>")
    return cells


# --- --sort-by -----------------------------------------------------------------------------------------

_MISSING = object()


def sort_key_of(path: Any, obj: dict[str, Any]) -> Any:
    """The first value the path finds in the object (what kubectl sorts by), or _MISSING."""
    from kubectl_ray.jsonpath import JSONPathError

    try:
        found = path.find(obj)
    except JSONPathError as exc:
        raise KubectlRayError(str(exc)) from None
    return found[0][0] if found and found[0] else _MISSING


def sort_entries(entries: list[tuple[Any, Any]], path: Any) -> list[Any]:
    """Sort (key, item) pairs as kubectl's RuntimeSort: items without the field first, numbers by value,
    strings as quantities when both parse as one, else lexically; errors for what Go cannot order."""
    if entries and all(key is _MISSING for key, _ in entries):
        raise KubectlRayError(f'couldn\'t find any field with path "{path.template}" in the list of objects')
    ordered = sorted(entries, key=functools.cmp_to_key(lambda a, b: _compare(a[0], b[0], path.template)))
    return [item for _, item in ordered]


def _compare(a: Any, b: Any, field: str) -> int:
    if a is _MISSING or b is _MISSING:
        return (a is not _MISSING) - (b is not _MISSING)
    if _less(a, b, field):
        return -1
    return 1 if _less(b, a, field) else 0


def _less(a: Any, b: Any, field: str) -> bool:
    """isLess for the interface values of unstructured objects."""
    from kubectl_ray.jsonpath import go_type

    if a is None or b is None:
        return a is None and b is not None
    for kind in (int, float):
        if isinstance(a, kind) and not isinstance(a, bool):
            if isinstance(b, kind) and not isinstance(b, bool):
                return bool(a < b)
            raise KubectlRayError(f"field {field} is an unsortable type: unsortable interface: interface")
    if isinstance(a, str):
        if not isinstance(b, str):
            raise KubectlRayError(f"field {field} is an unsortable type: unsortable interface: interface")
        qa, qb = _quantity(a), _quantity(b)
        if qa is not None and qb is not None:
            return bool(qa < qb)
        return a < b
    raise KubectlRayError(f"field {field} is an unsortable type: unsortable type: {go_type(a)}")


def _quantity(text: str) -> Any:
    from kubectl_ray.resources.quantity import QuantityError, parse_quantity

    try:
        return parse_quantity(text)
    except QuantityError:
        return None
