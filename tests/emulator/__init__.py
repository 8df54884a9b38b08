"""A Kubernetes API server emulator for tests and benchmarks: real HTTP on 127.0.0.1, in-memory state.

    emu = Emulator()                       # Ray kinds pruned, defaulted and validated with the v1.7.0 CRDs
    emu.add({...RayCluster...})            # seed a state (storage level: no validation, no controllers)
    with EmulatorServer(emu) as server:
        write_kubeconfig(path, kubeconfig(server.url))
        ...  # run kubectl-ray or kubectl against it, then assert on emu.requests / emu.objects(...)

KubeRay itself (operator, scheduler, kubelets) is played by tests.emulator.kuberay.Player;
`python -m tests.emulator demo` serves all of it for trying the plugin by hand.
"""

from tests.emulator.runner import EmulatorServer, kubeconfig, write_kubeconfig
from tests.emulator.state import Emulator, Fault, RecordedRequest

__all__ = ["Emulator", "EmulatorServer", "Fault", "RecordedRequest", "kubeconfig", "write_kubeconfig"]
