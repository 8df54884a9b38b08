"""kubeconfig resolution as client-go does it: merging, overrides, validation, in-cluster, proxies.

What reaches a server is compared with the real kubectl in tests/differential/; these tests pin the
rules themselves, quickly and without kubectl.
"""

from __future__ import annotations

import base64
import os

import pytest
import yaml

from kubectl_ray.errors import ExitCode
from kubectl_ray.kube.errors import ConfigError
from kubectl_ray.kube.flags import ConnectionFlags
from kubectl_ray.kube.headers import check_header_value, escape_extra_key
from kubectl_ray.kube.kubeconfig import SERVICE_ACCOUNT_DIR_ENV, resolve_connection, resolve_namespace
from kubectl_ray.kube.kubeconfig_file import parse_kubeconfig
from kubectl_ray.kube.proxy import parse_proxy_url, select_proxy, use_proxy
from kubectl_ray.kube.server_url import parse_server


def write(path, doc) -> str:
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return str(path)


def two_contexts(server_a="https://a.example:6443", server_b="https://b.example:6443") -> dict:
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "ctx-a",
        "clusters": [{"name": "a", "cluster": {"server": server_a, "certificate-authority": "ca.pem"}},
                     {"name": "b", "cluster": {"server": server_b, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "alice", "user": {"token": "token-a"}},
                  {"name": "bob", "user": {"tokenFile": "bob.token"}}],
        "contexts": [{"name": "ctx-a", "context": {"cluster": "a", "user": "alice", "namespace": "team-a"}},
                     {"name": "ctx-b", "context": {"cluster": "b", "user": "bob"}}],
    }


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "ca.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n")
    (tmp_path / "bob.token").write_text("token-b\n")
    return tmp_path


def test_current_context_and_its_namespace(config_dir):
    path = write(config_dir / "config", two_contexts())
    conn = resolve_connection(ConnectionFlags(kubeconfig=path))
    assert (conn.server, conn.namespace, conn.namespace_explicit) == ("https://a.example:6443", "team-a", False)
    assert conn.token == "token-a"
    assert conn.ca_data.startswith(b"-----BEGIN")  # relative path resolved next to the kubeconfig


def test_context_flag_switches_cluster_user_and_namespace_defaults(config_dir):
    path = write(config_dir / "config", two_contexts())
    conn = resolve_connection(ConnectionFlags(kubeconfig=path, context="ctx-b"))
    assert (conn.server, conn.namespace, conn.insecure) == ("https://b.example:6443", "default", True)
    assert conn.token_file == str(config_dir / "bob.token") and conn.token == "token-b\n"


def test_namespace_flag_wins(config_dir):
    path = write(config_dir / "config", two_contexts())
    conn = resolve_connection(ConnectionFlags(kubeconfig=path, namespace="explicit"))
    assert (conn.namespace, conn.namespace_explicit) == ("explicit", True)
    assert resolve_namespace(ConnectionFlags(kubeconfig=path)) == ("team-a", False)
    assert resolve_namespace(ConnectionFlags(kubeconfig=path, context="ctx-b")) == ("default", False)


def test_overrides_follow_client_go(config_dir):
    path = write(config_dir / "config", two_contexts())
    conn = resolve_connection(ConnectionFlags(kubeconfig=path, cluster="b", user="bob", server="https://c:1",
                                              token="flag-token", as_user="eve", as_groups=("g1", "g2"),
                                              tls_server_name="api.internal", request_timeout="5s"))
    assert conn.server == "https://c:1" and conn.tls_server_name == "api.internal" and conn.timeout == 5.0
    # client-go keeps the kubeconfig's tokenFile next to --token, and the file wins (kubectl does the same)
    assert (conn.token, conn.token_file) == ("flag-token", str(config_dir / "bob.token"))
    assert (conn.impersonate_user, conn.impersonate_groups) == ("eve", ("g1", "g2"))


@pytest.mark.parametrize("cluster, flags, expected", [
    ({"insecure-skip-tls-verify": True}, {"certificate_authority": "ca.pem"}, (False, True)),
    ({"certificate-authority-data": "Q0E="}, {"insecure_skip_tls_verify": True}, (True, False)),
    ({"tls-server-name": "kc.name"}, {"server": "https://x:1"}, None),
])
def test_ca_and_insecure_flags_replace_the_kubeconfig_settings(config_dir, cluster, flags, expected):
    doc = two_contexts()
    doc["clusters"][0]["cluster"] = {"server": "https://a.example:6443", **cluster}
    if "certificate_authority" in flags:
        flags["certificate_authority"] = str(config_dir / flags["certificate_authority"])
    conn = resolve_connection(ConnectionFlags(kubeconfig=write(config_dir / "config", doc), **flags))
    if expected is None:
        assert conn.tls_server_name is None  # --server drops the kubeconfig's tls-server-name
    else:
        assert (conn.insecure, conn.ca_data is not None) == expected


def test_kubeconfig_env_merges_first_file_wins(config_dir, monkeypatch):
    first = two_contexts()
    first["contexts"][0]["context"]["namespace"] = "from-first"
    second = two_contexts(server_a="https://ignored:1")
    second["current-context"] = "ctx-b"
    second["clusters"].append({"name": "extra", "cluster": {"server": "https://extra:1"}})
    second["contexts"].append({"name": "ctx-extra", "context": {"cluster": "extra", "user": "alice"}})
    paths = [write(config_dir / "one", first), str(config_dir / "missing"), write(config_dir / "two", second)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(paths))
    conn = resolve_connection(ConnectionFlags())
    assert (conn.server, conn.namespace, conn.context) == ("https://a.example:6443", "from-first", "ctx-a")
    assert resolve_connection(ConnectionFlags(context="ctx-extra")).server == "https://extra:1"


def test_embedded_data_and_exec_plugin_paths(tmp_path):
    (tmp_path / "bin").mkdir()
    doc = {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
           "clusters": [{"name": "k", "cluster": {"server": "https://k.example:443",
                                                   "certificate-authority-data": base64.b64encode(b"CA").decode()}}],
           "users": [{"name": "u", "user": {"client-certificate-data": base64.b64encode(b"CERT").decode(),
                                             "client-key-data": base64.b64encode(b"KEY").decode(),
                                             "exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                      "command": "bin/get-token", "interactiveMode": "Never"}}}]}
    conn = resolve_connection(ConnectionFlags(kubeconfig=write(tmp_path / "cfg", doc)))
    assert (conn.ca_data, conn.client_cert_data, conn.client_key_data) == (b"CA", b"CERT", b"KEY")
    assert conn.exec_spec.command == str(tmp_path / "bin" / "get-token")


def test_plain_http_gets_no_credentials_but_keeps_impersonation(tmp_path):
    """client-go reads credentials only for TLS: a token over http would go to anyone on the path."""
    doc = {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
           "clusters": [{"name": "k", "cluster": {"server": "k.example:8080"}}],  # no scheme: http, as in kubectl
           "users": [{"name": "u", "user": {"token": "t", "tokenFile": "/nonexistent", "as": "jane",
                                             "exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                      "command": "x", "interactiveMode": "Never"}}}]}
    conn = resolve_connection(ConnectionFlags(kubeconfig=write(tmp_path / "cfg", doc), token="flag"))
    assert conn.endpoint.url == "http://k.example:8080"
    assert (conn.token, conn.token_file, conn.exec_spec) == (None, None, None)
    assert conn.impersonate_user == "jane"


@pytest.mark.parametrize("flags, message", [
    ({"kubeconfig": "/nonexistent/config"}, 'kubeconfig file "/nonexistent/config" does not exist (from --kubeconfig)'),
    ({"context": "nope"}, 'context "nope" does not exist'),
    ({"user": "nope"}, 'auth info "nope" does not exist'),
    ({"cluster": "nope"}, 'cluster "nope" does not exist'),
    ({"request_timeout": "soon"}, "invalid --request-timeout 'soon'"),
    ({"request_timeout": "1.5"}, "invalid --request-timeout '1.5'"),
    ({"as_uid": "1"}, "requesting uid, groups or user-extra for alice without impersonating a user"),
    ({"as_groups": ("g",)}, "requesting uid, groups or user-extra for alice without impersonating a user"),
])
def test_errors_are_one_line(config_dir, flags, message):
    flags.setdefault("kubeconfig", write(config_dir / "config", two_contexts()))
    with pytest.raises(Exception) as exc:
        resolve_connection(ConnectionFlags(**flags))
    assert message in exc.value.render()
    assert "\n" not in exc.value.render()


@pytest.mark.parametrize("user, cluster, message", [
    ({"token": "t", "username": "u", "password": "p"}, {}, "more than one authentication method found for u"),
    ({"client-certificate-data": "Q0VSVA=="}, {}, "client-key-data or client-key must be specified for u"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"}}, {},
     "interactiveMode must be specified for u"),
    ({"exec": {"command": "x", "interactiveMode": "Never"}}, {}, "apiVersion must be specified for u"),
    ({"token": "t"}, {"certificate-authority": "/nonexistent", "certificate-authority-data": "Q0E="},
     "certificate-authority-data and certificate-authority are both specified for k"),
    ({"token": "t"}, {"certificate-authority-data": "Q0E=", "insecure-skip-tls-verify": True},
     "specifying a root certificates file with the insecure flag is not allowed"),
    ({"token": "t"}, {"proxy-url": "ftp://user:hunter2@proxy:1"}, 'unsupported scheme "ftp"'),
    ({"tokenFile": "/nonexistent/token"}, {}, 'cannot read tokenFile file "/nonexistent/token"'),
])
def test_validation_like_client_go(tmp_path, user, cluster, message):
    doc = {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
           "clusters": [{"name": "k", "cluster": {"server": "https://k.example", **cluster}}],
           "users": [{"name": "u", "user": user}]}
    with pytest.raises(ConfigError) as exc:
        resolve_connection(ConnectionFlags(kubeconfig=write(tmp_path / "cfg", doc)))
    assert message in exc.value.render()
    assert "hunter2" not in exc.value.render()


@pytest.mark.parametrize("doc, message", [
    ({"clusters": [{"name": "k", "cluster": {"server": "https://k"}}]}, "no Kubernetes cluster is configured"),
    ({"current-context": "c", "contexts": [{"name": "c", "context": None}]}, 'context "c" names no cluster'),
    ({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "gone"}}]},
     'cluster "gone" of context "c" does not exist'),
    ({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k"}}],
      "clusters": [{"name": "k", "cluster": {}}]}, 'cluster "k" has no server'),
    ({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "ghost"}}],
      "clusters": [{"name": "k", "cluster": {"server": "https://k"}}]},
     'user "ghost" of context "c" does not exist in the kubeconfig'),
])
def test_what_kubectl_would_silently_guess_is_an_error(tmp_path, doc, message):
    with pytest.raises(ConfigError) as exc:
        resolve_connection(ConnectionFlags(kubeconfig=write(tmp_path / "cfg", doc)))
    assert message in exc.value.render()
    assert exc.value.exit_code == ExitCode.ERROR


def test_invalid_yaml(tmp_path):
    path = tmp_path / "cfg"
    path.write_text("clusters: [\n  - name: x\n  bad")
    with pytest.raises(ConfigError) as exc:
        resolve_connection(ConnectionFlags(kubeconfig=str(path)))
    assert exc.value.render().startswith(f'error: error loading config file "{path}": not valid YAML: line ')


@pytest.mark.parametrize("text, message", [
    ("clusters: 5", "clusters: expected a list, got a number"),
    ("clusters: [abc]", "clusters[0]: expected a mapping, got a string"),
    ("clusters: [[1, 2]]", "clusters[0]: expected a mapping, got a list"),
    ("clusters: [{name: k, cluster: {certificate-authority: 5}}]",
     "clusters[0].cluster.certificate-authority: expected a string, got a number"),
    ("clusters: [{name: k, cluster: {server: [a]}}]", "clusters[0].cluster.server: expected a string, got a list"),
    ("clusters: [{name: 5}]", "clusters[0].name: expected a string, got a number"),
    ("clusters: [{name: k, cluster: {insecure-skip-tls-verify: 'yes'}}]",
     "clusters[0].cluster.insecure-skip-tls-verify: expected a boolean (true or false), got a string"),
    ("clusters: [{name: k, cluster: {certificate-authority-data: '!!'}}]", "clusters[0].cluster.certificate-authority-data: not valid base64"),
    ("clusters: [{name: k}, {name: k}]", 'clusters[1]: duplicate name "k" in clusters'),
    ("users: [{name: u, user: {exec: {command: 5}}}]", "users[0].user.exec.command: expected a string, got a number"),
    ("users: [{name: u, user: {exec: {args: hello}}}]", "users[0].user.exec.args: expected a list, got a string"),
    ("users: [{name: u, user: {as-groups: 'system:masters'}}]", "users[0].user.as-groups: expected a list, got a string"),
    ("users: [{name: u, user: {as-user-extra: [a]}}]", "users[0].user.as-user-extra: expected a mapping, got a list"),
    ("users: [{name: u, user: {as-user-extra: {k: v}}}]", "users[0].user.as-user-extra.k: expected a list, got a string"),
    ("users: [{name: u, user: {token: 123}}]", "users[0].user.token: expected a string, got a number"),
    ("contexts: [{name: c, context: [1]}]", "contexts[0].context: expected a mapping, got a list"),
    ("current-context: 5", "current-context: expected a string, got a number"),
    ("preferences: 5", "preferences: expected a mapping, got a number"),
    ("- a", "expected a mapping, got a list"),
    ("kind: Pod", 'no kind "Pod" is registered for version "v1"'),
    ("apiVersion: v2", 'no kind "Config" is registered for version "v2"'),
])
def test_kubeconfig_types_are_checked_like_client_go(text, message):
    with pytest.raises(ConfigError) as exc:
        parse_kubeconfig(text.encode(), "/cfg")
    assert exc.value.render() == f'error: error loading config file "/cfg": {message}'


def test_kubeconfig_yaml_reads_like_go_yaml():
    doc = parse_kubeconfig(b"clusters: [{name: k, cluster: {server: 2020-01-01, extensions: [{name: "
                           b"client.authentication.k8s.io/exec, extension: {n: 1, y: [a]}}]}}]\n---\nclusters: 5\n",
                           "/cfg")
    cluster = doc.clusters["k"]
    assert cluster.server == "2020-01-01"  # a date stays text
    assert cluster.exec_extension == {"false": 1, "true": ["a"]}  # YAML 1.1 y/n, as kubectl reads them
    assert parse_kubeconfig(b"", "/cfg").clusters == {}
    assert parse_kubeconfig(b"# only a comment\n", "/cfg").contexts == {}
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_kubeconfig(b"clusters: [{name: \"\xff\"}]", "/cfg")


def test_kubeconfig_and_files_it_names_are_read_with_a_cap(tmp_path):
    with pytest.raises(ConfigError, match="larger than 16 MiB"):
        resolve_connection(ConnectionFlags(kubeconfig="/dev/zero"))
    doc = {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
           "clusters": [{"name": "k", "cluster": {"server": "https://k", "certificate-authority": "/dev/zero"}}],
           "users": [{"name": "u", "user": {"tokenFile": "/dev/zero"}}]}
    with pytest.raises(ConfigError, match=r"larger than 4 MiB"):
        resolve_connection(ConnectionFlags(kubeconfig=write(tmp_path / "cfg", doc)))


@pytest.mark.parametrize("server, url, secure", [
    ("https://k.example:6443", "https://k.example:6443", True),
    ("https://k.example", "https://k.example:443", True),
    ("http://k.example", "http://k.example:80", False),
    ("k.example:6443", "http://k.example:6443", False),  # client-go: no scheme means http
    ("127.0.0.1:6443", "http://127.0.0.1:6443", False),
    ("https://[::1]:6443", "https://[::1]:6443", True),
    ("https://k.example/prefix/?x=1#y", "https://k.example:443/prefix", True),
])
def test_server_urls_as_client_go_reads_them(server, url, secure):
    parsed = parse_server(server)
    assert (parsed.url, parsed.secure) == (url, secure)


@pytest.mark.parametrize("server", ["https://k:99999", "https://k:abc", "ftp://k:1", "k:1/path", "https://:1"])
def test_bad_server_urls(server):
    with pytest.raises(ConfigError):
        parse_server(server)


# --- in-cluster -----------------------------------------------------------------------------------


@pytest.fixture
def pod(tmp_path, monkeypatch):
    folder = tmp_path / "sa"
    folder.mkdir()
    (folder / "token").write_text("sa-token\n")
    (folder / "namespace").write_text("sa-ns\n")
    (folder / "ca.crt").write_text("not a certificate")
    monkeypatch.setenv(SERVICE_ACCOUNT_DIR_ENV, str(folder))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return folder


def test_in_cluster_service_account(pod, monkeypatch):
    conn = resolve_connection(ConnectionFlags())
    assert conn.in_cluster and conn.server == "https://[fd00::1]:443"
    assert (conn.token_file, conn.namespace, conn.ca_data) == (str(pod / "token"), "sa-ns", None)
    monkeypatch.setenv("POD_NAMESPACE", "from-downward-api")
    assert resolve_connection(ConnectionFlags()).namespace == "from-downward-api"
    assert resolve_namespace(ConnectionFlags()) == ("from-downward-api", False)
    flagged = resolve_connection(ConnectionFlags(token="flag", namespace="n"))
    assert (flagged.token, flagged.token_file, flagged.namespace) == ("flag", None, "n")


def test_in_cluster_only_when_kubectl_would_use_it(pod, tmp_path):
    with pytest.raises(ConfigError, match="no Kubernetes cluster is configured"):
        resolve_connection(ConnectionFlags(request_timeout="5s"))  # kubectl: localhost:8080
    doc = {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
           "clusters": [{"name": "k", "cluster": {"server": "http://k"}}], "users": [{"name": "u", "user": {}}]}
    conn = resolve_connection(ConnectionFlags(kubeconfig=write(tmp_path / "cfg", doc)))
    assert not conn.in_cluster and conn.namespace == "sa-ns"  # a kubeconfig wins, the pod's namespace still applies


# --- proxies --------------------------------------------------------------------------------------


@pytest.mark.parametrize("host, port, no_proxy, proxied", [
    ("api.example.com", 443, "", True),
    ("localhost", 443, "", False),
    ("127.0.0.2", 443, "", False),
    ("::1", 443, "", False),
    ("api.example.com", 443, "example.com", False),
    ("example.com", 443, "example.com", False),
    ("api.example.com", 443, ".example.com", False),
    ("example.com", 443, ".example.com", True),  # a leading dot matches subdomains only
    ("api.example.com", 443, "*.example.com", False),
    ("api.example.com", 443, "example.com:443", False),
    ("api.example.com", 6443, "example.com:443", True),
    ("10.1.2.3", 443, "10.0.0.0/8", False),
    ("11.1.2.3", 443, "10.0.0.0/8", True),
    ("10.1.2.3", 443, "10.1.2.3", False),
    ("10.1.2.3", 6443, "10.1.2.3:443", True),
    ("2001:db8::1", 443, "[2001:db8::1]:443", False),
    ("10.1.2.3", 443, "1.2.3", True),  # domain entries never match IP addresses
    ("API.Example.COM", 443, " EXAMPLE.com ", False),
    ("anything", 1, "*", False),
    ("notexample.com", 443, "example.com", True),
])
def test_no_proxy_follows_go(host, port, no_proxy, proxied):
    assert use_proxy(host, port, no_proxy) is proxied


def test_proxy_selection(monkeypatch):
    secure, plain = parse_server("https://api.example.com"), parse_server("http://api.example.com")
    env = {"HTTPS_PROXY": "proxy:3128", "http_proxy": "socks5://u:p@socks:1080", "NO_PROXY": ""}
    assert select_proxy(secure, None, env).display == "http://proxy:3128"
    assert select_proxy(plain, None, env).display == "socks5://socks:1080"
    with pytest.raises(ConfigError, match="CGI"):
        select_proxy(plain, None, {"HTTP_PROXY": "proxy:1", "REQUEST_METHOD": "GET"})
    loopback = parse_server("https://127.0.0.1:6443")
    assert select_proxy(loopback, None, env) is None
    assert select_proxy(loopback, "http://p:1", {"NO_PROXY": "*"}).display == "http://p:1"  # proxy-url always


def test_proxy_passwords_are_never_echoed():
    with pytest.raises(ValueError) as exc:
        parse_proxy_url("http://user:hunter2@proxy:abc")
    assert "hunter2" not in str(exc.value)
    proxy = parse_proxy_url("socks5://user:hunter2@proxy:1080")
    assert "hunter2" not in repr(proxy) and "hunter2" not in proxy.display


# --- headers --------------------------------------------------------------------------------------


def test_header_values_are_checked_without_echoing_them():
    with pytest.raises(ConfigError) as exc:
        check_header_value("Bearer abc\r\nX-Evil: 1", "--token")
    assert "--token" in exc.value.render() and "abc" not in exc.value.render()
    assert check_header_value("jäne\t", "--as") == "jäne\t".encode()


@pytest.mark.parametrize("key, escaped", [
    ("scopes", "scopes"),
    ("example.com/Team Name", "example.com%2FTeam%20Name"),
    ("100%", "100%25"),
    ("ünï", "%C3%BCn%C3%AF"),
])
def test_impersonate_extra_keys_are_percent_encoded(key, escaped):
    assert escape_extra_key(key) == escaped


def test_kubectl_args_pass_every_flag_through():
    flags = ConnectionFlags(kubeconfig="/k", context="c", namespace="n", server="https://s", token="t",
                            as_user="u", as_groups=("g1", "g2"), insecure_skip_tls_verify=True, request_timeout="3s")
    assert flags.kubectl_args() == ["--kubeconfig=/k", "--context=c", "--namespace=n", "--server=https://s",
                                    "--token=t", "--as=u", "--request-timeout=3s", "--as-group=g1", "--as-group=g2",
                                    "--insecure-skip-tls-verify=true"]
    assert "--namespace=n" not in flags.kubectl_args(include_namespace=False)
