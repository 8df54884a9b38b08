"""kubectl's `--dry-run[=none|client|server]` for every command that writes (cmdutil.AddDryRunFlag,
GetDryRunStrategy): a bare `--dry-run` means client and never takes the next word as its value."""

from __future__ import annotations

from typing import Any, Callable

import click

from kubectl_ray.cli.common import KubectlCommand
from kubectl_ray.errors import UsageError

DRY_RUN_MODES = ("none", "client", "server")


class DryRunCommand(KubectlCommand):
    """Like kubectl, a bare `--dry-run` means `--dry-run=client` and never swallows the next word."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        for index, arg in enumerate(args):
            if arg == "--":
                rewritten.extend(args[index:])
                break
            rewritten.append("--dry-run=client" if arg == "--dry-run" else arg)
        return super().parse_args(ctx, rewritten)


def dry_run_option(help_text: str) -> Callable[..., Any]:
    return click.option("--dry-run", "dry_run", default="none", show_default=True, metavar="[none|client|server]",
                        help=help_text + " A bare --dry-run means client.")


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-o", "--output", type=click.Choice(["yaml", "json", "name"], case_sensitive=False), default=None,
        help="Print the object as yaml, json or name (default: yaml with --dry-run, else a one-line summary).",
    )(func)


def parse_dry_run(value: str) -> str:
    """none | client | server; the deprecated booleans map like kubectl's (true = client)."""
    text = (value or "none").strip().lower()
    if text in DRY_RUN_MODES:
        return text
    if text in ("true", "false"):
        mode = "client" if text == "true" else "none"
        from kubectl_ray.printing import warn

        warn(f"--dry-run={text} is deprecated (boolean value) and can be replaced with --dry-run={mode}.")
        return mode
    raise UsageError(f'invalid --dry-run {value!r}: must be "none", "client" or "server"')
