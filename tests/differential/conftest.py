"""One set of recording servers per module, certificates, the exec plugin, and `run_both`."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import trustme

from tests.conftest import run_cli
from tests.differential.harness import (Case, Observation, Run, fill, find_kubectl, mount_namespace_works,
                                        namespaced, observe, ours_argv, run_process, write_doc)
from tests.differential.servers import ApiServer, HttpProxy, Recorder, Socks5Proxy

KUBECTL = find_kubectl()
NAMESPACES = mount_namespace_works()
TEST_NAMES = ("api.test", "direct.test", "svc.corp.test", "other.test")
EXEC_PLUGIN = """#!/bin/sh
printf '%s\\n' "$KUBERNETES_EXEC_INFO" >> "$EXEC_RECORD"
[ -n "$EXEC_EXIT" ] && exit "$EXEC_EXIT"
cat "$EXEC_REPLY"
"""
# every variable either tool reads, so a case's environment is complete and nothing leaks in
ENV_VARS = ("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
            "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE", "KUBERNETES_MASTER",
            "REQUEST_METHOD", "KUBECTL_RAY_SERVICE_ACCOUNT_DIR")


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


IPV6 = _ipv6_available()


@dataclass
class Lab:
    root: Path
    recorder: Recorder
    values: dict[str, str]
    servers: dict[str, Any]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not KUBECTL:
        pytest.skip("SKIPPED LOUDLY: the differential suite needs the real kubectl binary on PATH", allow_module_level=True)
    root = tmp_path_factory.mktemp("differential")
    ca, wrong_ca = trustme.CA(), trustme.CA()
    recorder = Recorder()
    main_ctx = _server_context(ca, ca.issue_cert("127.0.0.1", "::1", "localhost", "api.test", "direct.test",
                                                  "svc.corp.test"))
    other_ctx = _server_context(ca, ca.issue_cert("other.test"))
    servers: dict[str, Any] = {
        "main": ApiServer("main", recorder, main_ctx),
        "other": ApiServer("other", recorder, other_ctx),
        "plain": ApiServer("plain", recorder, None),
    }
    if IPV6:
        servers["v6"] = ApiServer("v6", recorder, main_ctx, host="::1")
    v6_port = servers["v6"].port if IPV6 else -1

    def resolve(_host: str, port: int) -> tuple[str, int]:
        return ("::1", port) if port == v6_port else ("127.0.0.1", port)

    servers["http_proxy"] = HttpProxy(recorder, resolve)
    servers["socks"] = Socks5Proxy(recorder, resolve)
    values = _files(root, ca, wrong_ca)
    values.update({name: server.url for name, server in servers.items() if isinstance(server, ApiServer)})
    values.update({f"{name}_port": str(server.port) for name, server in servers.items()})
    values["http_proxy"] = f"http://127.0.0.1:{servers['http_proxy'].port}"
    values["socks"] = f"socks5://127.0.0.1:{servers['socks'].port}"
    (root / "hosts").write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n"
                                + "".join(f"127.0.0.1 {name}\n" for name in TEST_NAMES))
    try:
        yield Lab(root, recorder, values, servers)
    finally:
        for server in servers.values():
            server.stop()


def _server_context(ca: trustme.CA, cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate authenticates when presented
    return ctx


def _files(root: Path, ca: trustme.CA, wrong_ca: trustme.CA) -> dict[str, str]:
    alice = ca.issue_cert("alice@example.com", common_name="alice")
    files = {"ca_file": ca.cert_pem.bytes(), "wrong_ca_file": wrong_ca.cert_pem.bytes(),
             "alice_cert_file": alice.cert_chain_pems[0].bytes(), "alice_key_file": alice.private_key_pem.bytes()}
    values = {}
    for name, data in files.items():
        path = root / name.replace("_file", ".pem")
        path.write_bytes(data)
        values[name] = str(path)
    values["ca_data"] = base64.b64encode(ca.cert_pem.bytes()).decode()
    values["ca_data_wrapped"] = "\n".join(values["ca_data"][i:i + 64] for i in range(0, len(values["ca_data"]), 64))
    values["ca_file_text"] = ca.cert_pem.bytes().decode()
    values["wrong_ca_data"] = base64.b64encode(wrong_ca.cert_pem.bytes()).decode()
    values["alice_cert_data"] = base64.b64encode(files["alice_cert_file"]).decode()
    values["alice_key_data"] = base64.b64encode(files["alice_key_file"]).decode()
    values["alice_cert_pem"] = files["alice_cert_file"].decode()
    values["alice_key_pem"] = files["alice_key_file"].decode()
    plugin = root / "exec-plugin"
    plugin.write_text(EXEC_PLUGIN)
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    values["exec"] = str(plugin)
    return values


def prepare(lab: Lab, case: Case) -> tuple[Path, dict[str, str], list[str], Path | None]:
    """Write the case's files; return its folder, environment, flags and service-account folder."""
    folder = lab.root / case.id
    home = folder / "home"
    (home / ".kube").mkdir(parents=True, exist_ok=True)
    values = dict(lab.values, dir=str(folder), home=str(home))
    flags = list(fill(case.flags, values))
    env = {"HOME": str(home)}
    env.update(fill(case.env, values))
    if case.kubeconfig is not None:
        flags = [f"--kubeconfig={write_doc(folder / 'config', fill(case.kubeconfig, values))}", *flags]
    if case.kubeconfig_env:
        paths = []
        for index, doc in enumerate(case.kubeconfig_env):
            path = folder / f"config-{index}"
            if doc is not None:
                write_doc(path, fill(doc, values))
            paths.append(str(path))
        env.setdefault("KUBECONFIG", os.pathsep.join(paths))
    if case.home_config is not None:
        write_doc(home / ".kube" / "config", fill(case.home_config, values))
    for name, content in fill(case.files, values).items():
        (folder / name).write_text(content)
    (folder / "exec-reply.json").write_text(json.dumps(fill(case.exec_reply, values) or {}))
    service_account = None
    if case.service_account is not None:
        service_account = folder / "serviceaccount"
        service_account.mkdir(exist_ok=True)
        for name, content in fill(case.service_account, values).items():
            (service_account / name).write_text(content)
    return folder, env, flags, service_account


def run_kubectl(lab: Lab, case: Case) -> tuple[Run, Observation]:
    folder, env, flags, service_account = prepare(lab, case)
    cache = folder / f"kube-cache-{os.getpid()}"
    argv = [KUBECTL, "get", "rayclusters", *flags]
    full_env = {"PATH": os.environ["PATH"], "KUBECACHEDIR": str(cache), **env}
    if service_account or case.hosts:
        argv = namespaced(argv, service_account=str(service_account) if service_account else None,
                          hosts=str(lab.root / "hosts") if case.hosts else None)
    lab.recorder.clear()
    run = run_process(argv, full_env, folder)
    return run, observe(lab.recorder, run.exit_code, run.stderr, folder / "exec-record")


def run_ours(lab: Lab, case: Case) -> tuple[Run, Observation]:
    folder, env, flags, service_account = prepare(lab, case)
    env["KUBECTL_RAY_SERVICE_ACCOUNT_DIR"] = str(service_account or folder / "no-service-account")
    lab.recorder.clear()
    if case.hosts:  # a private /etc/hosts needs a process of its own
        argv = namespaced([*ours_argv(), "get", "cluster", *flags], service_account=None, hosts=str(lab.root / "hosts"))
        run = run_process(argv, {"PATH": os.environ["PATH"], **env}, folder)
    else:
        full_env: dict[str, str | None] = {name: None for name in ENV_VARS}
        full_env.update(env)
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            result = run_cli("get", "cluster", *flags, env=full_env)
        finally:
            os.chdir(cwd)
        run = Run(result.exit_code, result.stdout, result.stderr)
    return run, observe(lab.recorder, run.exit_code, run.stderr, folder / "exec-record")
