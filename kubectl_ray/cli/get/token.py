"""`get token`: the auth token of a token-authenticated RayCluster, raw, for scripts."""

from __future__ import annotations

from typing import Any

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import require_name
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError


AUTH_TOKEN_KEY = "auth_token"


@click.command("token", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Print the auth token of a Ray cluster", epilog=examples(
    "# The auth token of a token-authenticated Ray cluster (printed without a newline)",
    "kubectl ray get token my-cluster",
    "",
    "# Use it against the dashboard",
    "curl -H \"Authorization: Bearer $(kubectl ray get token my-cluster)\" http://localhost:8265/api/version",
))
@click.argument("cluster_name", metavar="(NAME | raycluster/NAME)", shell_complete=names.ray_clusters())
@kube_command
def get_token(env: CommandEnv, cluster_name: str) -> None:
    """Print the auth token of a RayCluster with spec.authOptions.mode=token.

    The token is read from the Secret spec.authOptions.secretName names (KubeRay >= 1.6), else from
    the Secret named after the cluster, key auth_token. It goes to stdout only, without a newline.
    """
    from kubectl_ray.kube.errors import ApiError
    from kubectl_ray.kube.resources import SECRETS
    from kubectl_ray.kube.targets import get_object
    from kubectl_ray.parsing import parse_resource_ref
    from kubectl_ray.shapes import mapping, text

    require_name("Ray cluster", cluster_name)
    ref = parse_resource_ref(cluster_name, allowed=("raycluster",))
    kube, ns = env.kube(), env.namespace
    cluster = get_object(kube, ref, ns)
    cluster_name = ref.name
    auth = mapping(cluster, "spec", "authOptions")
    if auth.get("mode") != "token":
        raise KubectlRayError(f"RayCluster {ns}/{cluster_name} was not configured to use authentication tokens")
    secret_name = text(auth, "secretName") or cluster_name
    try:
        secret = kube.get(SECRETS, secret_name, ns)
    except ApiError as exc:
        raise KubectlRayError(f"failed to get secret {ns}/{secret_name}: {exc.detail()}") from None
    token = _decode_token(secret, f"{ns}/{secret_name}")
    out = env.out
    buffer = getattr(out, "buffer", None)
    if buffer is not None:  # raw bytes: a token is printed exactly as stored
        out.flush()
        buffer.write(token)
        buffer.flush()
    else:
        out.write(token.decode("utf-8", "replace"))
        out.flush()


def _decode_token(secret: dict[str, Any], where: str) -> bytes:
    """The secret's auth_token; error messages never contain any of its bytes."""
    import base64
    import binascii

    from kubectl_ray.shapes import mapping

    data = mapping(secret, "data")
    if AUTH_TOKEN_KEY not in data:
        raise KubectlRayError(f"secret {where} does not have an {AUTH_TOKEN_KEY}")
    try:
        return base64.b64decode(str(data[AUTH_TOKEN_KEY]), validate=True)
    except (binascii.Error, ValueError):
        raise KubectlRayError(f"secret {where} has an {AUTH_TOKEN_KEY} that is not valid base64") from None
