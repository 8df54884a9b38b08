"""The Kubernetes layer against the emulator: CRUD, paging, watch, errors, TLS, every auth kind (over HTTPS:
no credential is ever sent over plain http), deadlines, and the connection API for other protocols."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import stat
import sys

import pytest
import trustme

from kubectl_ray.kube import connect
from kubectl_ray.kube.errors import ApiError, ConfigError, ConnectionFailed, CRDsMissing
from kubectl_ray.kube.flags import ConnectionFlags
from kubectl_ray.kube.resources import DEPLOYMENTS, PODS, RAYCLUSTERS
from tests.conftest import ray_cluster
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig


def client_for(handle, **flags):
    return connect(ConnectionFlags(kubeconfig=handle.kubeconfig, **flags))


def test_crud_pagination_and_conflicts(emulator):
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


def test_watch_yields_changes_until_server_timeout(emulator):
    emulator.emu.add(ray_cluster("w"))
    kube = client_for(emulator)
    seen = []
    for event in kube.watch(RAYCLUSTERS, name="w", timeout_seconds=1):
        seen.append(event["type"])
        if len(seen) == 1:
            emulator.emu.update_status("rayclusters", "default", "w", {"state": "ready"})
    assert seen == ["ADDED", "MODIFIED"]


def test_list_items_get_kind_and_api_version(emulator):
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
def test_api_failures_render_as_one_kubectl_line(emulator, setup, call, expected):
    setup(emulator.emu)
    with pytest.raises((ApiError, CRDsMissing)) as exc:
        call(client_for(emulator))
    line = exc.value.render()
    assert line.startswith(expected), line
    assert "\n" not in line
    assert exc.value.exit_code == 1


def test_reads_retry_429_and_503_then_succeed(emulator):
    emulator.emu.fault(verb="list", status=429, times=1, headers={"Retry-After": "0"})
    emulator.emu.fault(verb="list", status=503, times=1, headers={"Retry-After": "0"})
    emulator.emu.add(ray_cluster("ok"))
    assert [c["metadata"]["name"] for c in client_for(emulator).list(RAYCLUSTERS)] == ["ok"]
    assert len(emulator.emu.requests_where(verb="list")) == 3


def test_writes_are_not_retried_on_5xx(emulator):
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


def test_connection_refused(tmp_path):
    port = _closed_port()
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(f"http://127.0.0.1:{port}"))
    with pytest.raises(ConnectionFailed) as exc:
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert exc.value.render() == (f"error: The connection to the server 127.0.0.1:{port} was refused - "
                                  "did you specify the right host or port?")


def test_request_timeout(emulator):
    emulator.emu.fault(verb="list", delay=3, times=None)
    with pytest.raises(ConnectionFailed) as exc:
        client_for(emulator, request_timeout="500ms").list(RAYCLUSTERS)
    assert exc.value.render() == (f"error: Unable to connect to the server: {emulator.url.split('//')[1]} did not "
                                  "answer in time after 0.5s (--request-timeout)")


def test_connection_reset_mid_body(emulator):
    emulator.emu.fault(verb="list", reset=True, times=None)
    with pytest.raises(ConnectionFailed) as exc:
        client_for(emulator).list(RAYCLUSTERS)
    assert exc.value.render().startswith("error: Unable to connect to the server")


# --- TLS and authentication kinds (credentials only over HTTPS, as kubectl) ------------------------


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


def _tls_kubeconfig(tmp_path, url, ca, name="cfg", **kwargs):
    extra = {"certificate-authority-data": _ca_data(ca)}
    extra.update(kwargs.pop("cluster_extra", {}))
    return write_kubeconfig(tmp_path / name, kubeconfig(url, cluster_extra=extra, **kwargs))


def test_tls_verifies_against_the_kubeconfig_ca(tls_emulator, ca):
    emu, url, tmp = tls_emulator
    emu.tokens = {"tls-token": "alice"}
    path = _tls_kubeconfig(tmp, url, ca, token="tls-token")
    assert [c["metadata"]["name"] for c in connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)] == ["secure"]
    assert emu.requests[-1].user == "alice"


def test_tls_without_the_ca_fails_clearly(tls_emulator):
    _, url, tmp = tls_emulator
    path = write_kubeconfig(tmp / "cfg", kubeconfig(url))
    with pytest.raises(ConnectionFailed) as exc:
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert exc.value.render().startswith("error: Unable to connect to the server: tls: failed to verify certificate of "
                                         f"{url.split('//')[1]}: ")
    assert "\n" not in exc.value.render()


def test_insecure_skip_tls_verify(tls_emulator):
    _, url, tmp = tls_emulator
    path = write_kubeconfig(tmp / "cfg", kubeconfig(url))
    kube = connect(ConnectionFlags(kubeconfig=path, insecure_skip_tls_verify=True))
    assert len(kube.list(RAYCLUSTERS)) == 1


def test_tls_server_name(ca, tmp_path):
    """A certificate valid only for api.internal, reached at 127.0.0.1: needs tls-server-name."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.internal").configure_cert(ctx)
    with EmulatorServer(Emulator(), ssl_context=ctx) as server:
        plain = _tls_kubeconfig(tmp_path, server.url, ca, "plain")
        with pytest.raises(ConnectionFailed):
            connect(ConnectionFlags(kubeconfig=plain)).list(RAYCLUSTERS)
        named = _tls_kubeconfig(tmp_path, server.url, ca, "named", cluster_extra={"tls-server-name": "api.internal"})
        assert connect(ConnectionFlags(kubeconfig=named)).list(RAYCLUSTERS) == []
        with pytest.raises(ConnectionFailed):
            connect(ConnectionFlags(kubeconfig=named, tls_server_name="wrong.example")).list(RAYCLUSTERS)
        assert connect(ConnectionFlags(kubeconfig=plain, tls_server_name="api.internal")).list(RAYCLUSTERS) == []


def test_client_certificate_from_data_and_from_files(tls_emulator, ca, tmp_path):
    emu, url, _ = tls_emulator
    emu.tokens = {}  # nothing but certificates authenticates
    cert = ca.issue_cert("carol@example.com", common_name="carol")
    user = {"client-certificate-data": base64.b64encode(cert.cert_chain_pems[0].bytes()).decode(),
            "client-key-data": base64.b64encode(cert.private_key_pem.bytes()).decode()}
    connect(ConnectionFlags(kubeconfig=_tls_kubeconfig(tmp_path, url, ca, user=user))).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "carol"
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "c.crt"))
    cert.private_key_pem.write_to_path(str(tmp_path / "c.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    path2 = write_kubeconfig(tmp_path / "cfg2", kubeconfig(url, token=None))
    connect(ConnectionFlags(kubeconfig=path2, client_certificate=str(tmp_path / "c.crt"), client_key=str(tmp_path / "c.key"),
                            certificate_authority=str(tmp_path / "ca.crt"))).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "carol"


def test_no_credential_over_plain_http(emulator, tmp_path):
    """kubectl sends no token, password, certificate or exec credential to an http:// server."""
    emulator.emu.tokens = {"test-token": "alice"}
    counter = tmp_path / "runs"
    for user in ({"token": "test-token"}, {"username": "admin", "password": "pw"},
                 {"exec": _exec_spec(_exec_plugin(tmp_path, "test-token", str(counter)))}):
        path = write_kubeconfig(tmp_path / "cfg", kubeconfig(emulator.url, user=user))
        with pytest.raises(ApiError) as exc:
            connect(ConnectionFlags(kubeconfig=path, as_user="jane")).list(RAYCLUSTERS)
        assert exc.value.status == 401
        request = emulator.emu.requests[-1]
        assert "authorization" not in request.headers and request.headers["impersonate-user"] == "jane"
    assert not counter.exists()  # the exec plugin never ran


def test_token_file_over_tls_is_reread_when_it_rotates(tls_emulator, ca, tmp_path, monkeypatch):
    emu, url, _ = tls_emulator
    emu.tokens = {"first": "frank", "second": "rotated"}
    (tmp_path / "token").write_text("first\n")
    path = _tls_kubeconfig(tmp_path, url, ca, user={"token": "stale-inline", "tokenFile": "token"})
    monkeypatch.setattr("kubectl_ray.kube.auth.TOKEN_FILE_PERIOD", 0.0)  # re-read on every request
    kube = connect(ConnectionFlags(kubeconfig=path))
    kube.list(RAYCLUSTERS)
    assert emu.requests[-1].user == "frank"  # the file wins over the inline token, as in client-go
    (tmp_path / "token").write_text("second")
    kube.list(RAYCLUSTERS)
    assert emu.requests[-1].user == "rotated"


def test_basic_auth_over_tls(tls_emulator, ca, tmp_path):
    emu, url, _ = tls_emulator
    emu.basic_users = {"admin:pw": "basic"}
    connect(ConnectionFlags(kubeconfig=_tls_kubeconfig(tmp_path, url, ca, user={"username": "admin", "password": "pw"}))
            ).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "basic"


def test_impersonation_headers(emulator, tmp_path):
    user = {"as": "kc-user", "as-user-extra": {"example.com/scopes": ["a", "b"]}}
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(emulator.url, user=user))
    connect(ConnectionFlags(kubeconfig=path, as_user="eve", as_groups=("devs", "ops"), as_uid="42")).list(DEPLOYMENTS)
    headers = emulator.emu.requests[-1].headers
    assert (headers["impersonate-user"], headers["impersonate-group"]) == ("eve", "devs,ops")


def _exec_plugin(tmp_path, token: str, counter: str, expires: str | None = None, sleep: bool = False) -> str:
    script = tmp_path / "get-token"
    status = {"token": token, **({"expirationTimestamp": expires} if expires else {})}
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib, time\n"
        f"c = pathlib.Path({counter!r}); c.write_text(str(int(c.read_text() or 0) + 1) if c.exists() else '1')\n"
        + ("time.sleep(3600)\n" if sleep else "")
        + "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['kind'] == 'ExecCredential' and os.environ['EXTRA'] == 'yes'\n"
        f"print(json.dumps({{'apiVersion': info['apiVersion'], 'kind': 'ExecCredential', 'status': {status!r}}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def _exec_spec(command: str, api: str = "client.authentication.k8s.io/v1") -> dict:
    return {"apiVersion": api, "command": command, "env": [{"name": "EXTRA", "value": "yes"}], "interactiveMode": "Never"}


def test_exec_plugin_cached_and_run_again_after_401(tls_emulator, ca, tmp_path):
    emu, url, _ = tls_emulator
    counter = tmp_path / "runs"
    path = _tls_kubeconfig(tmp_path, url, ca, user={"exec": _exec_spec(_exec_plugin(tmp_path, "exec-token", str(counter)))})
    emu.tokens = {"exec-token": "dave"}
    kube = connect(ConnectionFlags(kubeconfig=path, as_user="system:serviceaccount:ray:runner"))
    kube.list(RAYCLUSTERS)
    kube.list(RAYCLUSTERS)
    assert emu.requests[-1].user == "dave" and counter.read_text() == "1"  # cached within the process
    assert emu.requests[-1].headers["impersonate-user"] == "system:serviceaccount:ray:runner"
    emu.fault(verb="list", status=401, times=1)
    kube.list(RAYCLUSTERS)  # 401 -> plugin runs again -> retried
    assert counter.read_text() == "2"


def test_exec_credential_expiry_runs_the_plugin_again(tls_emulator, ca, tmp_path):
    emu, url, _ = tls_emulator
    counter = tmp_path / "runs"
    plugin = _exec_plugin(tmp_path, "exec-token", str(counter), expires="2000-01-01T00:00:00Z")
    emu.tokens = {"exec-token": "dave"}
    kube = connect(ConnectionFlags(kubeconfig=_tls_kubeconfig(tmp_path, url, ca, user={"exec": _exec_spec(plugin)})))
    kube.list(RAYCLUSTERS)
    kube.list(RAYCLUSTERS)
    assert counter.read_text() == "2"  # already expired: client-go runs it before every request


def test_exec_plugin_not_run_when_a_token_authenticates(tls_emulator, ca, tmp_path):
    emu, url, _ = tls_emulator
    counter = tmp_path / "runs"
    user = {"token": "static", "exec": _exec_spec(_exec_plugin(tmp_path, "exec-token", str(counter)))}
    emu.tokens = {"static": "s"}
    connect(ConnectionFlags(kubeconfig=_tls_kubeconfig(tmp_path, url, ca, user=user))).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "s" and not counter.exists()


@pytest.mark.timeout(60)
def test_exec_plugin_is_bounded_by_the_request_timeout(tls_emulator, ca, tmp_path):
    """kubectl waits forever for a plugin that never exits; we stop it at --request-timeout and name it."""
    _, url, _ = tls_emulator
    plugin = _exec_plugin(tmp_path, "t", str(tmp_path / "runs"), sleep=True)
    path = _tls_kubeconfig(tmp_path, url, ca, user={"exec": _exec_spec(plugin)})
    with pytest.raises(ConfigError) as exc:
        connect(ConnectionFlags(kubeconfig=path, request_timeout="1s")).list(RAYCLUSTERS)
    assert exc.value.render() == (f"error: getting credentials: exec: executable {plugin} did not finish within 1s "
                                  "(--request-timeout); it was stopped")


def test_exec_plugin_missing_names_the_install_hint(tls_emulator, ca, tmp_path):
    _, url, _ = tls_emulator
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "gke-gcloud-auth-plugin-absent",
                     "installHint": "Install gke-gcloud-auth-plugin for use with kubectl"}}
    with pytest.raises(ConfigError) as exc:
        connect(ConnectionFlags(kubeconfig=_tls_kubeconfig(tmp_path, url, ca, user=user))).list(RAYCLUSTERS)
    assert exc.value.render() == ("error: getting credentials: exec: executable gke-gcloud-auth-plugin-absent not "
                                  "found; Install gke-gcloud-auth-plugin for use with kubectl")


def _jwt(exp: int) -> str:
    def part(doc):
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part({'exp': exp})}.sig"


def test_oidc_id_token_expired_tokens_and_removed_auth_providers(tls_emulator, ca, tmp_path):
    emu, url, _ = tls_emulator
    valid = _jwt(4102444800)
    emu.tokens = {valid: "oidc-user"}

    def oidc(**config):
        return {"auth-provider": {"name": "oidc", "config": {"idp-issuer-url": "https://idp", "client-id": "k", **config}}}

    connect(ConnectionFlags(kubeconfig=_tls_kubeconfig(tmp_path, url, ca, user=oidc(**{"id-token": valid})))).list(RAYCLUSTERS)
    assert emu.requests[-1].user == "oidc-user"
    for user, message in ((oidc(**{"id-token": _jwt(1000)}), "No valid id-token, and cannot refresh without refresh-token"),
                          (oidc(**{"id-token": _jwt(1000), "refresh-token": "r"}), "the id-token in the kubeconfig has expired"),
                          ({"auth-provider": {"name": "gcp"}}, '"gke-gcloud-auth-plugin"')):
        with pytest.raises(ConfigError) as exc:
            connect(ConnectionFlags(kubeconfig=_tls_kubeconfig(tmp_path, url, ca, user=user))).list(RAYCLUSTERS)
        assert message in exc.value.render()


@pytest.mark.parametrize("flags, user, source", [
    ({"token": "abc\r\nX-Evil: 1"}, {}, "the bearer token (--token or the kubeconfig user's token)"),
    ({}, {"token": "abc\ndef"}, "the bearer token (--token or the kubeconfig user's token)"),
    ({"as_user": "jane\r\nX-Evil: 1"}, {"token": "t"}, "the user to impersonate (--as or as)"),
])
def test_header_values_with_line_breaks_are_refused_unechoed(tls_emulator, ca, tmp_path, flags, user, source):
    emu, url, _ = tls_emulator
    path = _tls_kubeconfig(tmp_path, url, ca, user=user)
    before = len(emu.requests)
    with pytest.raises(ConfigError) as exc:
        connect(ConnectionFlags(kubeconfig=path, **flags)).list(RAYCLUSTERS)
    assert source in exc.value.render()
    assert "abc" not in exc.value.render() and "X-Evil" not in exc.value.render()
    assert len(emu.requests) == before  # nothing was sent


# --- proxies ---------------------------------------------------------------------------------------


class _ConnectProxy:
    """A CONNECT-only proxy on loopback that records each tunnel's target and Proxy-Authorization."""

    def __init__(self):
        import socketserver
        import threading

        self.tunnels = []
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                request = self.rfile.readline().decode()
                auth = None
                while True:
                    line = self.rfile.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    if line.lower().startswith(b"proxy-authorization:"):
                        auth = line.split(b":", 1)[1].strip().decode()
                method, target, _ = request.split(" ", 2)
                assert method == "CONNECT"
                owner.tunnels.append((target, auth))
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection(("127.0.0.1", int(port)))
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                pipes = [threading.Thread(target=_pipe, args=(self.connection, upstream)),
                         threading.Thread(target=_pipe, args=(upstream, self.connection))]
                for p in pipes:
                    p.start()
                for p in pipes:
                    p.join()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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


def test_proxy_url_for_plain_http_uses_absolute_uris(emulator, tmp_path):
    import http.server
    import threading
    import urllib.request

    seen = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Proxy-Authorization")))
            headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(urllib.request.Request(self.path, headers=headers)) as resp:
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
        proxy_url = f"http://user:pw@127.0.0.1:{proxy.server_address[1]}"
        path = write_kubeconfig(tmp_path / "cfg", kubeconfig(emulator.url, cluster_extra={"proxy-url": proxy_url}))
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert seen[0][0].startswith(emulator.url + "/apis/ray.io/v1/namespaces/default/rayclusters")
    assert seen[0][1] == "Basic " + base64.b64encode(b"user:pw").decode()


def test_https_proxy_connect_tunnel(tls_emulator, ca, tmp_path, monkeypatch):
    """HTTPS_PROXY for a non-loopback name: CONNECT tunnel, TLS verified end to end against the API server."""
    emu, url, _ = tls_emulator
    proxy = _ConnectProxy()
    port = url.rsplit(":", 1)[1]
    try:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        path = _tls_kubeconfig(tmp_path, f"https://api.internal:{port}", ca)
        assert [c["metadata"]["name"] for c in connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)] == ["secure"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        path = _tls_kubeconfig(tmp_path, url, ca, cluster_extra={"proxy-url": proxy.url})  # proxy-url: even loopback
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    finally:
        proxy.close()
    assert [target for target, _ in proxy.tunnels] == [f"api.internal:{port}", f"127.0.0.1:{port}"]


def test_open_connection_and_request_headers_for_other_protocols(tls_emulator, ca, tmp_path):
    """What pod exec (WebSocket) needs: a socket connected exactly like requests (proxy, TLS, SNI, client
    certificate) and the same credential and impersonation headers."""
    from kubectl_ray.kube.transport import HttpTransport

    emu, url, _ = tls_emulator
    emu.tokens = {"t": "alice"}
    proxy = _ConnectProxy()
    port = url.rsplit(":", 1)[1]
    try:
        path = _tls_kubeconfig(tmp_path, f"https://api.internal:{port}", ca, token="t",
                               cluster_extra={"proxy-url": proxy.url})
        transport = connect(ConnectionFlags(kubeconfig=path, as_user="jane")).transport
        assert isinstance(transport, HttpTransport)
        sock = transport.open_connection()
        try:
            lines = ["GET /apis/ray.io/v1/namespaces/default/rayclusters HTTP/1.1", f"Host: api.internal:{port}",
                     "Connection: close"]
            head = ("\r\n".join(lines) + "\r\n").encode()
            head += b"".join(name.encode() + b": " + value + b"\r\n" for name, value in transport.request_headers())
            sock.sendall(head + b"\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        finally:
            sock.close()
    finally:
        proxy.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert emu.requests[-1].user == "alice" and emu.requests[-1].headers["impersonate-user"] == "jane"
    assert proxy.tunnels == [(f"api.internal:{port}", None)]


def test_ipv6_servers_are_bracketed_in_messages(tmp_path):
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
            port = sock.getsockname()[1]
    except OSError:
        pytest.skip("SKIPPED LOUDLY: no IPv6 loopback on this machine")
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(f"http://[::1]:{port}"))
    with pytest.raises(ConnectionFailed) as exc:
        connect(ConnectionFlags(kubeconfig=path)).list(RAYCLUSTERS)
    assert f"[::1]:{port}" in exc.value.render()


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
