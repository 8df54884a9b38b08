"""What every command shares: kubectl's connection flags, the lazily built API client, help text."""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

from kubectl_ray.cli import registry
from kubectl_ray.cli.grammar import PflagCommand, PflagGroup
from kubectl_ray.cli.registry import GLOBAL_FLAGS_EPILOG
from kubectl_ray.env import CommandEnv, flags_from_kwargs
from kubectl_ray.kube.flags import ConnectionFlags

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
OUTPUT_FORMATS = ("json", "yaml", "wide", "name")

# (param decls, help) in kubectl's order and wording (cli-runtime config_flags.go)
_CONNECTION_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--kubeconfig",), {"help": "Path to the kubeconfig file to use for CLI requests."}),
    (("--context",), {"help": "The name of the kubeconfig context to use"}),
    (("--cluster",), {"help": "The name of the kubeconfig cluster to use"}),
    (("--user",), {"help": "The name of the kubeconfig user to use"}),
    (("-n", "--namespace"), {"help": "If present, the namespace scope for this CLI request"}),
    (("-s", "--server"), {"help": "The address and port of the Kubernetes API server"}),
    (("--token",), {"help": "Bearer token for authentication to the API server"}),
    (("--as", "as_user"), {"help": "Username to impersonate for the operation. User could be a regular user or a service account in a namespace."}),
    (("--as-group", "as_groups"), {"multiple": True, "help": "Group to impersonate for the operation, this flag can be repeated to specify multiple groups."}),
    (("--as-uid",), {"help": "UID to impersonate for the operation."}),
    (("--certificate-authority",), {"help": "Path to a cert file for the certificate authority"}),
    (("--client-certificate",), {"help": "Path to a client certificate file for TLS"}),
    (("--client-key",), {"help": "Path to a client key file for TLS"}),
    (("--insecure-skip-tls-verify",), {"is_flag": True, "default": False, "help": "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure"}),
    (("--tls-server-name",), {"help": "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used"}),
    (("--request-timeout",), {"help": "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests."}),
]


def _debug_callback(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        registry.set_debug(True)
    return value


def add_connection_options(func: Any, *, hidden: bool) -> Any:
    """Attach the connection flags (and --debug) to a command function or an existing Command."""
    params: list[click.Parameter] = [click.Option(list(decls), hidden=hidden, **kwargs) for decls, kwargs in _CONNECTION_OPTIONS]
    params.append(click.Option(["--debug"], is_flag=True, hidden=True, expose_value=False, is_eager=True,
                               callback=_debug_callback, help="Print a traceback for unexpected errors."))
    if isinstance(func, click.Command):
        func.params.extend(params)
        return func
    existing = getattr(func, "__click_params__", [])
    func.__click_params__ = existing + list(reversed(params))  # click reverses this list when it builds the command
    return func


def kube_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command kubectl's connection flags and pass it a CommandEnv as first argument."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        leaf = flags_from_kwargs(kwargs)
        ctx = click.get_current_context()
        root = ctx.find_root().obj
        base = root.flags if isinstance(root, CommandEnv) else ConnectionFlags()
        env = CommandEnv(flags=base.merged_with(leaf))
        return func(env, *args, **kwargs)

    return add_connection_options(wrapper, hidden=True)


def kube_group(func: Callable[..., Any]) -> Callable[..., Any]:
    """For a command group's callback (create the group with invoke_without_command=True): connection
    flags given before the subcommand (`kubectl ray get -n ns cluster`) reach every subcommand, and
    the group alone (`kubectl ray get --kubeconfig x`) prints its help and exits 0, like upstream."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        group_flags = flags_from_kwargs(kwargs)
        ctx = click.get_current_context()
        root = ctx.find_root().obj
        if isinstance(root, CommandEnv):
            root.flags = root.flags.merged_with(group_flags)
        if ctx.invoked_subcommand is None:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return func(*args, **kwargs)

    return add_connection_options(wrapper, hidden=True)


def output_option(choices: tuple[str, ...] = OUTPUT_FORMATS, help_text: str | None = None) -> Callable[..., Any]:
    return click.option(
        "-o", "--output", type=click.Choice(choices, case_sensitive=False), default=None,
        help=help_text or f"Output format. One of: ({', '.join(choices)}).",
    )


class KubectlCommand(PflagCommand):
    """A command whose help ends with the pointer to the connection flags."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text(GLOBAL_FLAGS_EPILOG)


class KubectlGroup(PflagGroup):
    command_class = KubectlCommand
    group_class = type  # subgroups are KubectlGroup too

    def __init__(self, *args: Any, aliases: dict[str, str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
        super().__init__(*args, **kwargs)
        self.aliases = aliases or {}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else name), cmd, rest


RESOURCE_FLAGS = ("head_cpu", "head_gpu", "head_memory", "head_ephemeral_storage", "worker_cpu", "worker_gpu",
                  "worker_tpu", "worker_memory", "worker_ephemeral_storage")


def reject_empty_quantities(ctx: click.Context, flags: dict[str, Any]) -> None:
    """A resource flag given as "" is an invalid quantity, as upstream says (`--head-memory ""`); only a
    flag left out keeps its default. Upstream checks `cmd.Flags().Changed(name)` the same way."""
    from click.core import ParameterSource

    from kubectl_ray.parsing import parse_quantity_flag

    for name in RESOURCE_FLAGS:
        if flags.get(name) == "" and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            parse_quantity_flag("--" + name.replace("_", "-"), "")


def examples(*lines: str) -> str:
    """An Examples block in kubectl's style for a command's epilog.

    Click rewraps text unless a paragraph starts with \b, so every paragraph gets one.
    """
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append("  " + line)
        elif paragraphs[-1]:
            paragraphs.append([])
    blocks = ["\b\n" + "\n".join(p) for p in paragraphs if p]
    return "\b\nExamples:\n\n" + "\n\n".join(blocks)
