"""`kubectl ray job submit`: the command and its flags; Complete + Validate in submit_options.py, Run in
submit_run.py."""

from __future__ import annotations

from typing import Any

import click

from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.dryrun import CLIENT, NONE, dry_run_option, dry_run_suffix
from kubectl_ray.cli.grammar import INT32, INT64
from kubectl_ray.cli.job.flags import cluster_flags, dashboard_flags
from kubectl_ray.cli.job.submit_options import DEFAULT_CLUSTER_TIMEOUT, SUBMIT_USAGE, complete_submit
from kubectl_ray.cli.job.submit_run import run_submit
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import UsageError
from kubectl_ray.printing import info

ENTRYPOINT_KEY = "kubectl_ray.job.entrypoint"


def _unsupported_ray_cli_flag(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Upstream passes --log-style/--log-color to a local `ray job submit`, to style that CLI's own
    messages. kubectl-ray talks to the dashboard itself, so there is nothing for them to style."""
    if value is not None:
        raise UsageError(f"{param.opts[0]} is not supported: upstream passed it to a local `ray job submit` to style "
                         "that CLI's messages; kubectl-ray needs no local Ray and prints plain text, so remove it")


class SubmitCommand(KubectlCommand):
    """Everything after the first `--` is the entrypoint, kept word for word (click never sees it)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta[ENTRYPOINT_KEY] = list(args[cut + 1:])
            args = args[:cut]
        else:
            ctx.meta[ENTRYPOINT_KEY] = None
        return super().parse_args(ctx, args)


# --- submit: options -------------------------------------------------------------------------------


@click.command("submit", cls=SubmitCommand, context_settings=CONTEXT_SETTINGS,
             short_help="Create a RayJob cluster and run a Ray job on it",
             epilog=examples(
    "# Run a script from the current directory on a new cluster, following its logs",
    "kubectl ray job submit --name my-job --working-dir . -- python my_script.py --epochs 3",
    "",
    "# Quotes and ';' reach Ray exactly as typed",
    "kubectl ray job submit --name hello -- python -c 'import ray; ray.init(); print(\"hi\")'",
    "",
    "# Your own RayJob manifest (submissionMode: InteractiveMode), a runtime env file, no log streaming",
    "kubectl ray job submit -f rayjob.yaml --runtime-env runtime-env.yaml --no-wait -- python train.py",
    "",
    "# A GPU cluster that deletes itself 60 s after the job ends",
    "kubectl ray job submit --name gpu-job --worker-gpu 1 --worker-runtime-class-name nvidia \\",
    "    --worker-tolerations nvidia.com/gpu:NoSchedule --ttl-seconds-after-finished 60 -- python gpu.py",
    "",
    "# Through an ingress instead of a port-forward; print the RayJob without creating it",
    "kubectl ray job submit --name my-job --address https://ray.example.com --dry-run -- python x.py",
))
@click.argument("stray", nargs=-1, required=False, metavar="-- ENTRYPOINT...")
@click.option("-f", "--filename", default=None, metavar="RAYJOB_YAML",
              help="RayJob manifest to create (must be submissionMode: InteractiveMode).")
@click.option("--name", default=None, help="Name of the generated RayJob (required without -f; overrides the file's).")
@click.option("--submission-id", default=None, help="Ray submission id. [default: raysubmit_ + 16 random characters]")
@click.option("--working-dir", default=None, metavar="DIR",
              help="Local directory (zipped and uploaded unless already on the cluster) or remote URI for the job.")
@click.option("--runtime-env", "runtime_env_file", default=None, metavar="FILE", help="Runtime environment YAML file.")
@click.option("--runtime-env-json", default=None, metavar="JSON", help="Runtime environment as a JSON object.")
@click.option("--metadata-json", default=None, metavar="JSON", help="Job metadata as a JSON object of strings.")
@click.option("--entrypoint-num-cpus", type=float, default=None, help="CPUs reserved for the entrypoint command.")
@click.option("--entrypoint-num-gpus", type=float, default=None, help="GPUs reserved for the entrypoint command.")
@click.option("--entrypoint-memory", type=INT64, default=None, help="Memory (bytes) reserved for the entrypoint command.")
@click.option("--entrypoint-resources", default=None, metavar="JSON",
              help="Custom resources reserved for the entrypoint command, as a JSON object.")
@dashboard_flags
@click.option("--no-wait", is_flag=True, help="Return once the job is submitted; do not stream its logs.")
@click.option("--cluster-timeout", default=DEFAULT_CLUSTER_TIMEOUT, show_default=True, metavar="DURATION",
              help="How long to wait for the RayCluster to be ready (e.g. 90s, 15m).")
@click.option("--keep", is_flag=True, help="Keep the RayJob when the command fails or is interrupted before the job runs.")
@click.option("--ttl-seconds-after-finished", "ttl", type=INT32, default=None,
              help="Delete the cluster this many seconds after the job ends (sets shutdownAfterJobFinishes).")
@cluster_flags
@dry_run_option("client: print the RayJob (YAML) and create nothing; server: send it with dryRun=All and print "
                "what the API server would store (no cluster, no Ray job); none: run the job.")
@click.option("-v", "--verbose", is_flag=True, help="Also print the port-forward command and the dashboard URL.")
@click.option("--log-style", default=None, hidden=True, expose_value=False, callback=_unsupported_ray_cli_flag)
@click.option("--log-color", default=None, hidden=True, expose_value=False, callback=_unsupported_ray_cli_flag)
@kube_command
def submit(env: CommandEnv, stray: tuple[str, ...], **flags: Any) -> None:
    """Create a RayJob, wait for its RayCluster, submit ENTRYPOINT to Ray and stream the logs.

    The words after `--` are the entrypoint, passed to Ray exactly (shell-quoted). The RayJob is
    generated from the flags (--name, image and resource flags) or read with -f; it always runs
    in InteractiveMode with spec.jobId set to the submission id. The job's logs go to stdout,
    progress to stderr. Exit status: 0 when the job SUCCEEDED or was STOPPED, 1 when it FAILED or
    anything went wrong, 130 on Ctrl-C.

    Ctrl-C while waiting for the cluster deletes the RayJob (unless --keep); Ctrl-C while the
    logs stream only stops streaming: the job keeps running.
    """
    ctx = click.get_current_context()
    words = ctx.meta.get(ENTRYPOINT_KEY)
    if stray:
        raise UsageError(f"unexpected argument(s) before --: {' '.join(stray)}; usage: {SUBMIT_USAGE}")
    opts = complete_submit(env, flags, words)
    for note in opts.notes:
        info(note)
    if opts.dry_run != NONE:
        _print_dry_run(env, opts)
        return
    run_submit(env, opts)


def _print_dry_run(env: CommandEnv, opts: Any) -> None:
    """client: the RayJob as it would be sent; server: as the API server would store it."""
    from kubectl_ray.kube.resources import RAYJOBS
    from kubectl_ray.printing import to_yaml

    rayjob = opts.rayjob if opts.dry_run == CLIENT else env.kube().create(RAYJOBS, opts.rayjob, opts.namespace,
                                                                           dry_run=True)
    click.echo(to_yaml(rayjob), nl=False)
    info(f"rayjob.ray.io/{opts.name} created{dry_run_suffix(opts.dry_run)}")
