"""Run the emulator on its own event loop in a thread (for sync tests) and write kubeconfigs for it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import yaml
from aiohttp import web

from tests.emulator.server import EmulatorApp
from tests.emulator.state import Emulator


class EmulatorServer:
    """`with EmulatorServer(emu) as server: server.url` serves emu on 127.0.0.1 (HTTPS with ssl_context)."""

    def __init__(self, emu: Emulator, *, ssl_context: Any = None, port: int = 0) -> None:
        self.emu = emu
        self.ssl_context = ssl_context
        self.port = port
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self) -> "EmulatorServer":
        self._thread = threading.Thread(target=self._run, name="k8s-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the emulator did not start within 10 s")
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop and self._stop and self._thread and self._thread.is_alive():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the loop already finished (a `shutdown` fault stopped it)
                pass
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.emu.shutdown_hook = self._stop.set  # a `shutdown` fault stops serving from inside a request
        runner = web.AppRunner(EmulatorApp(self.emu).app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=self.ssl_context, backlog=256)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        port = sockets[0].getsockname()[1]
        self.url = f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await site.stop()  # refuse new connections at once, then finish what is in flight
            await runner.cleanup()


def kubeconfig(server: str, *, namespace: str | None = "default", token: str | None = "test-token",
               contexts: dict[str, dict[str, Any]] | None = None, current: str = "emulator",
               cluster_extra: dict[str, Any] | None = None, user: dict[str, Any] | None = None) -> dict[str, Any]:
    """A kubeconfig document for the emulator; `contexts` adds more contexts (name -> context fields)."""
    ctx = {"cluster": "emulator", "user": "emulator"}
    if namespace:
        ctx["namespace"] = namespace
    all_contexts = [{"name": "emulator", "context": ctx}]
    for name, fields in (contexts or {}).items():
        all_contexts.append({"name": name, "context": {"cluster": "emulator", "user": "emulator", **fields}})
    cluster = {"server": server, **(cluster_extra or {})}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": cluster}],
        "users": [{"name": "emulator", "user": user if user is not None else ({"token": token} if token else {})}],
        "contexts": all_contexts,
        "current-context": current,
    }


def write_kubeconfig(path: Any, doc: dict[str, Any]) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    return str(path)
