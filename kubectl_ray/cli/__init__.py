"""`kubectl ray`: the entry point. Subcommands are imported only when they run, to start fast.

`kubectl ray --help`, a bare `kubectl ray` and `--version` are answered here without importing click
(measured: ~25 ms of the ~50 ms a plugin start costs); tests check this text equals click's own.
"""

from __future__ import annotations

import sys

from kubectl_ray.cli.registry import COMMANDS, DESCRIPTION, FAST_COMMANDS, GLOBAL_FLAGS_EPILOG, PROG_NAME
from kubectl_ray.cli.registry import module_exists as _module_exists

__all__ = ["COMMANDS", "DESCRIPTION", "GLOBAL_FLAGS_EPILOG", "PROG_NAME", "main", "root_help"]


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in ([], ["-h"], ["--help"]):
        return _print(root_help())
    if args == ["--version"]:
        from kubectl_ray import __version__

        return _print(f"{PROG_NAME}, version {__version__}\n")
    if args[0] in FAST_COMMANDS:  # get cluster|job|service, version --client: without click when possible
        from kubectl_ray.cli import fast

        code = fast.run(args)
        if code is not None:
            return code
    from kubectl_ray.cli.root import run

    return run(args)


def _print(text: str) -> int:
    from kubectl_ray.stdio import StdoutFailed, detach_stdout, write_stdout

    try:
        write_stdout(text)
    except (StdoutFailed, BrokenPipeError) as exc:
        detach_stdout()
        if isinstance(exc, StdoutFailed):
            sys.stderr.write(exc.render() + "\n")
        return 1
    return 0


def root_help(width: int = 80) -> str:
    """The root help as click renders it (kept identical by tests/test_cli_root.py)."""
    import textwrap

    def para(text: str) -> str:
        return textwrap.fill(text, width=width, initial_indent="  ", subsequent_indent="  ")

    def rows(pairs: list[tuple[str, str]]) -> list[str]:
        first = min(max(len(k) for k, _ in pairs), 30) + 2
        text_width = max(width - first - 2, 10)
        out = []
        for key, value in pairs:
            lines = textwrap.wrap(value, text_width) or [""]
            out.append(f"  {key.ljust(first)}{lines[0]}".rstrip())
            out.extend(" " * (first + 2) + line for line in lines[1:])
        return out

    commands = []
    for name, (module, _, short, aliases) in COMMANDS.items():
        if _module_exists(module):
            commands.append((f"{name} ({', '.join(aliases)})" if aliases else name, short))
    parts = [f"Usage: {PROG_NAME} [OPTIONS] COMMAND [ARGS]...", "", para(DESCRIPTION), "", "Options:",
             *rows([("--version", "Show the version and exit."), ("-h, --help", "Show this message and exit.")]),
             "", "Commands:", *rows(commands), "", para(GLOBAL_FLAGS_EPILOG)]
    return "\n".join(parts) + "\n"


def __getattr__(name: str) -> object:
    """`kubectl_ray.cli.cli` (the click group) is loaded on first use."""
    if name == "cli":
        from kubectl_ray.cli.root import cli

        return cli
    raise AttributeError(name)
