"""The Kubernetes layer against the emulator, through both transports: CRUD, paging, watch, errors, TLS, auth."""

from __future__ import annotations

import base64
import socket
import ssl
import stat
import sys

import pytest
import trustme

from kubectl_ray.kube import connect
from kubectl_ray.kube.errors import ApiError, ConnectionFailed, CRDsMissing
from kubectl_ray.kube.flags import ConnectionFlags
from kubectl_ray.kube.resources import DEPLOYMENTS, PODS, RAYCLUSTERS
from tests.conftest import ray_cluster
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig


@pytest.fixture(params=["native", "kubernetes"])
def transport(request, monkeypatch):
    monkeypatch.setenv("KUBECTL_RAY_TRANSPORT", request.param)
    return request.param


def client_for(handle, **flags):
    return connect(ConnectionFlags(kubeconfig=handle.kubeconfig, **flags))


def test_crud_pagination_and_conflicts(emulator, transport):
    emu = emulator.emu
    emu.max_page_size = 2
    for i in range(5):
        emu.add(ray_cluster(f"c{i}"))
    kube = client_for(emulator)
    emu.clear_requests()
    names = [c["metadata"]["name"] for c in kube.list(RAYCLUSTERS)]
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    pages = emu.requests_where(verb="list")
    assert len(pages) == 3 and all(r.q("limit") == "500" for r in pages)
    created = kube.create(RAYCLUSTERS, ray_cluster("new"))
    assert created["metadata"]["generation"] == 1
    current = kube.get(RAYCLUSTERS, "new")
    emu.update_status("rayclusters", "default", "new", {"state": "ready"})  # someone else wrote
    current["spec"]["workerGroupSpecs"][0]["replicas"] = 2
    with pytest.raises(ApiError) as exc:
        kube.replace(RAYCLUSTERS, current)
    assert exc.value.status == 409
    assert exc.value.render() == ('Error from server (Conflict): Operation cannot be fulfilled on rayclusters.ray.io "new": '
                                  "the object has been modified; please apply your changes to the latest version and try again")
    assert kube.get_or_none(RAYCLUSTERS, "missing") is None
    kube.delete(RAYCLUSTERS, "new")
    assert emu.get("rayclusters", "default", "new") is None


def test_watch_yields_changes_until_server_timeout(emulator, transport):
    emulator.emu.add(ray_cluster("w"))
    kube = client_for(emulator)
    seen = []
    for event in kube.watch(RAYCLUSTERS, name="w", timeout_seconds=1):
        seen.append(event["type"])
        if len(seen) == 1:
            emulator.emu.update_status("rayclusters", "default", "w", {"state": "ready"})
    assert seen == ["ADDED", "MODIFIED"]


def test_list_items_get_kind_and_api_version(emulator, transport):
    emulator.emu.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}})
    (pod,) = client_for(emulator).list(PODS)
    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")


@pytest.mark.parametrize("setup, call, expected", [
    (lambda emu: setattr(emu, "tokens", {"other": "x"}), lambda k: k.list(RAYCLUSTERS),
     "error: You must be logged in to the server (Unauthorized)"),
    (lambda emu: emu.forbid("list", "rayclusters", "default"), lambda k: k.list(RAYCLUSTERS),
     'Error from server (Forbidden): rayclusters.ray.io is forbidden: User "admin" cannot list resource "rayclusters" '
     'in API group "ray.io" in the namespace "default"'),
    (lambda emu: None, lambda k: k.get(RAYCLUSTERS, "ghost"),
     'Error from server (NotFound): rayclusters.ray.io "ghost" not found'),
    (lambda emu: emu.registry.remove_group("ray.io"), lambda k: k.list(RAYCLUSTERS),
     "error: KubeRay CRDs are not installed in this cluster: the server has no ray.io/v1 API"),
    (lambda emu: emu.registry.remove("rayservices", "ray.io"), lambda k: k.get(__import__("kubectl_ray.kube.resources", fromlist=["x"]).RAYSERVICES, "s"),
     'error: KubeRay CRDs are not installed in this cluster: the server doesn\'t have a resource type "rayservices"'),
    (lambda emu: emu.add(ray_cluster("dup")), lambda k: k.create(RAYCLUSTERS, ray_cluster("dup")),
     'Error from server (AlreadyExists): rayclusters.ray.io "dup" already exists'),
    (lambda emu: setattr(emu, "validator", lambda res, obj: [{"field": "spec.workerGroupSpecs[0].replicas", "message": "Invalid value: -1: must be >= 0"}, {"field": "spec.rayVersion", "message": "Required value"}]),
     lambda k: k.create(RAYCLUSTERS, ray_cluster("bad")),
     'Error from server (Invalid): RayCluster "bad" is invalid: spec.workerGroupSpecs[0].replicas: Invalid value: -1: must be >= 0; spec.rayVersion: Required value'),
    (lambda emu: emu.fault(verb="list", status=429, times=None, headers={"Retry-After": "0"}), lambda k: k.list(RAYCLUSTERS),
     "Error from server (TooManyRequests): injected fault: HTTP 429"),
    (lambda emu: emu.fault(verb="get", status=500, times=None, headers={"Retry-After": "0"}), lambda k: k.get(RAYCLUSTERS, "x"),
     "Error from server (InternalError): injected fault: HTTP 500"),
    (lambda emu: emu.fault(verb="create", status=503, times=1), lambda k: k.create(RAYCLUSTERS, ray_cluster("once")),
     "Error from server (ServiceUnavailable): injected fault: HTTP 503"),
])
def test_api_failures_render_as_one_kubectl_line(emulator, transport, setup, call, expected):
    setup(emulator.emu)
    with pytest.raises((ApiError, CRDsMissing)) as exc:
        call(client_for(emulator))
    line = exc.value.render()
    assert line.startswith(expected), line
    assert "\n" not in line
    assert exc.value.exit_code == 1


def test_reads_retry_429_and_503_then_succeed(emulator, transport):
    emulator.emu.fault(verb="list", status=429, times=1, headers={"Retry-After": "0"})
    emulator.emu.fault(verb="list", status=503, times=1, headers={"Retry-After": "0"})
    emulator.emu.add(ray_cluster("ok"))
    assert [c["metadata"]["name"] for c in client_for(emulator).list(RAYCLUSTERS)] == ["ok"]
    assert len(emulator.emu.requests_where(verb="list")) == 3


def test_writes_are_not_retried_on_5xx(emulator, transport):
    emulator.emu.fault(verb="create", status=503, times=1)
    with pytest.raises(ApiError):
        client_for(emulator).create(RAYCLUSTERS, ray_cluster("x"))
    assert len(emulator.emu.requests_where(verb="create")) == 1


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_connection_refused(tmp_path, transport):
    port = _closed_port()
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(f"http://127.0.0.1:{port}"))
    with pytest.raises(ConnectionFailed) as exc:
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    if transport == "native":
        assert exc.value.render() == (f"error: The connection to the server 127.0.0.1:{port} was refused - "
                                      "did you specify the right host or port?")
    else:
        assert exc.value.render().startswith("error: Unable to connect to the server")


def test_request_timeout(emulator, transport):
    emulator.emu.fault(verb="list", delay=3, times=None)
    with pytest.raises(ConnectionFailed) as exc:
        client_for(emulator, request_timeout="500ms").list(RAYCLUSTERS)
    assert exc.value.render().startswith("error: Unable to connect to the server")
    if transport == "native":
        assert "did not answer in time after 0.5s (--request-timeout)" in exc.value.render()


def test_connection_reset_mid_body(emulator):
    emulator.emu.fault(verb="list", reset=True, times=None)
    with pytest.raises(ConnectionFailed) as exc:
        client_for(emulator).list(RAYCLUSTERS)
    assert exc.value.render().startswith("error: Unable to connect to the server")


# --- TLS and authentication kinds --------------------------------------------------------------


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def tls_emulator(ca, tmp_path):
    emu = Emulator()
    emu.add(ray_cluster("secure"))
    server_cert = ca.issue_cert("127.0.0.1", "localhost", "api.internal")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ctx)
    ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_OPTIONAL  # client certificates authenticate when presented
    with EmulatorServer(emu, ssl_context=ctx) as server:
        yield emu, server.url, tmp_path


def _ca_data(ca) -> str:
    return base64.b64encode(ca.cert_pem.bytes()).decode()


def test_tls_verifies_against_the_kubeconfig_ca(tls_emulator, ca, transport):
    emu, url, tmp = tls_emulator
    emu.tokens = {"tls-token": "alice"}
    path = write_kubeconfig(tmp / "cfg", kubeconfig(url, token="tls-token", cluster_extra={"certificate-authority-data": _ca_data(ca)}))
    assert [c["metadata"]["name"] for c in connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)] == ["secure"]
    assert emu.requests[-1].user == "alice"


def test_tls_without_the_ca_fails_clearly(tls_emulator, transport):
    _, url, tmp = tls_emulator
    path = write_kubeconfig(tmp / "cfg", kubeconfig(url))
    with pytest.raises(ConnectionFailed) as exc:
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert "certificate" in exc.value.render().lower() or "ssl" in exc.value.render().lower()
    assert "\n" not in exc.value.render()


def test_insecure_skip_tls_verify(tls_emulator, transport):
    _, url, tmp = tls_emulator
    path = write_kubeconfig(tmp / "cfg", kubeconfig(url))
    kube = connect(ConnectionFlags(kubeconfig=path, insecure_skip_tls_verify=True))
    assert len(kube.list(RAYCLUSTERS)) == 1


def test_tls_server_name(ca, transport, tmp_path):
    """A certificate valid only for api.internal, reached at 127.0.0.1: needs tls-server-name."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.internal").configure_cert(ctx)
    emu = Emulator()
    with EmulatorServer(emu, ssl_context=ctx) as server:
        plain = kubeconfig(server.url, cluster_extra={"certificate-authority-data": _ca_data(ca)})
        with pytest.raises(ConnectionFailed):
            connect(ConnectionFlags(kubeconfig=write_kubeconfig(tmp_path / "plain", plain))).list(RAYCLUSTERS)
        named = kubeconfig(server.url, cluster_extra={"certificate-authority-data": _ca_data(ca), "tls-server-name": "api.internal"})
        path = write_kubeconfig(tmp_path / "named", named)
        assert connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS) == []
        with pytest.raises(ConnectionFailed):
            connect(ConnectionFlags(kubeconfig=path, tls_server_name="wrong.example")).list(RAYCLUSTERS)
        assert connect(ConnectionFlags(kubeconfig=write_kubeconfig(tmp_path / "plain2", plain),
                                       tls_server_name="api.internal")).list(RAYCLUSTERS) == []


def test_client_certificate_from_data_and_from_files(tls_emulator, ca, transport, tmp_path):
    emu, url, _ = tls_emulator
    emu.tokens = {}  # nothing but certificates authenticates
    cert = ca.issue_cert("carol@example.com", common_name="carol")
    user = {"client-certificate-data": base64.b64encode(cert.cert_chain_pems[0].bytes()).decode(),
            "client-key-data": base64.b64encode(cert.private_key_pem.bytes()).decode()}
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(url, user=user, cluster_extra={"certificate-authority-data": _ca_data(ca)}))
    connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "carol"
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "c.crt"))
    cert.private_key_pem.write_to_path(str(tmp_path / "c.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    path2 = write_kubeconfig(tmp_path / "cfg2", kubeconfig(url, token=None))
    connect(ConnectionFlags(kubeconfig=path2, client_certificate=str(tmp_path / "c.crt"), client_key=str(tmp_path / "c.key"),
                            certificate_authority=str(tmp_path / "ca.crt"))).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "carol"


def _exec_plugin(tmp_path, token: str, counter: str) -> str:
    script = tmp_path / "get-token"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib\n"
        f"c = pathlib.Path({counter!r}); c.write_text(str(int(c.read_text() or 0) + 1) if c.exists() else '1')\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['kind'] == 'ExecCredential' and os.environ['EXTRA'] == 'yes'\n"
        f"print(json.dumps({{'apiVersion': info['apiVersion'], 'kind': 'ExecCredential', 'status': {{'token': {token!r}}}}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_exec_credential_plugin_and_refresh_on_401(emulator, transport, tmp_path):
    emu = emulator.emu
    counter = tmp_path / "runs"
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": _exec_plugin(tmp_path, "exec-token", str(counter)),
                     "env": [{"name": "EXTRA", "value": "yes"}], "interactiveMode": "Never"}}
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(emulator.url, user=user))
    emu.tokens = {"exec-token": "dave"}
    kube = connect(ConnectionFlags(kubeconfig=path))
    kube.list(RAYCLUSTERS)
    kube.list(RAYCLUSTERS)
    assert emu.requests[-1].user == "dave" and counter.read_text() == "1"  # cached within the process
    emu.fault(verb="list", status=401, times=1)
    kube.list(RAYCLUSTERS)  # 401 -> plugin runs again -> retried
    assert counter.read_text() == "2"


def test_exec_plugin_missing_names_the_install_hint(emulator, tmp_path):
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "gke-gcloud-auth-plugin-absent",
                     "installHint": "Install gke-gcloud-auth-plugin for use with kubectl"}}
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(emulator.url, user=user))
    with pytest.raises(Exception) as exc:
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert exc.value.render() == ("error: exec plugin: executable gke-gcloud-auth-plugin-absent not found; "
                                  "Install gke-gcloud-auth-plugin for use with kubectl")


def test_impersonation_and_basic_auth_headers(emulator, transport, tmp_path):
    emu = emulator.emu
    emu.basic_users = {"admin:s3cret": "basic-admin"}
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(emulator.url, user={"username": "admin", "password": "s3cret"}))
    connect(ConnectionFlags(kubeconfig=path, as_user="eve", as_groups=("devs", "ops"))).list(DEPLOYMENTS)
    req = emu.requests[-1]
    assert req.user == "basic-admin"
    assert req.headers["impersonate-user"] == "eve"
    if transport == "native":  # the kubernetes package can send only one value per header name
        assert req.headers["impersonate-group"] == "devs,ops"


def test_proxy_url_is_used(emulator, tmp_path):
    """An http proxy-url in the kubeconfig: the request goes to the proxy with the absolute URL."""
    import threading
    import http.server
    import urllib.request

    seen = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            with urllib.request.urlopen(urllib.request.Request(self.path, headers=dict(self.headers))) as resp:
                body = resp.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        cfg = kubeconfig(emulator.url, cluster_extra={"proxy-url": f"http://127.0.0.1:{proxy.server_address[1]}"})
        path = write_kubeconfig(tmp_path / "cfg", cfg)
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    finally:
        proxy.shutdown()
    assert seen and seen[0].startswith(emulator.url + "/apis/ray.io/v1/namespaces/default/rayclusters")


# --- every kubeconfig auth kind over TLS (the native transport replaces the kubernetes package) --------


def _tls_kubeconfig(tmp_path, url, ca, name, **kwargs):
    extra = {"certificate-authority-data": _ca_data(ca)}
    extra.update(kwargs.pop("cluster_extra", {}))
    return write_kubeconfig(tmp_path / name, kubeconfig(url, cluster_extra=extra, **kwargs))


def test_token_file_over_tls(tls_emulator, ca, transport, tmp_path):
    emu, url, _ = tls_emulator
    emu.tokens = {"from-file": "frank"}
    (tmp_path / "token").write_text("from-file\n")
    path = _tls_kubeconfig(tmp_path, url, ca, "cfg", user={"tokenFile": "token"})  # relative to the kubeconfig
    connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "frank"


def test_exec_plugin_and_impersonation_over_tls(tls_emulator, ca, transport, tmp_path):
    emu, url, _ = tls_emulator
    emu.tokens = {"exec-token": "dave"}
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                     "command": _exec_plugin(tmp_path, "exec-token", str(tmp_path / "runs")),
                     "env": [{"name": "EXTRA", "value": "yes"}]}}
    path = _tls_kubeconfig(tmp_path, url, ca, "cfg", user=user)
    connect(ConnectionFlags(kubeconfig=path, as_user="system:serviceaccount:ray:runner")).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "dave"
    assert emu.requests[-1].headers["impersonate-user"] == "system:serviceaccount:ray:runner"


def test_basic_auth_over_tls(tls_emulator, ca, transport, tmp_path):
    emu, url, _ = tls_emulator
    emu.basic_users = {"admin:pw": "basic"}
    path = _tls_kubeconfig(tmp_path, url, ca, "cfg", user={"username": "admin", "password": "pw"})
    connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "basic"


def test_https_proxy_connect_tunnel(tls_emulator, ca, tmp_path):
    """proxy-url with an https server: CONNECT tunnel, TLS verified end to end against the API server."""
    import socketserver
    import threading

    emu, url, _ = tls_emulator
    tunnels = []

    class ConnectProxy(socketserver.StreamRequestHandler):
        def handle(self):
            request = self.rfile.readline().decode()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            method, target, _ = request.split(" ", 2)
            assert method == "CONNECT"
            tunnels.append(target)
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            pipes = [threading.Thread(target=_pipe, args=(self.connection, upstream)),
                     threading.Thread(target=_pipe, args=(upstream, self.connection))]
            for p in pipes:
                p.start()
            for p in pipes:
                p.join()

    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), ConnectProxy)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        path = _tls_kubeconfig(tmp_path, url, ca, "cfg",
                               cluster_extra={"proxy-url": f"http://127.0.0.1:{proxy.server_address[1]}"})
        assert [c["metadata"]["name"] for c in connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)] == ["secure"]
    finally:
        proxy.shutdown()
    assert tunnels == [url.split("//", 1)[1]]


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def test_oidc_id_token_and_removed_auth_providers(emulator, tmp_path):
    emulator.emu.tokens = {"id-token-value": "oidc-user"}
    oidc = {"auth-provider": {"name": "oidc", "config": {"id-token": "id-token-value", "idp-issuer-url": "https://idp"}}}
    connect(ConnectionFlags(kubeconfig=write_kubeconfig(tmp_path / "oidc", kubeconfig(emulator.url, user=oidc)))).list(RAYCLUSTERS)
    assert emulator.emu.requests[-1].user == "oidc-user"
    gcp = {"auth-provider": {"name": "gcp", "config": {}}}
    with pytest.raises(Exception) as exc:
        connect(ConnectionFlags(kubeconfig=write_kubeconfig(tmp_path / "gcp", kubeconfig(emulator.url, user=gcp)))).list(RAYCLUSTERS)
    assert "gke-gcloud-auth-plugin" in exc.value.render()


def test_interrupted_request_does_not_poison_the_next_one(emulator, monkeypatch):
    """Ctrl-C in the middle of a request (e.g. during a job's cleanup) must not break the next request."""
    import http.client

    emulator.emu.add(ray_cluster("a"))
    kube = client_for(emulator)
    kube.list(RAYCLUSTERS)  # a keep-alive connection now exists
    original = http.client.HTTPConnection.getresponse
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", interrupted)
    with pytest.raises(KeyboardInterrupt):
        kube.get(RAYCLUSTERS, "a")
    assert kube.get(RAYCLUSTERS, "a")["metadata"]["name"] == "a"
