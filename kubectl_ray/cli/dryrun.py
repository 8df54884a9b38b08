"""kubectl's `--dry-run[=none|client|server]` for every command that writes (create, scale, delete, job
submit), as cmdutil.AddDryRunFlag and GetDryRunStrategy (kubectl 1.32) have it:

- a string flag, default `none`, whose value may be left out: a bare `--dry-run` is `--dry-run=unchanged`
  (pflag's NoOptDefVal), which means client, and never takes the next word as its value. kubectl
  warns that the bare form is deprecated; we do not, because it is the spelling KubeRay's own plugin
  documents (its `--dry-run` is a bool flag) and our examples use;
- `client`: build and print, send nothing; `server`: send with `dryRun=All` (the API server checks it,
  nothing is stored); `none`: write;
- Go booleans (`true`, `1`, `f`, ...) still work and are deprecated: true is client, false is none;
- anything else: `Invalid dry-run value (x). Must be "none", "server", or "client".`
"""

from __future__ import annotations

from typing import Any, Callable

import click

from kubectl_ray.cli.grammar import OptionalValueOption, parse_go_bool
from kubectl_ray.errors import UsageError

NONE, CLIENT, SERVER = "none", "client", "server"
DRY_RUN_MODES = (NONE, CLIENT, SERVER)
NO_OPT_DEFAULT = "unchanged"  # what kubectl's --dry-run holds when given without a value
HELP = ('Must be "none", "server", or "client". If client strategy, only print the object that would be sent, '
        "without sending it. If server strategy, submit server-side request without persisting the resource.")


def dry_run_option(help_text: str = "") -> Callable[..., Any]:
    """`--dry-run[=none|client|server]`; the command's help says what each mode does for it."""
    return click.option("--dry-run", "dry_run", cls=OptionalValueOption, no_opt_default=NO_OPT_DEFAULT,
                        default=NONE, show_default=True, metavar="[=none|client|server]",
                        help=(help_text + " A bare --dry-run means client.")
                        if help_text else HELP)


def parse_dry_run(value: str | None) -> str:
    """GetDryRunStrategy: none, client or server (warnings for the deprecated spellings go to stderr)."""
    from kubectl_ray.printing import warn

    text = NONE if value is None else value
    as_bool = parse_go_bool(text)
    if as_bool is None:
        if text == NO_OPT_DEFAULT:
            return CLIENT
        if text in DRY_RUN_MODES:
            return text
        raise UsageError(f'Invalid dry-run value ({text}). Must be "none", "server", or "client".')
    mode = CLIENT if as_bool else NONE
    warn(f"--dry-run={text} is deprecated (boolean value) and can be replaced with --dry-run={mode}.")
    return mode


def dry_run_suffix(mode: str) -> str:
    """What kubectl appends to the success line (PrintFlagsWithDryRunStrategy)."""
    return {CLIENT: " (dry run)", SERVER: " (server dry run)"}.get(mode, "")
