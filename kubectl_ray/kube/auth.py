"""Credentials for API requests, in client-go's order: token (tokenFile re-read), basic, auth-provider, exec.

Only https connections get credentials (kubeconfig.py leaves them out for http). Exec credential
plugins (`gke-gcloud-auth-plugin`, `aws eks get-token`, `kubelogin`, ...) follow client-go's
protocol: KUBERNETES_EXEC_INFO in, an ExecCredential on stdout. As in client-go, a plugin does not
run when a token, password or client certificate already authenticates; its result is cached until
its `expirationTimestamp`, and it runs again after a 401. Unlike kubectl, a plugin never outlives
--request-timeout.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

from kubectl_ray.kube.deadline import Deadline, DeadlineExceeded
from kubectl_ray.kube.errors import ConfigError
from kubectl_ray.kube.headers import check_header_value, escape_extra_key
from kubectl_ray.kube.kubeconfig import ConnectionConfig
from kubectl_ray.kube.kubeconfig_file import MAX_REFERENCED_FILE_BYTES, AuthProviderSpec, ExecSpec, read_capped

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
TOKEN_FILE_PERIOD = 60.0  # client-go re-reads a tokenFile at most once a minute
OIDC_EXPIRY_LEEWAY = 10.0  # client-go treats an id-token as expired 10 s early
_MAX_EXEC_OUTPUT = 1024 * 1024

Header = tuple[str, bytes]


class Authenticator:
    """Authorization and impersonation headers, and a client certificate, for one connection config."""

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        if (config.token or config.token_file) and config.username:
            raise ConfigError("username/password or bearer token may be set, but not both")
        self._file_token: str | None = None
        self._file_read_at = 0.0
        self._exec: ExecPlugin | None = None
        if config.exec_spec is not None and not self._static_credentials():
            self._exec = ExecPlugin(config.exec_spec, config.exec_cluster)
        self._provider = OIDCProvider(config.auth_provider) if config.auth_provider else None

    def _static_credentials(self) -> bool:
        """client-go skips the exec plugin when these already authenticate."""
        config = self.config
        return bool(config.token or config.token_file or config.username or config.password
                    or config.client_cert_data)

    # --- public ------------------------------------------------------------------------------

    def headers(self, deadline: Deadline | None = None) -> list[Header]:
        """Authorization and impersonation headers for one request (values checked, UTF-8)."""
        items: list[Header] = []
        authorization = self._authorization(deadline or Deadline(self.config.timeout))
        if authorization:
            items.append(authorization)
        config = self.config
        if config.impersonate_user:
            items.append(("Impersonate-User", check_header_value(config.impersonate_user, "the user to impersonate (--as or as)")))
            if config.impersonate_uid:
                items.append(("Impersonate-Uid", check_header_value(config.impersonate_uid, "the uid to impersonate (--as-uid or as-uid)")))
            items += [("Impersonate-Group", check_header_value(g, "a group to impersonate (--as-group or as-groups)"))
                      for g in config.impersonate_groups]
            for key, values in config.impersonate_extra.items():
                name = "Impersonate-Extra-" + escape_extra_key(key)
                items += [(name, check_header_value(v, f"the as-user-extra value of {key!r}")) for v in values]
        return items

    def client_certificate(self, deadline: Deadline | None = None) -> tuple[bytes, bytes] | None:
        if self.config.client_cert_data and self.config.client_key_data:
            return self.config.client_cert_data, self.config.client_key_data
        if self._exec is not None:  # the credentials this request's headers just fetched, if any
            return (self._exec.current() or self._exec.credentials(deadline or Deadline(self.config.timeout))).certificate
        return None

    def refresh(self) -> bool:
        """After a 401: forget the exec plugin's credentials; True if a retry could help."""
        if self._exec is None:
            return False
        self._exec.forget()
        return True

    # --- internals -----------------------------------------------------------------------------

    def _authorization(self, deadline: Deadline) -> Header | None:
        config = self.config
        token = self._token()
        if token:
            return ("Authorization", check_header_value("Bearer " + token, self._token_source()))
        if config.username:  # client-go sends basic auth only with a user name
            raw = f"{config.username or ''}:{config.password or ''}".encode()
            return ("Authorization", b"Basic " + base64.b64encode(raw))
        if self._provider is not None:
            return ("Authorization", check_header_value("Bearer " + self._provider.id_token(),
                                                        "the oidc auth-provider's id-token"))
        if self._exec is not None:
            exec_token = self._exec.credentials(deadline).token
            if exec_token:
                return ("Authorization", check_header_value("Bearer " + exec_token, self._exec.name))
        return None

    def _token(self) -> str | None:
        """A tokenFile wins over an inline token and is re-read (rotated tokens), as in client-go."""
        if not self.config.token_file:
            return self.config.token
        with self._lock:
            if self._file_token is None or time.monotonic() - self._file_read_at >= TOKEN_FILE_PERIOD:
                self._file_token = self._read_token_file() or self._file_token
                self._file_read_at = time.monotonic()
            token = self._file_token or (self.config.token or "").strip()  # else what was read at start
        if not token:
            raise ConfigError(f'read empty token from file "{self.config.token_file}"')
        return token

    def _read_token_file(self) -> str | None:
        path = self.config.token_file or ""
        try:
            return read_capped(path, MAX_REFERENCED_FILE_BYTES, f'tokenFile "{path}"').decode("utf-8", "replace").strip() or None
        except (OSError, ConfigError):
            return None  # client-go keeps the last token it read

    def _token_source(self) -> str:
        if self.config.token_file:
            return f'the token in tokenFile "{self.config.token_file}"'
        return "the bearer token (--token or the kubeconfig user's token)"


class _ExecCredentials:
    def __init__(self, token: str | None, certificate: tuple[bytes, bytes] | None, expires: float | None) -> None:
        self.token = token
        self.certificate = certificate
        self.expires = expires  # time.time() value, or None


class ExecPlugin:
    """A client-go exec credential plugin: run once, cached until it expires or the server says 401."""

    def __init__(self, spec: ExecSpec, cluster: dict[str, Any] | None) -> None:
        if spec.api_version not in EXEC_API_VERSIONS:
            raise ConfigError(f'exec plugin: invalid apiVersion "{spec.api_version}"')
        self.spec = spec
        self.cluster = cluster
        self.name = f"exec plugin {spec.command}"
        self._cached: _ExecCredentials | None = None
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def current(self) -> "_ExecCredentials | None":
        """The cached credentials, even if they expired since they were fetched for this request."""
        with self._lock:
            return self._cached

    def credentials(self, deadline: Deadline) -> _ExecCredentials:
        with self._lock:
            cached = self._cached
            if cached is None or (cached.expires is not None and time.time() > cached.expires):
                self._cached = cached = self._run(deadline)
            return cached

    def _run(self, deadline: Deadline) -> _ExecCredentials:
        spec = self.spec
        interactive = self._interactive()
        exec_info: dict[str, Any] = {"kind": "ExecCredential", "apiVersion": spec.api_version,
                                     "spec": {"interactive": interactive}}
        if spec.provide_cluster_info and self.cluster is not None:
            exec_info["spec"]["cluster"] = self.cluster
        env = dict(os.environ)
        env.update(dict(spec.env))
        env["KUBERNETES_EXEC_INFO"] = json.dumps(exec_info, separators=(",", ":"))
        stdout = self._execute([spec.command, *spec.args], env, interactive, deadline)
        return self._decode(stdout)

    def _interactive(self) -> bool:
        mode = self.spec.interactive_mode
        terminal = _stdin_is_terminal()
        if mode == "Always" and not terminal:
            raise ConfigError(f"getting credentials: {self.name} needs an interactive terminal (interactiveMode: "
                              "Always) but standard input is not a terminal")
        return mode != "Never" and terminal

    def _execute(self, argv: list[str], env: dict[str, str], interactive: bool, deadline: Deadline) -> bytes:
        try:
            deadline.remaining()  # past the deadline already: do not start the plugin
        except DeadlineExceeded:
            raise self._too_slow(deadline) from None
        try:
            # its own process group unless it talks to the terminal, so stopping it stops its children too
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, start_new_session=not interactive,
                                    stdin=None if interactive else subprocess.DEVNULL)
        except FileNotFoundError:
            hint = f"; {' '.join(self.spec.install_hint.split())}" if self.spec.install_hint else ""
            raise ConfigError(f"getting credentials: exec: executable {self.spec.command} not found{hint}") from None
        except OSError as exc:
            raise ConfigError(f"getting credentials: exec: {self.spec.command}: {exc.strerror or exc}") from None
        except ValueError:  # a NUL byte or "=" in the command, its arguments or an env name
            raise ConfigError(f"getting credentials: exec: the exec command, its args or env names of "
                              f"{self.name} contain a character a process cannot take") from None
        try:
            stdout = self._collect(proc, deadline)
            proc.wait(timeout=deadline.remaining())
        except (DeadlineExceeded, subprocess.TimeoutExpired):
            raise self._too_slow(deadline) from None
        finally:
            if proc.poll() is None:  # too slow, too chatty, or Ctrl-C: never leave a plugin behind
                _stop(proc, group=not interactive)
            proc.stdout.close()  # type: ignore[union-attr]
        if proc.returncode != 0:
            raise ConfigError(f"getting credentials: exec: executable {self.spec.command} failed with exit code "
                              f"{proc.returncode}")
        return stdout

    def _collect(self, proc: subprocess.Popen, deadline: Deadline) -> bytes:
        """The plugin's stdout until it closes it, within the deadline and at most 1 MiB."""
        import selectors

        chunks, size = [], 0
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
            while True:
                if not selector.select(deadline.remaining()):
                    raise DeadlineExceeded("exec plugin")
                chunk = os.read(proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
                size += len(chunk)
                if size > _MAX_EXEC_OUTPUT:
                    raise ConfigError(f"getting credentials: exec: executable {self.spec.command} printed more than "
                                      f"{_MAX_EXEC_OUTPUT // 1024} KiB; an ExecCredential is far smaller")

    def _too_slow(self, deadline: Deadline) -> ConfigError:
        return ConfigError(f"getting credentials: exec: executable {self.spec.command} did not finish within "
                           f"{deadline.seconds:g}s (--request-timeout); it was stopped")

    def _decode(self, stdout: bytes) -> _ExecCredentials:
        def bad(problem: str) -> ConfigError:
            return ConfigError(f"getting credentials: {self.name}: {problem}")

        try:
            doc = json.loads(stdout.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise bad("decoding stdout: not an ExecCredential (JSON)") from None
        if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
            raise bad("decoding stdout: not an ExecCredential (kind must be ExecCredential)")
        if doc.get("apiVersion") != self.spec.api_version:
            raise bad(f"exec plugin is configured to use API version {self.spec.api_version}, plugin returned "
                      f"version {doc.get('apiVersion')}")
        status = doc.get("status")
        if not isinstance(status, dict):
            raise bad("exec plugin didn't return a status field")
        token, cert, key = (_string(status, k, bad) for k in ("token", "clientCertificateData", "clientKeyData"))
        if not token and not cert and not key:
            raise bad("exec plugin didn't return a token or cert/key pair")
        if bool(cert) != bool(key):
            raise bad("exec plugin returned only certificate or key, not both")
        return _ExecCredentials(token or None, (cert.encode(), key.encode()) if cert else None,
                                _expiry(status.get("expirationTimestamp"), bad))


def _stop(proc: subprocess.Popen, *, group: bool) -> None:
    import signal

    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass  # it exited meanwhile
    proc.wait()


def _string(status: dict[str, Any], key: str, bad: Any) -> str:
    value = status.get(key)
    if value is not None and not isinstance(value, str):
        raise bad(f"decoding stdout: status.{key} must be a string")
    return value or ""


def _expiry(value: Any, bad: Any) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()
    except ValueError:
        raise bad("decoding stdout: status.expirationTimestamp is not an RFC 3339 time") from None


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and os.isatty(sys.stdin.fileno())
    except (AttributeError, ValueError, OSError):
        return False


class OIDCProvider:
    """kubectl's `oidc` auth-provider, reading the id-token from the kubeconfig.

    kubectl refreshes an expired id-token with the refresh-token and writes it back to the kubeconfig;
    we refuse instead (no writes to the user's kubeconfig) and say how to get a fresh one.
    """

    def __init__(self, spec: AuthProviderSpec) -> None:
        if spec.name in ("gcp", "azure"):
            plugin = "gke-gcloud-auth-plugin" if spec.name == "gcp" else "kubelogin"
            raise ConfigError(f'The {spec.name} auth plugin has been removed. Please use the "{plugin}" '
                              "kubectl/client-go credential plugin instead.")
        if spec.name != "oidc":
            raise ConfigError(f'no Auth Provider found for name "{spec.name}"')
        for key in ("idp-issuer-url", "client-id"):
            if not spec.config.get(key):
                raise ConfigError(f"oidc auth-provider: Must provide {key}")
        self.config = spec.config

    def id_token(self) -> str:
        token = self.config.get("id-token") or ""
        if token and _jwt_expiry(token) > time.time() + OIDC_EXPIRY_LEEWAY:
            return token
        if not self.config.get("refresh-token"):
            raise ConfigError("oidc auth-provider: No valid id-token, and cannot refresh without refresh-token")
        raise ConfigError("oidc auth-provider: the id-token in the kubeconfig has expired; kubectl ray does not write "
                          "refreshed tokens into the kubeconfig: run any kubectl command once (it refreshes it) or "
                          "log in again with your OIDC helper")


def _jwt_expiry(token: str) -> float:
    parts = token.split(".")
    if len(parts) != 3:
        raise ConfigError("oidc auth-provider: ID Token is not a valid JWT")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(claims.get("exp") or 0) if isinstance(claims, dict) else 0.0
    except (ValueError, TypeError):
        raise ConfigError("oidc auth-provider: parsing claims of the id-token failed") from None
