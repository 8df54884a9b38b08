"""The emulator playing KubeRay for `kubectl ray job` tests: the KubeRay player in instant mode.

    play_kuberay(emu)               # RayJobs get a cluster that is ready before the create returns
    play_kuberay(emu, ready=False)  # the head pod never passes its readiness probe

Instant mode settles every write before it is answered, so an in-process CLI run sees the final
state of each step (no timing in the tests). RayJob clusters are named `<job>-x7k2p`
(cluster_name_for) instead of KubeRay's 5 random characters, so tests can name them. The Ray side
is simulated unless `ray_dashboard` points at a real head.
"""

from __future__ import annotations

from tests.emulator import Emulator
from tests.emulator.kuberay.player import Player

CLUSTER_SUFFIX = "x7k2p"


def cluster_name_for(job_name: str) -> str:
    return f"{job_name}-{CLUSTER_SUFFIX}"


def play_kuberay(emu: Emulator, *, ready: bool = True, ray_dashboard: str | None = None) -> Player:
    player = Player(emu, mode="instant", cluster_suffix=lambda owner: CLUSTER_SUFFIX, ray_dashboard=ray_dashboard)
    if not ready:
        player.fault("NotReady", node_type="head")
    return player.start()
