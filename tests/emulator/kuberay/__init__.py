"""KubeRay v1.7.0 played inside the API emulator: the operator's reconcilers, kube-scheduler, the kubelets and
the Job controller, with switchable faults (see player.py).

    from tests.emulator.kuberay import Player
    player = Player(emu).start()        # or Player(emu, mode="instant") for in-process tests
"""

from tests.emulator.kuberay.kubelet import FAULT_KINDS, PodFault
from tests.emulator.kuberay.player import Player, install_kuberay

__all__ = ["FAULT_KINDS", "Player", "PodFault", "install_kuberay"]
