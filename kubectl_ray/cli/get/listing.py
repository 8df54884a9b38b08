"""What every `get` form shares: kubectl get's flags, paginated lists, the printer and `-w`.

Flags: -o (json, yaml, name, wide, jsonpath=, jsonpath-file=, jsonpath-as-json=, custom-columns=,
custom-columns-file=), -l, -A, --no-headers, --sort-by, --show-labels, -L/--label-columns, -w/--watch.
Lists follow the server's pagination (`limit`/`continue`) and, for tables, each page becomes rows of
strings (plus a sort key with --sort-by) before the next one is read.
"""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from kubectl_ray.cli.get.output import STREAMED_FORMATS, Output, document_text, label_cells, label_headers, \
    parse_output, sort_entries, sort_key_of, sort_path, stream_documents
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from kubectl_ray.kube.resources import Resource
    from kubectl_ray.parsing import ResourceRef
    from kubectl_ray.resources.tables import Row, TableSpec

Page = list[dict[str, Any]]
WATCH_SECONDS = 1800  # one watch request (the API server may end it sooner); then `get -w` ends, as kubectl's
BULK_GC_THRESHOLD = 200_000  # container allocations between young collections while a listing is read
LIST_FLAGS = ("output", "selector", "all_namespaces", "no_headers", "sort_by", "show_labels", "label_columns", "watch")


@dataclass(frozen=True)
class ListOptions:
    """The output flags every `get` form shares, checked."""

    output: Output = Output()
    selector: str | None = None
    all_namespaces: bool = False
    no_headers: bool = False
    sort_by: Any = None  # a JSONPath
    label_columns: tuple[str, ...] = ()
    show_labels: bool = False
    watch: bool = False

    @property
    def wide(self) -> bool:
        return self.output.kind == "wide"

    @property
    def is_table(self) -> bool:
        return self.output.is_table


# kubectl get's output and filter flags: (param decls, click.option keywords); the fast path reads them too.
LIST_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("-o", "--output"), {"default": None, "metavar": "FORMAT", "help": (
        "Output format. One of: (json, yaml, name, wide, jsonpath=..., jsonpath-file=..., jsonpath-as-json=..., "
        "custom-columns=..., custom-columns-file=...). Default: a table.")}),
    (("-l", "--selector"), {"default": None, "metavar": "SELECTOR", "help": (
        "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin' (e.g. -l key1=value1,key2=value2).")}),
    (("-A", "--all-namespaces"), {"is_flag": True, "default": False, "help": (
        "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even "
        "if specified with --namespace.")}),
    (("--no-headers",), {"is_flag": True, "default": False, "help": (
        "When using the default or custom-column output format, don't print headers.")}),
    (("--sort-by",), {"default": None, "metavar": "JSONPATH", "help": (
        "If non-empty, sort list types using this field specification, a JSONPath expression "
        "(e.g. '{.metadata.name}').")}),
    (("--show-labels",), {"is_flag": True, "default": False, "help": (
        "When printing, show all labels as the last column (default hide labels column).")}),
    (("-L", "--label-columns"), {"multiple": True, "metavar": "LABEL,...", "help": (
        "Accepts a comma separated list of labels that are going to be presented as columns. Names are "
        "case-sensitive. You can also use multiple flag options like -L label1 -L label2...")}),
    (("-w", "--watch"), {"is_flag": True, "default": False, "help": (
        "After listing/getting the requested object, watch for changes.")}),
]


def list_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """kubectl get's output and filter flags, as click options."""
    import click

    for decls, kwargs in reversed(LIST_OPTIONS):
        func = click.option(*decls, **kwargs)(func)
    return func


def list_options_from(flags: dict[str, Any]) -> ListOptions:
    """Complete + Validate the shared flags (they are removed from `flags`), before any request."""
    values = {name: flags.pop(name) for name in LIST_FLAGS}
    selector = values["selector"]
    if selector is not None and not selector.strip():
        raise UsageError("-l/--selector must not be empty")
    output = parse_output(values["output"], no_headers=values["no_headers"])
    if values["show_labels"] and not output.is_table:
        raise UsageError(f"--show-labels option cannot be used with {values['output']} printer")
    columns = tuple(key.strip() for value in values["label_columns"] for key in value.split(",") if key.strip())
    return ListOptions(output, selector, values["all_namespaces"], values["no_headers"], sort_path(values["sort_by"]),
                       columns, values["show_labels"], values["watch"])


def require_name(kind: str, name: str | None) -> None:
    if name is not None and not name.strip():
        raise UsageError(f"{kind} name must not be empty")


def combine_selectors(*selectors: str | None) -> str | None:
    parts = [s for s in selectors if s]
    return ",".join(parts) if parts else None


def pages_of(env: CommandEnv, res: "Resource", opts: ListOptions, *, label_selector: str | None = None,
             field_selector: str | None = None) -> Iterator[Page]:
    return env.kube().list_pages(res, None if opts.all_namespaces else env.namespace,
                                 all_namespaces=opts.all_namespaces, label_selector=label_selector,
                                 field_selector=field_selector, depth_checked=False)  # the Printer checks


def cluster_option(what: str) -> Callable[..., Any]:
    """-c/--ray-cluster: `get workergroup` and `get node` take it alike."""
    import click

    return click.option("-c", "--ray-cluster", "ray_cluster", default=None, metavar="RAYCLUSTER",
                        help=f"Only the {what} of this Ray cluster (which must exist).")


def resolve_cluster_flag(env: CommandEnv, value: str | None, opts: ListOptions) -> "ResourceRef | None":
    """-c NAME (or raycluster/NAME) must name a RayCluster that exists (in any namespace with -A):
    kubectl's NotFound otherwise, the same rule for every get form."""
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.kube.targets import NotFound, get_object
    from kubectl_ray.parsing import parse_resource_ref

    if value is None:
        return None
    ref = parse_resource_ref(value, allowed=("raycluster",))
    if not opts.all_namespaces:
        get_object(env.kube(), ref, env.namespace)
    elif not any(pages_of(env, RAYCLUSTERS, opts, field_selector=f"metadata.name={ref.name}")):
        raise NotFound(RAYCLUSTERS, ref.name)
    return ref


# --- printing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    """How one kind of object becomes a table row (and a `-o name` line)."""

    spec: "TableSpec"
    row_of: Callable[[dict[str, Any], "datetime"], "Row"]
    name_of: Callable[[dict[str, Any]], str] | None = None


@dataclass(frozen=True)
class WatchTarget:
    """What `-w` watches after the first listing."""

    res: "Resource"
    name: str | None = None
    label_selector: str | None = None


class Printer:
    """Prints the first listing, then (with -w) each changed object, all in one tabwriter."""

    def __init__(self, env: CommandEnv, view: View, opts: ListOptions) -> None:
        from kubectl_ray.printing import TabWriter

        self.env = env
        self.view = view
        self.opts = opts
        self.tab = TabWriter()
        self.headers_printed = False
        self.documents_printed = 0

    def listing(self, pages: Iterable[Page], *, single: bool) -> list[dict[str, Any]]:
        """Print the objects (rows, or documents); returns what was printed when watching (for -w)."""
        if self.opts.sort_by is not None or self.opts.output.kind in WALKED_FORMATS:  # JSONPath walks them in Python
            pages = (list(_depth_checked(page)) for page in pages)
        if self.opts.is_table:
            return self._table(obj for page in pages for obj in page)
        if self._streams(single):
            stream_documents(pages, self.opts.output, self.env.out, name_of=self.view.name_of)
            self.env.out.flush()
            return []
        items = [obj for page in pages for obj in page]
        if self.opts.sort_by is not None and not self.opts.watch:
            items = sort_entries([(sort_key_of(self.opts.sort_by, o), o) for o in items], self.opts.sort_by)
        if self.opts.watch:  # kubectl prints each object on its own when it watches
            for obj in items:
                self.event(obj)
        else:
            self._write(document_text(items, self.opts.output, single=single, name_of=self.view.name_of))
        return items

    def _streams(self, single: bool) -> bool:
        """json, yaml and name lists are written page by page: memory does not grow with the list."""
        return (self.opts.output.kind in STREAMED_FORMATS and not single and not self.opts.watch
                and self.opts.sort_by is None)

    def event(self, obj: dict[str, Any]) -> None:
        if self.opts.is_table:
            self._rows([self._cells(obj, self._now())])
            return
        text = document_text([obj], self.opts.output, single=True, first=self.documents_printed == 0,
                             name_of=self.view.name_of)
        self.documents_printed += 1
        self._write(text)

    def _table(self, objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        from kubectl_ray.printing import info

        at = self._now()
        keep = self.opts.watch
        cells = self._cell_maker()
        entries: list[tuple[Any, list[str]]] = []
        kept: list[dict[str, Any]] = []
        rows: list[Any] = []
        for obj in objs:
            if self.opts.sort_by is not None:
                entries.append((sort_key_of(self.opts.sort_by, obj), cells(obj, at)))
            else:
                rows.append(cells(obj, at))
            if keep:
                kept.append(obj)
        if self.opts.sort_by is not None:
            rows = sort_entries(entries, self.opts.sort_by)
        if rows:
            self._rows(rows)
        elif not keep:
            info("No resources found" if self.opts.all_namespaces
                 else f"No resources found in {self.env.namespace} namespace.")
        return kept

    def _cells(self, obj: dict[str, Any], at: "datetime") -> Any:
        return self._cell_maker()(obj, at)

    def _cell_maker(self) -> Callable[[dict[str, Any], "datetime"], Any]:
        """obj -> the cells of its row: the row's picked columns (one C call), then any label columns."""
        from operator import itemgetter

        _, indexes = self.view.spec.layout(wide=self.opts.wide, all_namespaces=self.opts.all_namespaces)
        pick = itemgetter(*indexes)
        row_of = self.view.row_of
        if len(indexes) == 1:
            def picked(obj: dict[str, Any], at: "datetime") -> Any:
                return (pick(row_of(obj, at)),)
        else:
            def picked(obj: dict[str, Any], at: "datetime") -> Any:
                return pick(row_of(obj, at))
        if not self.opts.label_columns and not self.opts.show_labels:
            return picked
        columns, show_labels = self.opts.label_columns, self.opts.show_labels
        return lambda obj, at: (*picked(obj, at), *label_cells(obj, columns, show_labels))

    def _rows(self, rows: list[Any]) -> None:
        headers, _ = self.view.spec.layout(wide=self.opts.wide, all_namespaces=self.opts.all_namespaces)
        headers = headers + label_headers(self.opts.label_columns, self.opts.show_labels)
        show = not self.opts.no_headers and not self.headers_printed
        self._write(self.tab.format(headers if show else None, rows))
        self.headers_printed = True

    def _now(self) -> "datetime":
        from kubectl_ray import printing

        return printing.now()  # looked up at call time so tests can freeze it

    def _write(self, text: str) -> None:
        self.env.out.write(text)
        self.env.out.flush()


def show(env: CommandEnv, view: View, opts: ListOptions, pages: Iterable[Page], *, single: bool = False,
         watch: WatchTarget | None = None) -> None:
    """Print API objects page by page; with -w, then every change the server reports, until it ends the watch."""
    if opts.watch and watch is None:
        raise UsageError("--watch is not supported here: it watches RayClusters, RayJobs, RayServices and Ray nodes")
    if opts.watch and opts.sort_by is not None:
        env.err.write("warning: --watch requested, --sort-by will be ignored for watch events received\n")
        env.err.flush()
    printer = Printer(env, view, opts)
    with bulk_decoding():
        printed = printer.listing(pages, single=single)
    if opts.watch and watch is not None:
        follow(env, opts, watch, printer, printed)


@contextmanager
def bulk_decoding() -> Iterator[None]:
    """Young-generation collections made rare while pages are decoded and printed.

    A page of 500 objects creates ~20,000 dicts and lists, none of them in a cycle; with the default
    threshold every 700 of them start a collection, and the older generations are walked again and
    again (~110 ms of 5000 clusters). `gc.freeze()` first moves everything the imports created out of
    the collector's sight; both are undone when the listing is done.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(BULK_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def follow(env: CommandEnv, opts: ListOptions, target: WatchTarget, printer: Printer,
           printed: list[dict[str, Any]]) -> None:
    """Print each object the watch reports. The watch starts at "now", so the server first replays what
    exists as ADDED events: those already printed (same resourceVersion) are skipped."""
    from kubectl_ray.kube.errors import WatchExpired

    seen = {_identity(obj) for obj in printed}
    try:
        for event in env.kube().watch(target.res, None if opts.all_namespaces else env.namespace, name=target.name,
                                      label_selector=target.label_selector, timeout_seconds=_watch_seconds(env),
                                      all_namespaces=opts.all_namespaces):
            obj = event.get("object")
            if event.get("type") not in ("ADDED", "MODIFIED", "DELETED") or not isinstance(obj, dict):
                continue
            if event.get("type") == "ADDED" and _identity(obj) in seen:
                seen.discard(_identity(obj))
                continue
            printer.event(obj)
    except WatchExpired as exc:
        raise KubectlRayError(f"the watch ended: {exc}") from None


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    from kubectl_ray.shapes import text

    return text(obj, "metadata", "namespace"), text(obj, "metadata", "name"), text(obj, "metadata", "resourceVersion")


# Formats whose printing walks each object recursively in Python: depth-checked first (json and yaml
# are not: the walk costs about what decoding does, so their printers turn a RecursionError into the same
# error instead; output/TOO_DEEP).
WALKED_FORMATS = ("jsonpath", "custom-columns")


def _depth_checked(objs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    from kubectl_ray.shapes import check_depth, name_of

    for obj in objs:
        check_depth(obj, f'the server\'s object "{name_of(obj)}"')
        yield obj


def _watch_seconds(env: CommandEnv) -> int:
    """--request-timeout bounds a watch, as it bounds kubectl's; else WATCH_SECONDS."""
    from kubectl_ray.parsing import parse_duration

    given = env.flags.request_timeout
    seconds = parse_duration("--request-timeout", given, bare_seconds=True) if given else 0
    return max(1, math.ceil(seconds)) if seconds else WATCH_SECONDS
