"""What every `get` form shares: the output flags (-o, -l, -A, --no-headers), paginated lists, printers.

Lists follow the server's pagination (`limit`/`continue`) and each page becomes rows of strings
before the next one is read, so thousands of clusters neither load at once nor get truncated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, NamedTuple

import click

from kubectl_ray.cli.common import output_option
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from kubectl_ray.kube.resources import Resource
    from kubectl_ray.resources.tables import Row, TableSpec

Page = list[dict[str, Any]]


class ListOptions(NamedTuple):
    """The output flags every `get` form shares."""

    output: str | None = None  # None (table), wide, json, yaml, name
    selector: str | None = None
    all_namespaces: bool = False
    no_headers: bool = False

    @property
    def wide(self) -> bool:
        return self.output == "wide"

    @property
    def is_table(self) -> bool:
        return self.output in (None, "wide")


def list_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """-o, -l, -A and --no-headers, as kubectl get has them."""
    decorators = [
        output_option(help_text="Output format. One of: (json, yaml, wide, name). Default: a table."),
        click.option("-l", "--selector", default=None, metavar="SELECTOR",
                     help="Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin' "
                          "(e.g. -l key1=value1,key2=value2)."),
        click.option("-A", "--all-namespaces", is_flag=True, default=False,
                     help="If present, list the requested object(s) across all namespaces. Namespace in current "
                          "context is ignored even if specified with --namespace."),
        click.option("--no-headers", is_flag=True, default=False,
                     help="When using the default or wide output format, don't print headers."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def list_options_from(output: str | None, selector: str | None, all_namespaces: bool, no_headers: bool) -> ListOptions:
    if selector is not None and not selector.strip():
        raise UsageError("-l/--selector must not be empty")
    return ListOptions(output.lower() if output else None, selector, all_namespaces, no_headers)


def require_name(kind: str, name: str | None) -> None:
    if name is not None and not name.strip():
        raise UsageError(f"{kind} name must not be empty")


def combine_selectors(*selectors: str | None) -> str | None:
    parts = [s for s in selectors if s]
    return ",".join(parts) if parts else None


def scope(env: CommandEnv, opts: ListOptions) -> str:
    return "any namespace" if opts.all_namespaces else f"namespace {env.namespace}"


def _no_resources(env: CommandEnv, opts: ListOptions) -> str:
    return "No resources found" if opts.all_namespaces else f"No resources found in {env.namespace} namespace."


# --- printing -------------------------------------------------------------------------------

def _now() -> "datetime":
    from kubectl_ray import printing

    return printing.now()  # looked up at call time so tests can freeze it


def _write(env: CommandEnv, text: str) -> None:
    env.out.write(text)
    env.out.flush()


def print_table(env: CommandEnv, spec: "TableSpec", rows: list["Row"], opts: ListOptions) -> None:
    """The table, or kubectl's `No resources found ...` on stderr (exit 0) when it is empty."""
    from kubectl_ray.printing import format_table, info
    from kubectl_ray.resources.tables import pick

    if not rows:
        info(_no_resources(env, opts))
        return
    headers, indexes = spec.layout(wide=opts.wide, all_namespaces=opts.all_namespaces)
    _write(env, format_table(headers, pick(rows, indexes), no_headers=opts.no_headers))


def print_documents(env: CommandEnv, objs: list[dict[str, Any]], opts: ListOptions, *, single: bool,
                    name_of: Callable[[dict[str, Any]], str] | None = None) -> None:
    """-o name prints one reference per line; json/yaml print the object, or a List like kubectl."""
    from kubectl_ray.printing import as_list, object_ref, to_json, to_yaml

    if opts.output == "name":
        _write(env, "".join((name_of or object_ref)(obj) + "\n" for obj in objs))
        return
    doc = objs[0] if single and len(objs) == 1 else as_list(objs)
    _write(env, to_json(doc) if opts.output == "json" else to_yaml(doc))


def emit(env: CommandEnv, pages: Iterable[Page], spec: "TableSpec", row_of: Callable[[dict[str, Any], "datetime"], "Row"],
         opts: ListOptions, *, single: bool = False, not_found: str | None = None) -> None:
    """Print API objects page by page. For tables each page turns into rows of strings before the
    next is fetched, so only the strings of the whole list are ever held."""
    if opts.is_table:
        at = _now()
        rows = [row_of(obj, at) for page in pages for obj in page]
        if not rows and not_found:
            raise KubectlRayError(not_found)
        print_table(env, spec, rows, opts)
        return
    objs = [obj for page in pages for obj in page]
    if not objs and not_found:
        raise KubectlRayError(not_found)
    print_documents(env, objs, opts, single=single)


def pages_of(env: CommandEnv, res: "Resource", opts: ListOptions, *, label_selector: str | None = None,
              field_selector: str | None = None) -> Iterator[Page]:
    return env.kube().list_pages(res, None if opts.all_namespaces else env.namespace,
                                 all_namespaces=opts.all_namespaces, label_selector=label_selector,
                                 field_selector=field_selector)


def named_or_listed(env: CommandEnv, res: "Resource", name: str | None, opts: ListOptions) -> tuple[Iterable[Page], bool]:
    """One object by GET (NAME in a namespace), else a paginated list (by name across namespaces,
    as upstream does, or all matching the selector). Returns the pages and whether NAME was given."""
    if name is not None and opts.selector:
        raise UsageError("name cannot be provided when a selector is specified")
    if name is not None and not opts.all_namespaces:
        obj = env.kube().get_or_none(res, name, env.namespace)
        return ([[obj]] if obj is not None else []), True
    field = f"metadata.name={name}" if name is not None else None
    return pages_of(env, res, opts, label_selector=opts.selector, field_selector=field), name is not None
