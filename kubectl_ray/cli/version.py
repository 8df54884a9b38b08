"""`kubectl ray version`: plugin version, KubeRay operator version and a compatibility verdict."""

from __future__ import annotations

import click

from kubectl_ray import __version__
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.env import CommandEnv
from kubectl_ray.printing import print_objects, warn


@click.command("version", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=examples(
    "# Plugin and operator versions, and whether they work together",
    "kubectl ray version",
    "",
    "# Only the plugin version (no cluster needed)",
    "kubectl ray version --client",
    "",
    "# Machine-readable",
    "kubectl ray version -o json",
))
@click.option("--client", "client_only", is_flag=True, help="Print the plugin version only; do not contact the cluster.")
@click.option("-o", "--output", type=click.Choice(["json", "yaml"], case_sensitive=False), help="Output format: json or yaml.")
@kube_command
def version(env: CommandEnv, client_only: bool, output: str | None) -> None:
    """Show the plugin version and the KubeRay operator version, with a compatibility verdict.

    The operator is found from its Deployment (labels app.kubernetes.io/name=kuberay-operator or
    kuberay, in any namespace); without permission to list Deployments, from the
    RAY_USAGE_STATS_EXTRA_TAGS variable the operator sets on head pods.
    """
    report: dict = {"clientVersion": {"plugin": __version__}}
    if not client_only:
        report.update(_server_report(env))
    if output:
        print_objects([report], output.lower())
        return
    click.echo(f"kubectl ray plugin version: {__version__}")
    if client_only:
        return
    operator = report.get("kuberayOperator")
    if operator:
        where = f" ({operator['namespace']}/{operator.get('name', '')})" if operator.get("namespace") else ""
        via = "" if operator["source"] == "deployment" else " (from a head pod's environment)"
        click.echo(f"KubeRay operator version: {operator['version']}{where}{via}")
        for other in report.get("otherOperators", []):
            warn(f"another KubeRay operator runs in {other['namespace']}/{other['name']} with version {other['version']}")
        verdict = report["compatibility"]
        if verdict["level"] == "ok":
            click.echo(f"Compatibility: {verdict['message']}")
        else:
            warn(verdict["message"])
    else:
        problems = "; ".join(report.get("problems") or []) or "no deployment labelled app.kubernetes.io/name=kuberay-operator or kuberay"
        warn(f'KubeRay operator installation cannot be found: {problems}. Did you install it with the name "kuberay-operator"?')


def _server_report(env: CommandEnv) -> dict:
    from kubectl_ray.kube.operator import find_operator
    from kubectl_ray.versions import plugin_compatibility

    lookup = find_operator(env.kube(), env.namespace)
    report: dict = {"problems": lookup.problems}
    install = lookup.primary
    if install is None:
        return report
    report["kuberayOperator"] = {_camel(k): v for k, v in vars(install).items() if v not in (None, []) and k != "args"}
    report["otherOperators"] = [
        {"namespace": i.namespace, "name": i.name, "version": i.version} for i in lookup.installs[1:]
    ]
    verdict = plugin_compatibility(install.version)
    report["compatibility"] = {"level": verdict.level, "message": verdict.message}
    return report


def _camel(name: str) -> str:
    """available_replicas -> availableReplicas: one JSON style, kubectl's, for every key of the report."""
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)
