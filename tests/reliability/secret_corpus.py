"""A corpus of realistic secret placements, seeded into the objects (and pod logs) the API emulator serves.

Every placement holds its own unique marker (`QZ<nnn>K`) inside a value shaped like the real thing
(a JWT, an AWS key pair, a GitHub token, a Basic credential, a password after `--redis-password`...),
so a test can say which placement leaked and where. `seed(world)` edits a tests.debug.world.World
(a healthy RayCluster with pods, Services, operator, CRDs, nodes) and returns the placements with the
objects that must be added next to it (the Secret and ConfigMap the cluster refers to) and the pod logs.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from tests.debug.world import World


@dataclass(frozen=True)
class Placement:
    cls: str  # what kind of secret: env-name, argv, shell, param, annotation, secret-data, message, event, log, url
    where: str  # where it is seeded, for the failure message
    value: str  # the secret as seeded
    marker: str  # a unique part of value: it must appear in no output

    @property
    def collected(self) -> bool:
        """Secret and ConfigMap values are dropped as they arrive: never in a snapshot, by design."""
        return self.cls != "secret-data"


@dataclass
class Seeded:
    placements: list[Placement] = field(default_factory=list)
    extra_objects: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[tuple[str, str], str] = field(default_factory=dict)  # (pod, "container" or "container/previous")


class _Corpus:
    def __init__(self) -> None:
        self.seeded = Seeded()

    def add(self, cls: str, where: str, shape: Callable[[str], str]) -> str:
        marker = f"QZ{len(self.seeded.placements) + 1:03d}K"
        value = shape(marker)
        assert marker in value, (where, value)
        self.seeded.placements.append(Placement(cls, where, value, marker))
        return value


# value shapes (each keeps the marker; lengths and alphabets as the real formats have them)
def password(m: str) -> str:
    return f"Pw-{m}-x9!t"


def jwt(m: str) -> str:
    return f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOi{m}IxMjM0NTY3ODkwIn0.Sf{m}KxwRJSMeKKF2QT4fwpMeJf36"


def aws_key_id(m: str) -> str:
    return "AKIA" + (m + "7EXAMPLEKEYIDS")[:16]


def aws_secret(m: str) -> str:
    return ("wJalrXUtnFEMI/K7MDENG/" + m + "bPxRfiCYEXAMPLEKEYZZZZZZ")[:40]


def github(m: str) -> str:
    return ("ghp_" + m + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5")[:40]


def github_pat(m: str) -> str:
    return "github_pat_11ABCDEFG0" + m + "_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"


def slack(m: str, kind: str = "b") -> str:
    return f"xox{kind}-1234567890-{m}-aBcDeFgHiJkLmNoP"


def openai(m: str) -> str:
    return f"sk-proj-{m}aBcDeFgHiJkLmNoPqRsTuVwXyZ0123"


def anthropic(m: str) -> str:
    return f"sk-ant-api03-{m}aBcDeFgHiJkLmNoPqRsTuVwXyZ-0123"


def huggingface(m: str) -> str:
    return f"hf_{m}aBcDeFgHiJkLmNoPqRsTuVw"


def google_api(m: str) -> str:
    return ("AIzaSyA-" + m + "bcDeFgHiJkLmNoPqRsTuVwXyZ0123456")[:39]


def gitlab(m: str) -> str:
    return f"glpat-{m}aBcDeFgHiJkLmNoPq"


def basic(m: str) -> str:
    return f"YWRtaW46{m}c2VjcmV0cGFzcw=="


def pem(m: str) -> str:
    return f"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC{m}BKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"


def seed(w: World) -> Seeded:
    """Seed every placement into w's objects; returns them, the extra objects and the pod logs."""
    c = _Corpus()
    head_tpl = w.head_container
    head_pod = w.head
    head_name = head_pod["metadata"]["name"]
    worker_tpl = w.worker_container(0)
    ns = w.cluster["metadata"]["namespace"]

    # env entries whose names look secret: CR templates, the running pods, the operator
    def env(container: dict[str, Any], name: str, where: str, shape: Callable[[str], str] = password) -> None:
        container.setdefault("env", []).append({"name": name, "value": c.add("env-name", f"{where} env {name}", shape)})

    for name, shape in (("DB_PASS", password), ("MYSQL_PASSWD", password), ("MYSQL_PWD", password),
                        ("PGPASSWORD", password), ("APP_SECRET", password), ("GITHUB_TOKEN", github),
                        ("OPENAI_API_KEY", openai), ("AWS_SECRET_ACCESS_KEY", aws_secret),
                        ("GCP_CREDENTIALS_JSON", lambda m: json.dumps({"type": "service_account", "private_key": pem(m)})),
                        ("RAY_AUTH", password)):
        env(head_tpl, name, "RayCluster head template", shape)
    for name in ("db_password", "Redis_Pass", "X_AUTH_HEADER", "SMTP_PASSWD", "WANDB_API_KEY"):
        env(worker_tpl, name, "RayCluster worker template")
    head_ray = head_pod["spec"]["containers"][0]
    for name, shape in (("HF_TOKEN", huggingface), ("SLACK_SIGNING_SECRET", password), ("encryptionKey", password),
                        ("JWT_SIGNING_KEY", jwt), ("RAY_REDIS_PASSWORD", password)):
        env(head_ray, name, "head pod", shape)
    env(w.operator_container, "KUBERAY_DB_PASSWORD", "operator Deployment")
    # secret values under harmless names: only their shape gives them away
    for name, shape in (("RAY_REDIS_ADDRESS", lambda m: f"redis://default:{m}pw@redis:6379"),
                        ("GIT_REPO", lambda m: f"https://{github(m)}@github.com/org/repo.git"),
                        ("DATABASE_URL", lambda m: f"postgres://app:{m}pw@db:5432/app"),
                        ("STARTUP_NOTE", lambda m: f"call with Authorization: Bearer {jwt(m)}")):
        head_tpl["env"].append({"name": name, "value": c.add("url", f"RayCluster head template env {name}", shape)})
    head_tpl["env"].append({"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "password"}}})
    head_tpl.setdefault("envFrom", []).append({"configMapRef": {"name": "app-config"}})
    head_template_spec = w.cluster["spec"]["headGroupSpec"]["template"]["spec"]
    head_template_spec.setdefault("volumes", []).append({"name": "app-config", "configMap": {"name": "app-config"}})

    # command lines as lists: a sidecar on the head template and on the head pod
    def sidecar(name: str, where: str) -> dict[str, Any]:
        return {"name": name, "image": "busybox:1.36", "command": ["/bin/app"], "args": []}

    tpl_sidecar, pod_sidecar = sidecar("helper", "template"), sidecar("helper", "pod")
    for flag, shape in (("--redis-password", password), ("--token", jwt), ("--api-key", openai), ("--password", password),
                        ("--auth-token", password), ("--secret-key", aws_secret)):
        tpl_sidecar["args"] += [flag, c.add("argv", f"head template sidecar args {flag} X", shape)]
    tpl_sidecar["args"] += ["--redis-password=" + c.add("argv", "head template sidecar args --redis-password=X", password),
                            "--db-passwd=" + c.add("argv", "head template sidecar args --db-passwd=X", password)]
    pod_sidecar["command"] = ["mysql", "-h", "db", "-uroot", "-p" + c.add("argv", "head pod sidecar mysql -pX", password), "app"]
    pod_sidecar["args"] = ["redis-cli", "-h", "redis", "-a", c.add("argv", "head pod sidecar redis-cli -a X", password), "ping"]
    worker_init = {"name": "fetch", "image": "curlimages/curl:8.5.0",
                   "command": ["curl", "-sf", "-u", "admin:" + c.add("argv", "worker template init curl -u user:X", password),
                               "https://artifacts.example.com/model.tar"]}
    w.group(0)["template"]["spec"].setdefault("initContainers", []).append(worker_init)
    shells = (
        lambda m: f"ray start --head --redis-password {password(m)} --block",
        lambda m: f"mysql -h db -uroot -p{password(m)} app < /init.sql",
        lambda m: f"curl -sf -u admin:{password(m)} https://artifacts.example.com/x",
        lambda m: f"curl -H 'Authorization: Bearer {jwt(m)}' https://api.example.com",
        lambda m: f"export DB_PASS={password(m)} && exec app",
        lambda m: f"redis-cli -a {password(m)} ping",
        lambda m: f"psql postgresql://app:{password(m)}@db:5432/app -c 'select 1'",
        lambda m: f"git clone https://{github(m)}@github.com/org/repo.git /src",
        lambda m: f"aws configure set aws_secret_access_key {aws_secret(m)}",
        lambda m: f"python train.py --hf-token={huggingface(m)}",
    )
    scripts = [c.add("shell", f"head template sidecar shell #{i}", shape) for i, shape in enumerate(shells)]
    tpl_sidecar["command"] = ["/bin/sh", "-c", "; ".join(scripts[:5])]
    pod_sidecar_2 = {"name": "setup", "image": "busybox:1.36", "command": ["/bin/sh", "-c", "\n".join(scripts[5:])]}
    head_template_spec["containers"].append(tpl_sidecar)
    head_pod["spec"]["containers"] += [pod_sidecar, pod_sidecar_2]

    # rayStartParams and the GCS FT password
    w.spec["headGroupSpec"].setdefault("rayStartParams", {})["redis-password"] = c.add("param", "headGroupSpec.rayStartParams.redis-password", password)
    w.group(0).setdefault("rayStartParams", {})["redis-password"] = c.add("param", "workerGroupSpecs[0].rayStartParams.redis-password", password)
    w.spec.setdefault("gcsFaultToleranceOptions", {"redisAddress": "redis:6379"})["redisPassword"] = {
        "value": c.add("param", "gcsFaultToleranceOptions.redisPassword.value", password)}

    # annotations, including kubectl's last-applied-configuration
    cluster_ann = w.cluster["metadata"].setdefault("annotations", {})
    cluster_ann["example.com/api-token"] = c.add("annotation", "RayCluster annotation example.com/api-token", password)
    cluster_ann["example.com/note"] = "Authorization: Basic " + c.add("annotation", "RayCluster annotation with a Basic credential", basic)
    head_pod["metadata"].setdefault("annotations", {})["vault.example.com/secret"] = c.add("annotation", "head pod annotation vault.example.com/secret", password)
    w.head_service["metadata"].setdefault("annotations", {})["cloud.example.com/auth-key"] = c.add("annotation", "head Service annotation auth-key", password)
    last_applied = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": w.cluster["metadata"]["name"]},
                    "spec": {"headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [{
                        "name": "ray-head", "image": "rayproject/ray:2.46.0",
                        "env": [{"name": "DB_PASSWORD", "value": c.add("annotation", "last-applied env DB_PASSWORD", password)}],
                        "args": ["--redis-password", c.add("annotation", "last-applied args --redis-password X", password)]}]}}}}}
    cluster_ann["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(last_applied)
    w.head_service["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(
        {"metadata": {"annotations": {"note": f"redis://:{c.add('annotation', 'Service last-applied URL password', password)}@redis"}}})

    # the Secret and ConfigMap the cluster refers to: read by name for their keys, values never kept
    secret_b64 = base64.b64encode(b"x").decode()[:2] + c.add("secret-data", "Secret app-secret data.password", lambda m: f"cGFz{m}c3dvcmQ=")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secret", "namespace": ns}, "type": "Opaque",
              "data": {"password": secret_b64},
              "stringData": {"token": c.add("secret-data", "Secret app-secret stringData.token", jwt)}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": ns},
              "data": {"DB_URL": c.add("secret-data", "ConfigMap app-config DB_URL", lambda m: f"postgres://u:{m}pw@h/db"),
                       "application.properties": c.add("secret-data", "ConfigMap app-config properties",
                                                       lambda m: f"spring.datasource.password={password(m)}\n")},
              "binaryData": {"key.bin": c.add("secret-data", "ConfigMap app-config binaryData", lambda m: f"AAEC{m}AwQ=")}}
    c.seeded.extra_objects += [secret, config]

    # status and container messages: the head crashes and says why
    w.crash(head_pod, message="redis auth failed: password=" + c.add("message", "head lastState.terminated.message password=X", password))
    w.status(head_pod)["state"]["waiting"]["message"] = "Authorization: Basic " + c.add("message", "head waiting message Authorization: Basic", basic)
    w.cluster.setdefault("status", {})["reason"] = "cannot connect to redis://:" + c.add("message", "RayCluster status.reason URL password", password) + "@redis:6379"
    for cond in head_pod["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond["message"] = "probe sent token " + c.add("message", "head Ready condition message: token <JWT>", jwt)

    # events about the cluster, the head and its Service (rules quote Warning events)
    event_texts = (
        lambda m: f"Readiness probe failed: Get http://user:{password(m)}@10.0.0.1:8265/api/gcs_healthz",
        lambda m: f"AUTH_HEADER: Basic {basic(m)}",
        lambda m: f"curl -u admin:{password(m)} failed with exit code 22",
        lambda m: f"mysql -uroot -p{password(m)}: access denied",
        github, github_pat, slack, openai, huggingface, google_api,
        lambda m: f"access key {aws_key_id(m)} rejected",
        lambda m: f"AWS signature mismatch for secret {aws_secret(m)}",
        jwt,
        lambda m: f'Authorization: Digest username="ray", realm="r", nonce="n", response="{m}6629fae49393a0539745"',
        lambda m: f"Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/s3/aws4_request, "
                  f"SignedHeaders=host, Signature={m}fe5f80f77d5fa3beca038a248ff027",
        lambda m: "service account: " + json.dumps({"type": "service_account", "private_key_id": "abc",
                                                     "private_key": pem(m)}),
        lambda m: f"password: {password(m)}",
        lambda m: json.dumps({"token": password(m)}),
        lambda m: f"redis-cli -a {password(m)} ping: NOAUTH",
        lambda m: f"connecting with password {password(m)}",
        lambda m: f"fetch https://{password(m)}@registry.example.com/v2/ failed",
        lambda m: f"GET https://bucket.s3.amazonaws.com/x?X-Amz-Credential=AKIA/x&X-Amz-Signature={m}abcdef0123 403",
        gitlab,
    )
    involved = [w.cluster, head_pod, w.head_service, w.worker]
    for i, shape in enumerate(event_texts):
        obj = involved[i % len(involved)]
        text = c.add("event", f"event #{i} on {obj['kind']}", shape)
        w.event(obj, "Unhealthy" if obj["kind"] == "Pod" else "Failed", text, minutes=30 - i)

    # log tails of the head's Ray container (this run and the one that crashed)
    log_lines = (
        lambda m: f"export REDIS_PASSWORD={password(m)}", lambda m: f"password={password(m)}",
        lambda m: f"Authorization: Bearer {jwt(m)}", lambda m: f"using token {jwt(m)}",
        lambda m: f"aws_secret_access_key = {aws_secret(m)}",
        lambda m: pem(m).replace("PRIVATE KEY", "RSA PRIVATE KEY"),
        lambda m: f"ray start --redis-password {password(m)}", lambda m: f"curl -u a:{password(m)} http://x",
        lambda m: f"mysql -p{password(m)} -e 'show tables'", anthropic, lambda m: slack(m, "p"), huggingface, github,
        lambda m: f"redis://default:{password(m)}@redis:6379", lambda m: f"https://{openai(m)}@api.example.com",
        lambda m: f"AUTH_HEADER: Basic {basic(m)}",
        lambda m: json.dumps({"private_key": pem(m)}), lambda m: f"MYSQL_PWD={password(m)}",
        lambda m: f"apiKey: {password(m)}", lambda m: f"DB_PASS={password(m)} started",
    )
    ray_head = head_pod["spec"]["containers"][0]["name"]
    current, previous = [], []
    for i, shape in enumerate(log_lines):
        (current if i % 2 else previous).append(c.add("log", f"head log line #{i}", shape))
    c.seeded.logs[(head_name, ray_head)] = "\n".join(current) + "\n"
    c.seeded.logs[(head_name, f"{ray_head}/previous")] = "\n".join(previous) + "\n"
    return c.seeded
