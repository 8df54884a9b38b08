"""Every KubeRay v1.7.0 sample, applied with the real `kubectl apply` (server-side strict field validation)
to the emulator: accepted, defaulted, reconciled by the KubeRay player without a validation or
reconcile error, and shown by `kubectl get` with the CRD's printer columns.

Documents of kinds the emulator does not serve (Ingress, Gateway, volcano Queues, RayCronJob whose CRD
is not in ../shared/crds, ...) are left out of the apply; the Ray objects of every file are not.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.conftest import shared_path
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.emulator.crds import crd_set
from tests.emulator.kuberay.player import Player

pytestmark = pytest.mark.kubectl

RAY_KINDS = ("RayCluster", "RayJob", "RayService")
# Samples that use alpha features: KubeRay refuses them unless its gate is on (each sample says so).
GATES = {
    "ray-cluster.mtls.yaml": ["RayClusterMTLS"],
    "ray-cluster.historyserver.yaml": ["RayClusterHistoryServer"],
    "ray-cluster.embedded-gcs-ft.yaml": ["GCSFaultToleranceEmbeddedStorage"],
    "ray-cluster.network-policy-deny-all.yaml": ["RayClusterNetworkPolicy"],
}
OPERATOR_WARNINGS = ("InvalidRayClusterSpec", "InvalidRayClusterMetadata", "InvalidRayClusterStatus", "InvalidRayJobSpec",
                     "InvalidRayJobMetadata", "InvalidRayJobStatus", "InvalidRayServiceSpec", "InvalidRayServiceMetadata",
                     "FailedToCreateHeadPod", "FailedToCreateWorkerPod", "FailedToCreateService",
                     "FailedToCreateRayCluster", "FailedToCreateRayJobSubmitter")


def sample_files() -> list[str]:
    folder = shared_path("samples")
    return sorted(p.name for p in folder.glob("*.yaml")
                  if any(isinstance(d, dict) and d.get("kind") in RAY_KINDS + ("RayCronJob",)
                         for d in yaml.safe_load_all(p.read_text())))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Player, dict[str, str]]]:
    """One emulator and KubeRay player for every sample (each in its own namespace), so kubectl's
    discovery cache is filled once."""
    if shutil.which("kubectl") is None:
        pytest.skip("SKIPPED LOUDLY: these tests run the real kubectl; it is not on PATH")
    tmp = tmp_path_factory.mktemp("samples")
    emu = Emulator()
    player = Player(emu, mode="instant", gates=sorted({g for gates in GATES.values() for g in gates}))
    with EmulatorServer(emu) as server:
        path = write_kubeconfig(tmp / "kubeconfig", kubeconfig(server.url))
        yield emu, player.start(), {"KUBECONFIG": path, "KUBECACHEDIR": str(tmp / "kube-cache"),
                                    "PATH": "/usr/bin:/bin", "HOME": str(tmp)}
        player.stop()


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=120)


def test_every_sample_file_is_covered() -> None:
    files = sample_files()
    assert len(files) >= 80, files
    kinds = {d.get("kind") for f in files for d in yaml.safe_load_all(shared_path("samples", f).read_text())
             if isinstance(d, dict)}
    assert set(RAY_KINDS) <= kinds


@pytest.mark.parametrize("name", sample_files() if shared_path("samples").exists() else [])
def test_sample_is_accepted_defaulted_reconciled_and_printed(name: str, served: tuple[Emulator, Player, dict[str, str]],
                                                            tmp_path: Path) -> None:
    emu, player, env = served
    docs = [d for d in yaml.safe_load_all(shared_path("samples", name).read_text()) if isinstance(d, dict)]
    kept = [d for d in docs if emu.registry.by_kind(d.get("apiVersion", ""), d.get("kind", ""))]
    ray = [d for d in kept if d["kind"] in RAY_KINDS]
    if not ray:
        pytest.skip(f"{name} holds only {sorted({d['kind'] for d in docs if d.get('kind') not in RAY_KINDS})} "
                    "(no CRD for them in ../shared/crds)")
    ns = "s-" + hashlib.sha1(name.encode()).hexdigest()[:10]
    emu.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    events_before = {e["metadata"]["uid"] for e in emu.view("events")}
    for selected in {(d["spec"].get("clusterSelector") or {}).get("ray.io/cluster") for d in ray} - {None}:
        existing = yaml.safe_load(shared_path("samples", "ray-cluster.sample.yaml").read_text())  # as the sample says
        existing["metadata"]["name"] = selected
        emu.create("rayclusters", existing, ns)
    manifest = tmp_path / name
    manifest.write_text(yaml.safe_dump_all(kept))

    generated = any(not d["metadata"].get("name") for d in kept)  # `kubectl apply` refuses generateName
    applied = kubectl(env, "create" if generated else "apply", "-n", ns, "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    player.settle(resync=False)  # (each write was settled already; the other samples need no second look)
    assert not player.errors, player.errors
    if generated:
        for doc, obj in zip(ray, _created(emu, ray, ns)):
            doc["metadata"]["name"] = obj["metadata"]["name"]

    warnings = [e for e in emu.view("events", ns) if e.get("reason") in OPERATOR_WARNINGS
                and e["metadata"]["uid"] not in events_before]
    assert not warnings, [(e["reason"], e["message"]) for e in warnings]
    for doc in ray:
        kind, obj_name = doc["kind"], doc["metadata"]["name"]
        stored = emu.get(kind.lower() + "s", ns, obj_name)
        assert stored is not None, (kind, obj_name)
        _assert_defaulted(stored)
        _assert_reconciled(stored)
        _assert_printer_columns(env, kind, obj_name, ns)


def _created(emu: Emulator, docs: list[dict[str, Any]], ns: str) -> list[dict[str, Any]]:
    out = []
    for doc in docs:
        prefix = doc["metadata"].get("name") or doc["metadata"]["generateName"]
        out.append(next(o for o in emu.view(doc["kind"].lower() + "s", ns) if o["metadata"]["name"].startswith(prefix)))
    return out


def _assert_defaulted(stored: dict[str, Any]) -> None:
    groups = ((stored.get("spec") or {}).get("rayClusterSpec") or (stored.get("spec") or {}).get("rayClusterConfig")
              or stored.get("spec") or {}).get("workerGroupSpecs") or []
    for group in groups:
        assert {"minReplicas", "maxReplicas", "numOfHosts", "replicas"} <= set(group), group


def _assert_reconciled(stored: dict[str, Any]) -> None:
    status, kind = stored.get("status") or {}, stored["kind"]
    if kind == "RayCluster":
        assert status.get("state") == "ready", status
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        assert conditions.get("RayClusterProvisioned") == "True" and conditions.get("HeadPodReady") == "True", status
    elif kind == "RayJob":
        if (stored.get("spec") or {}).get("suspend"):  # created suspended (for Kueue to admit)
            assert status.get("jobDeploymentStatus") == "Suspended", status
            return
        assert status.get("jobDeploymentStatus") in ("Running", "Complete", "Waiting"), status
        assert status.get("rayClusterName"), status
    else:
        assert status.get("serviceStatus") == "Running", status


def _assert_printer_columns(env: dict[str, str], kind: str, name: str, ns: str) -> None:
    printed = kubectl(env, "get", kind.lower(), name, "-n", ns, "-o", "wide")
    assert printed.returncode == 0, printed.stderr
    header, row = printed.stdout.splitlines()[:2]
    columns = [c.name.upper() for c in crd_set().kind(kind).columns]
    assert header.split()[0] == "NAME" and all(column in header for column in columns), (header, columns)
    assert row.split()[0] == name
