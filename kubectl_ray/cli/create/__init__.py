"""`kubectl ray create cluster` and `kubectl ray create workergroup`.

Per command: flags -> options (Complete) -> validation (Validate, before any request) -> pure builder
-> API (Run) -> printer. `--dry-run` has kubectl's three modes (cli/dryrun.py): client prints and
sends nothing, server sends with dryRun=All, none (the default) writes.
"""

from __future__ import annotations

import click

from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlGroup
from kubectl_ray.cli.create.cluster import create_cluster
from kubectl_ray.cli.create.workergroup import create_workergroup


@click.group("create", cls=KubectlGroup, context_settings=CONTEXT_SETTINGS, no_args_is_help=True)
def create() -> None:
    """Create a RayCluster, or add a worker group to an existing one."""


for _command in (create_cluster, create_workergroup):
    create.add_command(_command)
