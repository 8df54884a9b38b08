"""The differential cases: every auth kind, TLS option, server form, proxy rule, flag override,
KUBECONFIG merge rule and in-cluster setup, each run through kubectl and kubectl-ray.

A case with `deliberate` documents a difference we chose (README, "Differences from kubectl");
`ours` then gives our observation's fields that differ from kubectl's.
"""

from __future__ import annotations

from typing import Any

from tests.differential.harness import Case

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
SECURE = {"server": "{main}", "certificate-authority-data": "{ca_data}"}
TOKEN = {"token": "kc-token"}


def kc(cluster: dict[str, Any] | None = None, user: dict[str, Any] | None = None, *, namespace: str | None = "team",
       context: dict[str, Any] | None = None, current: str = "c", more: dict[str, Any] | None = None) -> dict[str, Any]:
    """A kubeconfig with one context `c` (cluster `k`, user `u`), plus `more` top-level sections merged in."""
    ctx: dict[str, Any] = {"cluster": "k", "user": "u"}
    if namespace:
        ctx["namespace"] = namespace
    ctx.update(context or {})
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "k", "cluster": SECURE if cluster is None else cluster}],
        "users": [{"name": "u", "user": TOKEN if user is None else user}],
        "contexts": [{"name": "c", "context": ctx}],
    }
    for key, value in (more or {}).items():
        doc[key] = doc.get(key, []) + value if isinstance(value, list) else value
    return doc


def exec_user(api: str = V1, mode: str | None = "Never", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"apiVersion": api, "command": "{exec}",
                            "env": [{"name": "EXEC_RECORD", "value": "{dir}/exec-record"},
                                    {"name": "EXEC_REPLY", "value": "{dir}/exec-reply.json"}]}
    if mode:
        spec["interactiveMode"] = mode
    spec.update(extra)
    return {"exec": spec}


def exec_reply(api: str = V1, **status: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": "ExecCredential", "status": status or {"token": "exec-token"}}


def jwt(exp: int) -> str:
    import base64
    import json

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'iss': 'https://idp.test', 'exp': exp})}.c2ln"


def oidc(**config: str) -> dict[str, Any]:
    base = {"idp-issuer-url": "https://idp.test", "client-id": "kubectl"}
    base.update(config)
    return {"auth-provider": {"name": "oidc", "config": base}}


# credentials the cases use: none may ever appear in our output (kubectl echoes proxy passwords)
SECRETS = ("kc-token", "s3cret", ":secret@", "flag-token", "exec-token", "sa-token", "from-file", "file-token",
           "pu:pw", "p%40ss", "su:sp", "second-token", "abs-token")

BAD_KEY_PAIR = ("client certificate files that are not a key pair are refused before connecting; kubectl reads them "
                "during the TLS handshake and abandons it (nothing is sent either way)")
NO_SERVER = "kubectl silently dials http://localhost:8080 when nothing names a server; we say what is missing"
PROMPT = ("kubectl prompts for a username and password on the terminal (and fails on EOF without one) when an "
          "https user has no credentials; we send the request without credentials and let the server decide")
MISSING_USER = "kubectl prompts for basic auth when the context names a user that does not exist; we say so"
HTTPS_PROXY_SCHEME = "https:// proxy URLs are not supported (TLS inside TLS); we say so instead of trying"
REFRESH = ("kubectl refreshes an expired oidc id-token with the refresh-token and rewrites the kubeconfig; we never "
           "write the kubeconfig and ask for a fresh login instead")

AUTH = [
    Case("token", kc()),
    Case("token-file-relative", kc(user={"tokenFile": "tok"}), files={"tok": "file-token\n"}),
    Case("token-file-absolute", kc(user={"tokenFile": "{dir}/tok"}), files={"tok": "abs-token"}),
    Case("token-and-token-file-file-wins", kc(user={"token": "inline", "tokenFile": "tok"}), files={"tok": "from-file"}),
    Case("token-file-missing", kc(user={"tokenFile": "missing"})),
    Case("token-file-empty", kc(user={"tokenFile": "tok"}), files={"tok": "\n"}),
    Case("basic", kc(user={"username": "admin", "password": "s3cret"})),
    Case("basic-without-password", kc(user={"username": "admin"})),
    Case("token-and-basic", kc(user={"token": "t", "username": "admin", "password": "pw"})),
    Case("token-file-and-basic", kc(user={"tokenFile": "tok", "username": "admin", "password": "pw"}),
         files={"tok": "t"}),
    Case("client-cert-data", kc(user={"client-certificate-data": "{alice_cert_data}", "client-key-data": "{alice_key_data}"})),
    Case("client-cert-files", kc(user={"client-certificate": "{alice_cert_file}", "client-key": "{alice_key_file}"})),
    Case("client-cert-flags", kc(user={}), flags=("--client-certificate={alice_cert_file}", "--client-key={alice_key_file}")),
    Case("client-cert-without-key", kc(user={"client-certificate-data": "{alice_cert_data}"})),
    Case("client-cert-file-and-data", kc(user={"client-certificate-data": "{alice_cert_data}", "client-key-data": "{alice_key_data}"}),
         flags=("--client-certificate={alice_cert_file}",)),
    Case("client-cert-missing-file", kc(user={"client-certificate": "missing.pem", "client-key": "{alice_key_file}"})),
    Case("client-cert-garbage", kc(user={"client-certificate": "{ca_file}", "client-key": "{ca_file}"}),
         deliberate=BAD_KEY_PAIR, ours={"tls_rejected": False}),
    Case("client-cert-and-token", kc(user={"token": "both", "client-certificate-data": "{alice_cert_data}",
                                          "client-key-data": "{alice_key_data}"})),
    Case("exec-v1", kc(user=exec_user()), exec_reply=exec_reply()),
    Case("exec-v1beta1-default-interactive", kc(user=exec_user(V1BETA1, mode=None)), exec_reply=exec_reply(V1BETA1)),
    Case("exec-v1-needs-interactive-mode", kc(user=exec_user(mode=None)), exec_reply=exec_reply()),
    Case("exec-invalid-interactive-mode", kc(user=exec_user(mode="Sometimes")), exec_reply=exec_reply()),
    Case("exec-always-without-terminal", kc(user=exec_user(mode="Always")), exec_reply=exec_reply()),
    Case("exec-args-and-env", kc(user=exec_user(args=["get-token", "--cluster", "x"],
                                                 env=[{"name": "EXEC_RECORD", "value": "{dir}/exec-record"},
                                                      {"name": "EXEC_REPLY", "value": "{dir}/exec-reply.json"},
                                                      {"name": "EXTRA", "value": "1"}])),
         exec_reply=exec_reply()),
    Case("exec-cluster-info", kc(cluster=dict(SECURE, extensions=[{"name": "client.authentication.k8s.io/exec",
                                                                  "extension": {"audience": "api", "n": 1}}]),
                                 user=exec_user(provideClusterInfo=True)), exec_reply=exec_reply()),
    Case("exec-cluster-info-tls-name", kc(cluster={"server": "{other}", "certificate-authority-data": "{ca_data}",
                                                   "tls-server-name": "other.test"},
                                          user=exec_user(provideClusterInfo=True)), exec_reply=exec_reply()),
    Case("exec-cert", kc(user=exec_user()), exec_reply=exec_reply(clientCertificateData="{alice_cert_pem}",
                                                                  clientKeyData="{alice_key_pem}")),
    Case("exec-cert-and-token", kc(user=exec_user()), exec_reply=exec_reply(token="exec-token",
                                                                            clientCertificateData="{alice_cert_pem}",
                                                                            clientKeyData="{alice_key_pem}")),
    Case("exec-future-expiry", kc(user=exec_user()),
         exec_reply=exec_reply(token="exec-token", expirationTimestamp="2999-01-01T00:00:00Z")),
    Case("exec-past-expiry", kc(user=exec_user()),
         exec_reply=exec_reply(token="exec-token", expirationTimestamp="2000-01-01T00:00:00Z")),
    Case("exec-not-run-with-token", kc(user=dict(exec_user(), token="static")), exec_reply=exec_reply()),
    Case("exec-not-run-with-token-flag", kc(user=exec_user()), flags=("--token=flag-token",), exec_reply=exec_reply()),
    Case("exec-not-run-with-client-cert", kc(user=dict(exec_user(), **{"client-certificate-data": "{alice_cert_data}",
                                                                       "client-key-data": "{alice_key_data}"})),
         exec_reply=exec_reply()),
    Case("exec-missing-binary", kc(user={"exec": {"apiVersion": V1, "command": "no-such-plugin-xyz",
                                                   "interactiveMode": "Never"}})),
    Case("exec-exit-code", kc(user=exec_user(env=[{"name": "EXEC_RECORD", "value": "{dir}/exec-record"},
                                                  {"name": "EXEC_EXIT", "value": "3"}]))),
    Case("exec-bad-json", kc(user=exec_user()), exec_reply="not json"),
    Case("exec-no-status", kc(user=exec_user()), exec_reply={"apiVersion": V1, "kind": "ExecCredential"}),
    Case("exec-wrong-api-version", kc(user=exec_user()), exec_reply=exec_reply(V1BETA1)),
    Case("exec-invalid-api-version", kc(user=exec_user("client.authentication.k8s.io/v9")), exec_reply=exec_reply()),
    Case("exec-no-command", kc(user={"exec": {"apiVersion": V1, "interactiveMode": "Never"}})),
    Case("exec-and-auth-provider", kc(user=dict(exec_user(), **oidc(**{"id-token": jwt(4102444800)}))),
         exec_reply=exec_reply()),
    Case("oidc-valid", kc(user=oidc(**{"id-token": jwt(4102444800)}))),
    Case("oidc-expired-no-refresh", kc(user=oidc(**{"id-token": jwt(1000)}))),
    Case("oidc-not-a-jwt", kc(user=oidc(**{"id-token": "opaque"}))),
    Case("oidc-missing-client-id", kc(user={"auth-provider": {"name": "oidc", "config": {"idp-issuer-url": "https://idp.test",
                                                                                     "id-token": jwt(4102444800)}}})),
    Case("oidc-expired-with-refresh-token", kc(user=oidc(**{"id-token": jwt(1000), "refresh-token": "r"})),
         deliberate=REFRESH, ours={"outcome": "auth-provider"}),
    Case("auth-provider-gcp", kc(user={"auth-provider": {"name": "gcp", "config": {}}})),
    Case("auth-provider-unknown", kc(user={"auth-provider": {"name": "acme", "config": {}}})),
    Case("token-beats-oidc", kc(user=dict(oidc(**{"id-token": jwt(4102444800)}), token="static"))),
    Case("no-credentials", kc(user={}), deliberate=PROMPT, ours={"outcome": "ok", "endpoint": "main",
                                                                 "namespace": "team", "prefix": "", "sni": None,
                                                                 "impersonation": (None, None, (), ())}),
    Case("token-flag-overrides-kubeconfig", kc(), flags=("--token=flag-token",)),
    Case("token-flag-loses-to-token-file", kc(user={"tokenFile": "tok"}), flags=("--token=flag-token",),
         files={"tok": "file-token"}),
    Case("token-flag-with-basic", kc(user={"username": "admin", "password": "pw"}), flags=("--token=flag-token",)),
    Case("token-with-newline-is-refused", kc(user={"token": "abc\ndef"})),
]

TLS = [
    Case("ca-file-relative", kc(cluster={"server": "{main}", "certificate-authority": "ca.pem"}),
         files={"ca.pem": "{ca_file_text}"}),
    Case("ca-file-missing", kc(cluster={"server": "{main}", "certificate-authority": "missing.pem"})),
    Case("ca-garbage", kc(cluster={"server": "{main}", "certificate-authority-data": "bm90IGEgY2VydA=="})),
    Case("ca-file-and-data", kc(cluster={"server": "{main}", "certificate-authority": "{ca_file}",
                                         "certificate-authority-data": "{ca_data}"})),
    Case("no-ca-system-roots", kc(cluster={"server": "{main}"})),
    Case("wrong-ca", kc(cluster={"server": "{main}", "certificate-authority-data": "{wrong_ca_data}"})),
    Case("insecure", kc(cluster={"server": "{main}", "insecure-skip-tls-verify": True})),
    Case("insecure-and-ca", kc(cluster={"server": "{main}", "insecure-skip-tls-verify": True,
                                        "certificate-authority-data": "{ca_data}"})),
    Case("insecure-flag-drops-kubeconfig-ca", kc(cluster={"server": "{main}", "certificate-authority-data": "{wrong_ca_data}"}),
         flags=("--insecure-skip-tls-verify",)),
    Case("ca-flag-turns-verification-back-on", kc(cluster={"server": "{main}", "insecure-skip-tls-verify": True}),
         flags=("--certificate-authority={wrong_ca_file}",)),
    Case("ca-flag-right-ca", kc(cluster={"server": "{main}", "insecure-skip-tls-verify": True}),
         flags=("--certificate-authority={ca_file}",)),
    Case("ca-flag-replaces-kubeconfig-ca", kc(cluster={"server": "{main}", "certificate-authority-data": "{wrong_ca_data}"}),
         flags=("--certificate-authority={ca_file}",)),
    Case("tls-server-name", kc(cluster={"server": "{other}", "certificate-authority-data": "{ca_data}",
                                        "tls-server-name": "other.test"})),
    Case("tls-server-name-missing", kc(cluster={"server": "{other}", "certificate-authority-data": "{ca_data}"})),
    Case("tls-server-name-flag", kc(cluster={"server": "{other}", "certificate-authority-data": "{ca_data}"}),
         flags=("--tls-server-name=other.test",)),
    Case("tls-server-name-wrong-flag", kc(cluster={"server": "{other}", "certificate-authority-data": "{ca_data}",
                                                   "tls-server-name": "other.test"}),
         flags=("--tls-server-name=wrong.test",)),
    Case("server-flag-drops-tls-server-name", kc(cluster={"server": "{other}", "certificate-authority-data": "{ca_data}",
                                                          "tls-server-name": "other.test"}),
         flags=("--server={other}",)),
    Case("server-and-tls-server-name-flags", kc(cluster={"server": "{main}", "certificate-authority-data": "{ca_data}"}),
         flags=("--server={other}", "--tls-server-name=other.test")),
    Case("insecure-with-tls-server-name-sends-sni", kc(cluster={"server": "{main}", "insecure-skip-tls-verify": True,
                                                                "tls-server-name": "api.test"})),
    Case("sni-for-host-name", kc(cluster={"server": "https://localhost:{main_port}", "certificate-authority-data": "{ca_data}"})),
    Case("ca-data-with-line-breaks", kc(cluster={"server": "{main}", "certificate-authority-data": "{ca_data_wrapped}"})),
]

SERVERS = [
    Case("server-with-prefix", kc(cluster={"server": "{main}/prefix", "certificate-authority-data": "{ca_data}"})),
    Case("server-trailing-slash", kc(cluster={"server": "{main}/", "certificate-authority-data": "{ca_data}"})),
    Case("server-prefix-query-fragment", kc(cluster={"server": "{main}/prefix?x=1#frag", "certificate-authority-data": "{ca_data}"})),
    Case("server-without-scheme-is-http", kc(cluster={"server": "127.0.0.1:{plain_port}"})),
    Case("server-without-scheme-sends-no-token", kc(cluster={"server": "127.0.0.1:{plain_port}"}, user={"token": "t"})),
    Case("server-port-out-of-range", kc(cluster={"server": "https://127.0.0.1:99999"})),
    Case("server-port-not-a-number", kc(cluster={"server": "https://127.0.0.1:abc"})),
    Case("server-ftp-scheme", kc(cluster={"server": "ftp://127.0.0.1:{plain_port}"})),
    Case("server-path-without-scheme", kc(cluster={"server": "127.0.0.1:{plain_port}/x"})),
    Case("server-refused", kc(cluster={"server": "https://127.0.0.1:1", "certificate-authority-data": "{ca_data}"})),
    Case("server-ipv6", kc(cluster={"server": "{v6}", "certificate-authority-data": "{ca_data}"})),
    Case("server-ipv6-refused", kc(cluster={"server": "https://[::1]:1", "certificate-authority-data": "{ca_data}"})),
    Case("server-flag", kc(cluster={"server": "https://127.0.0.1:1", "certificate-authority-data": "{ca_data}"}),
         flags=("--server={main}",)),
    Case("server-flag-short", kc(cluster={"server": "https://127.0.0.1:1", "certificate-authority-data": "{ca_data}"}),
         flags=("-s", "{main}")),
]

HTTP = [
    Case("http-no-token", kc(cluster={"server": "{plain}"})),
    Case("http-no-basic", kc(cluster={"server": "{plain}"}, user={"username": "admin", "password": "pw"})),
    Case("http-exec-not-run", kc(cluster={"server": "{plain}"}, user=exec_user()), exec_reply=exec_reply()),
    Case("http-no-client-cert", kc(cluster={"server": "{plain}"},
                                   user={"client-certificate-data": "{alice_cert_data}", "client-key-data": "{alice_key_data}"})),
    Case("http-token-file-not-read", kc(cluster={"server": "{plain}"}, user={"tokenFile": "missing"})),
    Case("http-auth-provider-unused", kc(cluster={"server": "{plain}"}, user={"auth-provider": {"name": "gcp"}})),
    Case("http-impersonation-still-sent", kc(cluster={"server": "{plain}"}, user={"token": "t", "as": "jane",
                                                                              "as-groups": ["devs"]})),
    Case("http-token-flag-not-sent", kc(cluster={"server": "{plain}"}), flags=("--token=flag-token",)),
    Case("http-insecure-flag-irrelevant", kc(cluster={"server": "{plain}"}), flags=("--insecure-skip-tls-verify",)),
    Case("http-ca-and-insecure-not-checked", kc(cluster={"server": "{plain}", "insecure-skip-tls-verify": True,
                                                         "certificate-authority-data": "{ca_data}"})),
    Case("http-missing-ca-file-still-checked", kc(cluster={"server": "{plain}", "certificate-authority": "missing.pem"})),
]

PROXY = [
    Case("https-proxy-connect", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}"}),
    Case("https-proxy-lowercase", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"https_proxy": "{http_proxy}"}),
    Case("https-proxy-without-scheme", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "127.0.0.1:{http_proxy_port}"}),
    Case("https-proxy-credentials", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "http://pu:p%40ss@127.0.0.1:{http_proxy_port}"}),
    Case("https-proxy-not-for-loopback", kc(), env={"HTTPS_PROXY": "{http_proxy}"}),
    Case("https-proxy-not-for-localhost", kc(cluster={"server": "https://localhost:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}"}),
    Case("http-proxy-ignored-for-https", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTP_PROXY": "{http_proxy}"}, hosts=True),
    Case("http-proxy-forwards-http", kc(cluster={"server": "http://api.test:{plain_port}"}), env={"HTTP_PROXY": "{http_proxy}"}),
    Case("http-proxy-credentials-forward", kc(cluster={"server": "http://api.test:{plain_port}"}),
         env={"HTTP_PROXY": "http://pu:pw@127.0.0.1:{http_proxy_port}"}),
    Case("http-proxy-cgi-refused", kc(cluster={"server": "http://api.test:{plain_port}"}),
         env={"HTTP_PROXY": "{http_proxy}", "REQUEST_METHOD": "GET"}),
    Case("no-proxy-exact", kc(cluster={"server": "https://direct.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "direct.test"}, hosts=True),
    Case("no-proxy-domain-matches-subdomain", kc(cluster={"server": "https://svc.corp.test:{main_port}",
                                                          "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "corp.test"}, hosts=True),
    Case("no-proxy-leading-dot", kc(cluster={"server": "https://svc.corp.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": ".corp.test"}, hosts=True),
    Case("no-proxy-leading-dot-not-the-domain", kc(cluster={"server": "https://api.test:{main_port}",
                                                            "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": ".api.test"}),
    Case("no-proxy-wildcard-domain", kc(cluster={"server": "https://svc.corp.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "*.corp.test"}, hosts=True),
    Case("no-proxy-port-match", kc(cluster={"server": "https://direct.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "direct.test:{main_port}"}, hosts=True),
    Case("no-proxy-port-mismatch", kc(cluster={"server": "https://direct.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "direct.test:1"}),
    Case("no-proxy-star", kc(cluster={"server": "https://direct.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "*"}, hosts=True),
    Case("no-proxy-lowercase-and-spaces", kc(cluster={"server": "https://direct.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{http_proxy}", "no_proxy": " other.example , DIRECT.test "}, hosts=True),
    Case("no-proxy-cidr-other-net", kc(cluster={"server": "https://192.0.2.10:{main_port}", "insecure-skip-tls-verify": True}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "10.0.0.0/8"}),
    Case("no-proxy-other-ip", kc(cluster={"server": "https://192.0.2.10:{main_port}", "insecure-skip-tls-verify": True}),
         env={"HTTPS_PROXY": "{http_proxy}", "NO_PROXY": "192.0.2.11"}),
    Case("proxy-url-http", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                       "proxy-url": "{http_proxy}"})),
    Case("proxy-url-even-for-loopback", kc(cluster=dict(SECURE, **{"proxy-url": "{http_proxy}"}))),
    Case("proxy-url-beats-no-proxy", kc(cluster={"server": "https://direct.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                                  "proxy-url": "{http_proxy}"}), env={"NO_PROXY": "*"}),
    Case("proxy-url-beats-env", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                            "proxy-url": "{socks}"}), env={"HTTPS_PROXY": "{http_proxy}"}),
    Case("proxy-url-socks5", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                         "proxy-url": "{socks}"})),
    Case("proxy-url-socks5-credentials", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                                     "proxy-url": "socks5://su:sp@127.0.0.1:{socks_port}"})),
    Case("proxy-url-socks5-http-server", kc(cluster={"server": "http://api.test:{plain_port}", "proxy-url": "{socks}"})),
    Case("proxy-url-http-for-http-server", kc(cluster={"server": "http://api.test:{plain_port}", "proxy-url": "{http_proxy}"})),
    Case("proxy-url-credentials", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                              "proxy-url": "http://pu:pw@127.0.0.1:{http_proxy_port}"})),
    Case("proxy-url-bad-scheme", kc(cluster=dict(SECURE, **{"proxy-url": "ftp://u:secret@127.0.0.1:1"}))),
    Case("proxy-url-unparsable", kc(cluster=dict(SECURE, **{"proxy-url": "http://u:secret@127.0.0.1:abc"}))),
    Case("proxy-refused", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                      "proxy-url": "http://127.0.0.1:1"})),
    Case("env-socks5", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "{socks}"}),
    Case("env-https-scheme-proxy", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}"}),
         env={"HTTPS_PROXY": "https://127.0.0.1:{http_proxy_port}"}, deliberate=HTTPS_PROXY_SCHEME,
         ours={"outcome": "proxy"}),
    Case("proxy-exec-cluster-info", kc(cluster={"server": "https://api.test:{main_port}", "certificate-authority-data": "{ca_data}",
                                                "proxy-url": "{http_proxy}"}, user=exec_user(provideClusterInfo=True)),
         exec_reply=exec_reply()),
]

FLAGS = [
    Case("namespace-from-context", kc()),
    Case("namespace-default", kc(namespace=None)),
    Case("namespace-flag", kc(), flags=("-n", "flagged")),
    Case("namespace-flag-long", kc(), flags=("--namespace=flagged",)),
    Case("context-flag", kc(more={"contexts": [{"name": "other", "context": {"cluster": "k", "user": "u", "namespace": "ctx2"}}]}),
         flags=("--context=other",)),
    Case("context-flag-missing", kc(), flags=("--context=nope",)),
    Case("current-context-missing", kc(current="gone")),
    Case("cluster-flag", kc(more={"clusters": [{"name": "k2", "cluster": {"server": "{plain}"}}]}), flags=("--cluster=k2",)),
    Case("cluster-flag-missing", kc(), flags=("--cluster=nope",)),
    Case("user-flag", kc(more={"users": [{"name": "u2", "user": {"token": "second"}}]}), flags=("--user=u2",)),
    Case("user-flag-missing", kc(), flags=("--user=nope",)),
    Case("context-names-missing-user", kc(context={"user": "ghost"}), deliberate=MISSING_USER, ours={"outcome": "config"}),
    Case("context-names-missing-user-with-token-flag", kc(context={"user": "ghost"}), flags=("--token=flag-token",)),
    Case("context-names-missing-cluster", kc(context={"cluster": "ghost"}), deliberate=NO_SERVER, ours={"outcome": "config"}),
    Case("context-null", kc(more={"contexts": [{"name": "n", "context": None}]}, current="n"), deliberate=NO_SERVER,
         ours={"outcome": "config"}),
    Case("cluster-without-server", kc(cluster={"certificate-authority-data": "{ca_data}"}), deliberate=NO_SERVER,
         ours={"outcome": "config"}),
    Case("as-user", kc(), flags=("--as=jane",)),
    Case("as-groups-repeated", kc(), flags=("--as=jane", "--as-group=devs", "--as-group=ops")),
    Case("as-uid", kc(), flags=("--as=jane", "--as-uid=1234")),
    Case("as-uid-without-as", kc(), flags=("--as-uid=1234",)),
    Case("as-group-without-as", kc(), flags=("--as-group=devs",)),
    Case("kubeconfig-impersonation", kc(user={"token": "t", "as": "kc-user", "as-uid": "9", "as-groups": ["a", "b"],
                                              "as-user-extra": {"scopes": ["read", "write"],
                                                                "example.com/Team Name%": ["x"]}})),
    Case("as-flag-keeps-kubeconfig-groups", kc(user={"token": "t", "as": "kc-user", "as-groups": ["kc-group"]}),
         flags=("--as=flag-user",)),
    Case("as-group-flag-replaces-kubeconfig-groups", kc(user={"token": "t", "as": "kc-user", "as-groups": ["kc-group"]}),
         flags=("--as-group=flag-group",)),
    Case("kubeconfig-extra-without-as", kc(user={"token": "t", "as-user-extra": {"k": ["v"]}})),
    Case("as-with-newline-is-refused", kc(), flags=("--as=jane\nX-Injected: 1",)),
    Case("request-timeout-valid", kc(), flags=("--request-timeout=30s",)),
    Case("request-timeout-bare-seconds", kc(), flags=("--request-timeout=30",)),
    Case("request-timeout-invalid", kc(), flags=("--request-timeout=soon",)),
    Case("kubeconfig-flag-missing-file", None, flags=("--kubeconfig={dir}/missing",)),
    Case("kubeconfig-flag-beats-env", kc(), env={"KUBECONFIG": "{dir}/missing"}),
    Case("kubernetes-master-env", kc(cluster={"certificate-authority-data": "{ca_data}"}), env={"KUBERNETES_MASTER": "{plain}"}),
]

MERGE = [
    Case("kubeconfig-env-single", kubeconfig_env=(kc(),)),
    Case("kubeconfig-env-first-current-context-wins", kubeconfig_env=(
        kc(current="c"), kc(cluster={"server": "{plain}"}, current="second",
                            more={"contexts": [{"name": "second", "context": {"cluster": "k", "user": "u"}}]}))),
    Case("kubeconfig-env-first-cluster-wins", kubeconfig_env=(
        {"clusters": [{"name": "k", "cluster": SECURE}]}, kc(cluster={"server": "{plain}"}))),
    Case("kubeconfig-env-first-user-wins-whole", kubeconfig_env=(
        {"users": [{"name": "u", "user": {"username": "first"}}]},
        kc(user={"token": "second-token"}))),
    Case("kubeconfig-env-second-supplies-context", kubeconfig_env=(
        {"current-context": "c2", "clusters": [{"name": "k", "cluster": SECURE}]},
        kc(more={"contexts": [{"name": "c2", "context": {"cluster": "k", "user": "u", "namespace": "merged"}}]}))),
    Case("kubeconfig-env-missing-file-skipped", kubeconfig_env=(None, kc())),
    Case("kubeconfig-env-all-missing", kubeconfig_env=(None, None), deliberate=NO_SERVER, ours={"outcome": "config"}),
    Case("kubeconfig-env-empty-file", kubeconfig_env=("", kc())),
    Case("kubeconfig-env-duplicate-path", env={"KUBECONFIG": "{dir}/config-0:{dir}/config-0"}, kubeconfig_env=(kc(),)),
    Case("kubeconfig-env-empty-entries", env={"KUBECONFIG": "::{dir}/config-0:"}, kubeconfig_env=(kc(),)),
    Case("kubeconfig-env-broken-file", kubeconfig_env=(kc(), "clusters: 5\n")),
    Case("kubeconfig-env-relative-path-per-file", kubeconfig_env=(
        {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
         "clusters": [{"name": "k", "cluster": SECURE}]},
        {"users": [{"name": "u", "user": {"tokenFile": "tok"}}]}), files={"tok": "relative-to-second"}),
    Case("home-kubeconfig", home_config=kc()),
    Case("kubeconfig-flag-ignores-env", kc(), kubeconfig_env=(kc(cluster={"server": "{plain}"}),)),
    Case("no-kubeconfig-at-all", deliberate=NO_SERVER, ours={"outcome": "config"}),
    Case("duplicate-cluster-names-in-one-file", kc(more={"clusters": [{"name": "k", "cluster": {"server": "{plain}"}}]})),
]

SA_FILES = {"token": "sa-token\n", "ca.crt": "{ca_file_text}", "namespace": "sa-ns\n"}
IN_CLUSTER_ENV = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "{main_port}"}

IN_CLUSTER = [
    Case("in-cluster", service_account=SA_FILES, env=IN_CLUSTER_ENV),
    Case("in-cluster-pod-namespace", service_account=SA_FILES, env=dict(IN_CLUSTER_ENV, POD_NAMESPACE="from-env")),
    Case("in-cluster-no-namespace-file", service_account={"token": "sa-token", "ca.crt": "{ca_file_text}"},
         env=IN_CLUSTER_ENV),
    Case("in-cluster-namespace-flag", service_account=SA_FILES, env=IN_CLUSTER_ENV, flags=("-n", "flagged")),
    Case("in-cluster-token-flag", service_account=SA_FILES, env=IN_CLUSTER_ENV, flags=("--token=flag-token",)),
    Case("in-cluster-ca-flag", service_account=dict(SA_FILES, **{"ca.crt": "garbage"}), env=IN_CLUSTER_ENV,
         flags=("--certificate-authority={ca_file}",)),
    Case("in-cluster-no-ca", service_account={"token": "sa-token"}, env=IN_CLUSTER_ENV),
    Case("in-cluster-insecure-flag-ignored", service_account={"token": "sa-token"}, env=IN_CLUSTER_ENV,
         flags=("--insecure-skip-tls-verify",)),
    Case("in-cluster-ipv6", service_account=SA_FILES, env={"KUBERNETES_SERVICE_HOST": "::1",
                                                          "KUBERNETES_SERVICE_PORT": "{v6_port}"}),
    Case("in-cluster-kubeconfig-wins", kc(namespace=None), service_account=SA_FILES, env=IN_CLUSTER_ENV),
    Case("in-cluster-namespace-for-kubeconfig", kc(namespace=None, cluster={"server": "{plain}"}),
         service_account=SA_FILES, env=IN_CLUSTER_ENV),
    Case("in-cluster-explicit-default-namespace", kc(namespace="default", cluster={"server": "{plain}"}),
         service_account=SA_FILES, env=IN_CLUSTER_ENV),
    Case("in-cluster-without-port", service_account=SA_FILES, env={"KUBERNETES_SERVICE_HOST": "127.0.0.1"},
         deliberate=NO_SERVER, ours={"outcome": "config"}),
    Case("in-cluster-with-server-flag", service_account=SA_FILES, env=IN_CLUSTER_ENV, flags=("--server={plain}",)),
    Case("in-cluster-request-timeout", service_account=SA_FILES, env=IN_CLUSTER_ENV, flags=("--request-timeout=20s",),
         deliberate=NO_SERVER, ours={"outcome": "config"}),
    Case("in-cluster-as", service_account=SA_FILES, env=IN_CLUSTER_ENV, flags=("--as=jane",),
         deliberate=NO_SERVER, ours={"outcome": "config"}),
]

HOSTILE = [
    Case("hostile-clusters-number", "clusters: 5\n"),
    Case("hostile-cluster-string", "clusters: [abc]\n"),
    Case("hostile-ca-number", kc(cluster={"server": "{main}", "certificate-authority": 5})),
    Case("hostile-server-list", kc(cluster={"server": ["{main}"]})),
    Case("hostile-exec-command-number", kc(user={"exec": {"apiVersion": V1, "command": 5, "interactiveMode": "Never"}})),
    Case("hostile-as-user-extra-list", kc(user={"token": "t", "as": "x", "as-user-extra": ["a"]})),
    Case("hostile-as-groups-string", kc(user={"token": "t", "as": "x", "as-groups": "system:masters"})),
    Case("hostile-exec-args-string", kc(user=exec_user(args="hello")), exec_reply=exec_reply()),
    Case("hostile-insecure-string", kc(cluster={"server": "{main}", "insecure-skip-tls-verify": "yes"})),
    Case("hostile-not-utf8", b"clusters: [{name: k, cluster: {server: \"\xff\"}}]\n"),
    Case("hostile-kind", "apiVersion: v1\nkind: Pod\n"),
    Case("hostile-top-level-list", "- a\n- b\n"),
    Case("hostile-ca-data-not-base64", kc(cluster={"server": "{main}", "certificate-authority-data": "!!"})),
    Case("hostile-yaml-syntax", "clusters: [\n"),
    Case("hostile-date-server", kc(cluster={"server": "2020-01-01"}, user={})),
]

CASES = AUTH + TLS + SERVERS + HTTP + PROXY + FLAGS + MERGE + IN_CLUSTER + HOSTILE
