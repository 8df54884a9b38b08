"""`kubectl ray options`: the connection flags, as `kubectl options` lists kubectl's."""

from __future__ import annotations

import click

from kubectl_ray.cli.common import CONTEXT_SETTINGS, _CONNECTION_OPTIONS


@click.command("options", context_settings=CONTEXT_SETTINGS)
def options() -> None:
    """List the connection flags that every command accepts.

    kubectl does not pass its own flags to plugins (flags before 'ray' are rejected), so kubectl-ray
    reads the same flags itself, after the command: kubectl ray get cluster --context prod -n ray.
    """
    formatter = click.HelpFormatter(max_width=100)
    rows = []
    for decls, kwargs in _CONNECTION_OPTIONS:
        names = ", ".join(d for d in decls if d.startswith("-"))
        rows.append((names, kwargs["help"]))
    rows.append(("--debug", "Print a traceback for unexpected errors (or set KUBECTL_RAY_DEBUG=1)."))
    formatter.write_text("The following options can be passed to any command:")
    formatter.write_paragraph()
    formatter.write_dl(rows)
    click.echo(formatter.getvalue(), nl=False)
