"""kubeconfig resolution as kubectl does it: merging, contexts, namespace precedence, overrides."""

from __future__ import annotations

import base64
import os

import pytest
import yaml

from kubectl_ray.errors import ExitCode
from kubectl_ray.kube.flags import ConnectionFlags
from kubectl_ray.kube.kubeconfig import ConfigError, resolve_connection, resolve_namespace


def write(path, doc) -> str:
    path.write_text(yaml.safe_dump(doc))
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
    assert conn.token_file == str(config_dir / "bob.token")


def test_namespace_flag_wins(config_dir):
    path = write(config_dir / "config", two_contexts())
    conn = resolve_connection(ConnectionFlags(kubeconfig=path, namespace="explicit"))
    assert (conn.namespace, conn.namespace_explicit) == ("explicit", True)
    assert resolve_namespace(ConnectionFlags(kubeconfig=path)) == ("team-a", False)
    assert resolve_namespace(ConnectionFlags(kubeconfig=path, context="ctx-b")) == ("default", False)


def test_overrides_server_token_cluster_user_impersonation(config_dir):
    path = write(config_dir / "config", two_contexts())
    conn = resolve_connection(ConnectionFlags(kubeconfig=path, cluster="b", user="bob", server="https://c:1",
                                              token="flag-token", as_user="eve", as_groups=("g1", "g2"),
                                              tls_server_name="api.internal", request_timeout="5s"))
    assert conn.server == "https://c:1" and conn.token == "flag-token" and conn.token_file is None
    assert conn.insecure and conn.tls_server_name == "api.internal" and conn.timeout == 5.0
    assert (conn.impersonate_user, conn.impersonate_groups) == ("eve", ("g1", "g2"))


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
           "clusters": [{"name": "k", "cluster": {"server": "k.example:443",
                                                   "certificate-authority-data": base64.b64encode(b"CA").decode()}}],
           "users": [{"name": "u", "user": {"client-certificate-data": base64.b64encode(b"CERT").decode(),
                                             "client-key-data": base64.b64encode(b"KEY").decode(),
                                             "exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                      "command": "bin/get-token", "interactiveMode": "Never"}}}]}
    conn = resolve_connection(ConnectionFlags(kubeconfig=write(tmp_path / "cfg", doc)))
    assert conn.server == "https://k.example:443"  # kubectl assumes https without a scheme
    assert (conn.ca_data, conn.client_cert_data, conn.client_key_data) == (b"CA", b"CERT", b"KEY")
    assert conn.exec_config["command"] == str(tmp_path / "bin" / "get-token")


@pytest.mark.parametrize("flags, message", [
    ({"kubeconfig": "/nonexistent/config"}, 'kubeconfig file "/nonexistent/config" does not exist (from --kubeconfig)'),
    ({"context": "nope"}, 'context "nope" does not exist'),
    ({"request_timeout": "soon"}, "invalid --request-timeout 'soon'"),
])
def test_errors_are_one_line(config_dir, flags, message):
    flags.setdefault("kubeconfig", write(config_dir / "config", two_contexts()))
    with pytest.raises(Exception) as exc:
        resolve_connection(ConnectionFlags(**flags))
    assert message in exc.value.render()
    assert "\n" not in exc.value.render()


def test_no_current_context_and_no_server(tmp_path):
    path = write(tmp_path / "cfg", {"clusters": [{"name": "k", "cluster": {"server": "https://k"}}]})
    with pytest.raises(ConfigError) as exc:
        resolve_connection(ConnectionFlags(kubeconfig=path))
    assert "no Kubernetes cluster is configured" in exc.value.render()
    assert exc.value.exit_code == ExitCode.ERROR


def test_invalid_yaml(tmp_path):
    path = tmp_path / "cfg"
    path.write_text("clusters: [\n  - name: x\n  bad")
    with pytest.raises(ConfigError) as exc:
        resolve_connection(ConnectionFlags(kubeconfig=str(path)))
    assert exc.value.render().startswith(f'error: error loading config file "{path}": not valid YAML: line ')


def test_kubectl_args_pass_every_flag_through():
    flags = ConnectionFlags(kubeconfig="/k", context="c", namespace="n", server="https://s", token="t",
                            as_user="u", as_groups=("g1", "g2"), insecure_skip_tls_verify=True, request_timeout="3s")
    assert flags.kubectl_args() == ["--kubeconfig=/k", "--context=c", "--namespace=n", "--server=https://s",
                                    "--token=t", "--as=u", "--request-timeout=3s", "--as-group=g1", "--as-group=g2",
                                    "--insecure-skip-tls-verify=true"]
    assert "--namespace=n" not in flags.kubectl_args(include_namespace=False)
