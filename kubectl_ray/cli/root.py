"""The click root group, its lazy subcommand loading and the error handling around it."""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from kubectl_ray import __version__
from kubectl_ray.cli import registry
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlGroup, add_connection_options
from kubectl_ray.cli.registry import COMMANDS, DESCRIPTION, GLOBAL_FLAGS_EPILOG, PROG_NAME
from kubectl_ray.cli.outcome import error_line, guarded
from kubectl_ray.env import CommandEnv, flags_from_kwargs
from kubectl_ray.errors import ExitCode, one_line


class LazyRootGroup(KubectlGroup):
    """Imports a command's module only when that command runs or its help is shown."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    def _available(self, name: str) -> bool:
        return registry.module_exists(COMMANDS[name][0])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = self._canonical(cmd_name)
        if name is None or not self._available(name):
            return None
        module, attr, _, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def _canonical(self, name: str) -> str | None:
        for canonical, (_, _, _, aliases) in COMMANDS.items():
            if name == canonical or name in aliases:
                return canonical
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            aliases = COMMANDS[name][3]
            label = f"{name} ({', '.join(aliases)})" if aliases else name
            rows.append((label, COMMANDS[name][2]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _root(**kwargs: Any) -> None:
    ctx = click.get_current_context()
    ctx.obj = CommandEnv(flags=flags_from_kwargs(kwargs))


cli = LazyRootGroup(
    name="ray",
    callback=_root,
    context_settings=CONTEXT_SETTINGS,
    no_args_is_help=True,
    help=DESCRIPTION,
    epilog=GLOBAL_FLAGS_EPILOG,
)
add_connection_options(cli, hidden=True)
cli = click.version_option(__version__, "--version", prog_name=PROG_NAME, message="%(prog)s, version %(version)s")(cli)


def run(args: list[str]) -> int:
    """Run a command line; turn every failure into one line on stderr and an exit code (cli/outcome.py)."""
    color = False if os.environ.get("NO_COLOR") else None

    def invoke() -> object:
        try:
            return cli.main(args=args, prog_name=PROG_NAME, standalone_mode=False, color=color)
        except click.exceptions.Exit as exc:  # pragma: no cover - click returns it in non-standalone mode
            return exc.exit_code
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: help on stdout, like kubectl
            click.echo(exc.ctx.get_help() if exc.ctx else "", color=color)
            return ExitCode.OK
        except click.UsageError as exc:
            error_line(_usage_message(exc))
            return ExitCode.USAGE
        except click.Abort as exc:
            if isinstance(exc.__context__, EOFError):
                error_line("error: no input (end of file)")
                return ExitCode.ERROR
            return ExitCode.INTERRUPTED
        except click.ClickException as exc:
            error_line(f"error: {one_line(exc.format_message())}")
            return exc.exit_code

    return guarded(invoke)


def _usage_message(exc: click.UsageError) -> str:
    where = exc.ctx.command_path if exc.ctx else PROG_NAME
    return f"error: {one_line(exc.format_message())} (see '{where} --help')"
