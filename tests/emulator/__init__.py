"""A Kubernetes API server emulator for tests and benchmarks: real HTTP on 127.0.0.1, in-memory state.

    emu = Emulator()
    emu.add({...RayCluster...})
    with EmulatorServer(emu) as server:
        write_kubeconfig(path, kubeconfig(server.url))
        ...  # run kubectl-ray or kubectl against it, then assert on emu.requests / emu.objects(...)
"""

from tests.emulator.runner import EmulatorServer, kubeconfig, write_kubeconfig
from tests.emulator.state import Emulator, Fault, RecordedRequest

__all__ = ["Emulator", "EmulatorServer", "Fault", "RecordedRequest", "kubeconfig", "write_kubeconfig"]
