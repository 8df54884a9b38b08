"""`kubectl ray job submit|logs|stop|list`: Ray jobs on KubeRay without a local Ray install.

`submit` creates an InteractiveMode RayJob (generated from flags or read with -f), waits for
KubeRay to bring its RayCluster up, reaches the Ray dashboard (--address, or a port-forward on a
free local port), uploads working_dir / py_modules packages the way Ray does, submits through the
Jobs REST API and follows the logs (submit.py: options; submit_run.py: running it). `logs` and
`stop` attach to the Ray job behind a RayJob (attach.py); `list` is `get job`.

Heavy modules (the Ray client, yaml, http.client/ssl) are imported inside the commands.
"""

from __future__ import annotations

import copy

import click

from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlGroup, examples
from kubectl_ray.cli.job.attach import logs, stop
from kubectl_ray.cli.job.submit import submit


@click.group("job", cls=KubectlGroup, no_args_is_help=True, context_settings=CONTEXT_SETTINGS)
def job() -> None:
    """Submit Ray jobs to new RayJob clusters and follow, stop or list them.

    No local Ray install is needed: the plugin talks to the Ray dashboard's Jobs REST API itself.
    """


def _list_command() -> click.Command:
    """`job list` is `get job` itself (one implementation), under the name `list`."""
    from kubectl_ray.cli.get import get_job

    command = copy.copy(get_job)
    command.name = "list"
    command.short_help = "List RayJobs (same as: kubectl ray get job)"
    command.help = (get_job.help or "").split("\n\n")[0] + "\n\nThe same command as `kubectl ray get job`."
    command.epilog = examples(
        "# RayJobs in the current namespace, then in every namespace",
        "kubectl ray job list",
        "kubectl ray job list -A",
        "",
        "# One RayJob with its end time, submission mode and message",
        "kubectl ray job list my-job -o wide",
    )
    return command


for _command in (submit, logs, stop, _list_command()):
    job.add_command(_command)
