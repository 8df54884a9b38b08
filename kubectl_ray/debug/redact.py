"""Redaction: what must never leave the cluster in a diagnosis, a support bundle or an error line.

Where it runs (the "shared diagnostics" boundary). The collector keeps what it reads as it is, so rules
see real values and collection costs no redaction; what is *printed or written* goes through here:
the report (human and `-o json`: every finding, note, reason and collection error), the bundle (every
object, event, log tail and the metadata) and the debug command's error lines and `--debug`
tracebacks. `kubectl ray get -o yaml|json` is the user's own data as the API server gives it, like
kubectl, and is not redacted. Secret and ConfigMap values are never stored at all (collector.slim).

What is redacted, by class (the bundle's manifest counts them per class and file, never values):

* env-value: an env entry whose name contains PASS, PWD, SECRET, TOKEN, KEY, CREDENTIAL or AUTH
  (any case; PASSWD/PASSWORD included) - its value (valueFrom references are kept);
* secret-field: a string field whose key is a secret word (`redis-password`, `apiKey`, `authToken`,
  `redisPassword: {value: ...}`, annotation keys like `example.com/api-token`), but not keys that
  only name things (`secretKeyRef`, `keyRef`, `tokenSecretName`, `secretName`, `key`, `topologyKey`);
* argv-pair: in `command`/`args` lists, the item after a secret flag (`["--redis-password", "x"]`),
  mysql's `-pSECRET`, redis-cli's `-a X`, curl's `-u user:pw`;
* inside any text: flags joined by `=` or a space (cli-flag), `-pSECRET`/`-a X`/`-u user:pw` (cli-password),
  `name=value`/`name: value`/`"name": "value"` with a secret-looking name (assignment), any
  `Authorization:` scheme and `Basic|Bearer|Digest|...` credentials anywhere (authorization), URL
  userinfo including user-only `https://KEY@host` (url-userinfo), PEM private keys (private-key),
  JWTs and the usual cloud key formats: AWS AKIA/ASIA ids and (next to AWS words) 40-character secret
  keys, GitHub ghp_/github_pat_, Slack xox*, OpenAI/Anthropic sk-, Hugging Face hf_, Google AIza,
  GitLab glpat- (token-format), "password hunter2" in prose (spoken);
* the kubectl last-applied-configuration annotation: parsed and redacted like the object itself;
* known-value: the values redacted by key (env, fields, argv) are also removed wherever a rule quoted
  them in a finding (`Redactor.learn`).

Speed: most strings hold none of the words the patterns need, so one lower-cased substring test rejects
them before any regex runs, and results are cached (the same image names, labels and messages repeat
over thousands of pods).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

REDACTED = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# --- names ------------------------------------------------------------------------------------------

_ENV_SECRET = re.compile(r"(?i)pass|pwd|secret|token|key|credential|auth")
# keys that name or switch a secret rather than hold it (exact, compared case-insensitively)
STRUCTURAL_KEYS = frozenset(k.lower() for k in (
    "key", "keys", "name", "secretName", "secretKeyRef", "configMapKeyRef", "keyRef", "tokenSecretName",
    "serviceAccountToken", "automountServiceAccountToken", "keySecretRef", "topologyKey", "matchLabelKeys",
    "mismatchLabelKeys", "authOptions", "enableK8sTokenAuth", "secretRef", "secretKeyRefs", "keyPath",
    "passthrough", "imagePullSecrets",
))
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SECRET_WORDS = frozenset(("password", "passwd", "pass", "pwd", "passphrase", "secret", "secrets", "token", "tokens",
                           "credential", "credentials", "creds", "apikey", "auth", "authorization", "authtoken",
                           "accesskey", "secretkey", "privatekey", "signature", "sig"))
_KEY_OWNERS = frozenset(("api", "access", "private", "secret", "ssh", "encryption", "signing", "client", "master",
                         "account", "auth", "license", "session", "admin", "app", "service", "storage", "sas"))
# the last word of a key that names, locates or switches a secret: `tokenSecretName`, `passwordFile`, `authMode`
_NAMING_WORDS = frozenset(("name", "names", "ref", "refs", "selector", "path", "file", "mode", "type", "enabled", "enable",
                           "id", "ids", "length", "count", "url", "uri", "endpoint", "header", "format", "policy", "seconds"))


_ENV_CACHE: dict[str, bool] = {}


def sensitive(name: str) -> bool:
    """An env variable name that looks secret: *PASS*, *PWD*, *SECRET*, *TOKEN*, *KEY*, *CREDENTIAL*, *AUTH*."""
    hit = _ENV_CACHE.get(name)
    if hit is None:
        hit = _ENV_CACHE[name] = bool(name) and _ENV_SECRET.search(name) is not None
    return hit


_FIELD_CACHE: dict[str, bool] = {}


def sensitive_field(key: str) -> bool:
    """A field or annotation key whose string value is a secret (word-based, so `topologyKey` is not)."""
    hit = _FIELD_CACHE.get(key)
    if hit is None:
        hit = _FIELD_CACHE[key] = _field_words_secret(key)
    return hit


def _field_words_secret(key: str) -> bool:
    if not key or key.lower() in STRUCTURAL_KEYS or _ENV_SECRET.search(key) is None:
        return False
    words = [w.lower() for w in _WORDS.findall(key.rsplit("/", 1)[-1] if "/" in key else key)]
    if not words or words[-1] in _NAMING_WORDS:
        return False
    for i, word in enumerate(words):
        if word in _SECRET_WORDS:
            return True
        if word in ("key", "keys") and i and words[i - 1] in _KEY_OWNERS:
            return True
    return False


# --- text ---------------------------------------------------------------------------------------------

# Every pattern below needs at least one of these (lower-cased) to match: the cheap pre-check.
_HINTS = ("pass", "pwd", "token", "secret", "key", "cred", "auth", "bearer", "basic", "digest", "negotiate", "ntlm",
          "@", "-p", "-a", "-u", "--user", "eyj", "akia", "asia", "gh", "xox", "sk-", "hf_", "private", "aws", "sig",
          "glpat", "aiza", "begin")
_SCHEMES = frozenset(("basic", "bearer", "digest", "negotiate", "ntlm", "token", "aws4-hmac-sha256", "hoba", "mutual",
                      "vapid", "scram-sha-1", "scram-sha-256", "apikey", "sharedkey", "sso-key", "gosa"))
_Q = "[\"']"

_PEM = re.compile(r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S)
_AUTH_HEADER = re.compile(rf"(?i)(\b(?:proxy-)?authorization{_Q}?\s*[:=]\s*)"
                          r"(?:\"((?:[^\"\\\n]|\\.)*)\"|'((?:[^'\\\n]|\\.)*)'|([^\r\n]+))")
_SCHEME_CRED = re.compile(
    r"(?i)(\b(?:basic|bearer|negotiate|ntlm|token)\s+)(?!<redacted>)([A-Za-z0-9._~+/-]{8,}=*)"
    r"|(\b(?:digest|aws4-hmac-sha256|sharedkey)\s+)(?!<redacted>)([^\r\n]+)")
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]{0,30}://)([^/\s:@'\"<>]*)(?::([^\s/'\"<>]*))?@(?=[^\s@])")
_TOKEN_FORMATS = re.compile(
    r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"           # JWT
    r"|\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"  # AWS access key id
    r"|\bgh[oprsu]_[A-Za-z0-9]{20,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}"       # GitHub
    r"|\bxox[abeoprs]-[A-Za-z0-9-]{10,}"                                        # Slack
    r"|\bsk-(?:proj-|ant-(?:api\d+-)?|svcacct-)?[A-Za-z0-9_-]{20,}"            # OpenAI, Anthropic
    r"|\bhf_[A-Za-z0-9]{20,}|\bAIza[0-9A-Za-z_-]{30,}|\bglpat-[A-Za-z0-9_-]{20,}"  # Hugging Face, Google, GitLab
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}")                                # Stripe
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# A secret-looking name inside text (`DB_PASS`, `api_key`, `x-auth-token`, `X-Amz-Signature`), tested on whole
# identifiers only (patterns that search inside identifiers backtrack quadratically on long ones).
_TEXT_NAME = re.compile(r"(?i)passw(?:or)?d|passphrase|pass(?![a-z])|pwd|token|secret|api[_-]?key|access[_-]?key|"
                        r"private[_-]?key|[_-]key(?![a-z])|credential|auth(?!or|ori[sz]|ent)|signature|(?<![a-z])sig(?![a-z])")
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w.-]{0,200})(=[\"']?|\s+[\"']?)(?!-|<redacted>)([^\s\"',;&]+)")
_ASSIGN = re.compile(r"(?<![\w.-])([A-Za-z_][\w.-]{0,200})([\"']?\s*[=:]\s*)"
                     r"(?:\"([^\"\n]*)\"|'([^'\n]*)'|(?!<redacted>|[\w.-]+(?:[\"']?\s*:(?:\s|$)|=\w))([^\s\"',;&}]+))")
_MYSQL = re.compile(r"(\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n;|&]{0,500}?\s-p)(?!<redacted>)([^\s\"']+)")
_REDIS_CLI = re.compile(r"(\bredis-cli\b[^\n;|&]{0,500}?\s-a\s+)(?!<redacted>)([^\s\"']+)")
_CURL_USER = re.compile(r"((?<![\w-])(?:-u|--user)(?:\s+|=)[\"']?[^\s:\"']+:)(?!<redacted>)([^\s\"']+)")
_SPOKEN = re.compile(r"(?i)(\b(?:password|passwd|pwd|passphrase)\s+)(?!(?:for|in|is|of|to|the|and|from|with|was|not|has|"
                     r"must|should|missing|required|field|key|secret|auth|authentication|file|<redacted>)\b)([^\s\"'<>]{3,})")


def _pem(m: re.Match) -> str:
    return m.group(1) + REDACTED + m.group(3)


def _auth_header(m: re.Match) -> str:
    quote = '"' if m.group(2) is not None else "'" if m.group(3) is not None else ""
    value = next(g for g in m.groups()[1:] if g is not None).strip()
    scheme, _, rest = value.partition(" ")
    if value == REDACTED or rest.strip() == REDACTED:
        return m.group(0)
    keep = scheme + " " if rest and scheme.lower() in _SCHEMES else ""
    return f"{m.group(1)}{quote}{keep}{REDACTED}{quote}"


def _scheme_cred(m: re.Match) -> str:
    if m.group(1) is not None:
        cred = m.group(2)
        if cred.isalpha() and cred.islower():  # a word ("bearer authentication"), not a credential
            return m.group(0)
        return m.group(1) + REDACTED
    return m.group(3) + REDACTED


def _url_userinfo(m: re.Match) -> str:
    scheme, user, password = m.group(1), m.group(2), m.group(3)
    if password is not None:
        return f"{scheme}{user}:{REDACTED}@" if password != REDACTED else m.group(0)
    return m.group(0) if not user or user == REDACTED else f"{scheme}{REDACTED}@"


def _secret_text_name(name: str) -> bool:
    if name.lower() in STRUCTURAL_KEYS or _TEXT_NAME.search(name) is None:
        return False
    words = _WORDS.findall(name)
    return not words or words[-1].lower() not in _NAMING_WORDS


# `$REDIS_PASSWORD`, `${TOKEN}`, `$(API_KEY)`: a reference to a variable names where a secret is, it is not one
_VARIABLE_REF = re.compile(r"\$(?:[A-Za-z_]\w*|\{[A-Za-z_]\w*\}|\([A-Za-z_]\w*\))")


def _flag(m: re.Match) -> str:
    name = m.group(1).lstrip("-")
    if not sensitive_field(name) and not _secret_text_name(name) or _VARIABLE_REF.fullmatch(m.group(3)):
        return m.group(0)
    return m.group(1) + m.group(2) + REDACTED


def _assign(m: re.Match) -> str:
    name, sep = m.group(1), m.group(2)
    value = m.group(3) if m.group(3) is not None else m.group(4) if m.group(4) is not None else m.group(5)
    if not value or value == REDACTED or value.lower() in _SCHEMES or not _secret_text_name(name) \
            or _VARIABLE_REF.fullmatch(value):
        return m.group(0)
    quote = '"' if m.group(3) is not None else "'" if m.group(4) is not None else ""
    return f"{name}{sep}{quote}{REDACTED}{quote}"


def _aws_secret(m: re.Match) -> str:
    s = m.group(0)
    mixed = any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s)
    return REDACTED if mixed else s


def _keep_prefix(m: re.Match) -> str:
    return m.group(1) + REDACTED


def _spoken(m: re.Match) -> str:
    return m.group(0) if _VARIABLE_REF.fullmatch(m.group(2)) else m.group(1) + REDACTED


# (class, pattern, replacement), in order: structured forms first, so later patterns see <redacted>
_TEXT_RULES: tuple[tuple[str, re.Pattern, Any], ...] = (
    ("private-key", _PEM, _pem),
    ("authorization", _AUTH_HEADER, _auth_header),
    ("authorization", _SCHEME_CRED, _scheme_cred),
    ("url-userinfo", _URL_USERINFO, _url_userinfo),
    ("token-format", _TOKEN_FORMATS, REDACTED),
    ("cli-password", _MYSQL, _keep_prefix),
    ("cli-password", _REDIS_CLI, _keep_prefix),
    ("cli-password", _CURL_USER, _keep_prefix),
    ("cli-flag", _FLAG, _flag),
    ("assignment", _ASSIGN, _assign),
    ("spoken", _SPOKEN, _spoken),
)
_CACHE: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {}
_CACHE_LIMIT = 100_000


def _might_hold_secret(text: str) -> bool:
    lowered = text.lower()
    return any(h in lowered for h in _HINTS)


def _redact_text_counted(text: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    hit = _CACHE.get(text)
    if hit is not None:
        return hit
    out, counts = text, Counter()
    if _might_hold_secret(text):
        for cls, pattern, repl in _TEXT_RULES:
            out, n = pattern.subn(repl, out)
            if n:
                counts[cls] += n
        if "aws" in text.lower() or counts.get("token-format"):
            out, n = _AWS_SECRET.subn(_aws_secret, out)
            if n:
                counts["token-format"] += n
        counts = Counter({cls: n for cls, n in counts.items() if n})
        if out == text:
            counts.clear()
    result = (out, tuple(sorted(counts.items())))
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[text] = result
    return result


def redact_text(text: str) -> str:
    """Secrets inside free text (commands, messages, log lines, error text)."""
    if not text or not isinstance(text, str):
        return text
    return _redact_text_counted(text)[0]


# --- objects ------------------------------------------------------------------------------------------

_PLACEHOLDERS = frozenset(("set", "unset", "<unset>", '""', "true", "false", REDACTED))
_ENV_PATH = re.compile(r"env\[([^\]]+)\]\s*$")
_PATH_END = re.compile(r"([^\s.\[\]]+)\]?\s*$")


def path_names_secret(path: str) -> bool:
    """A field path (as evidence shows it) that ends in a secret: an env entry or a secret-looking key."""
    env = _ENV_PATH.search(path)
    if env:
        return sensitive(env.group(1))
    last = _PATH_END.search(path)
    return bool(last) and sensitive_field(last.group(1).lstrip("-"))


_ARGV_SECRETS: dict[tuple[str, ...], tuple[str, ...]] = {}
_MYSQL_TOOLS = frozenset(("mysql", "mysqldump", "mysqladmin", "mariadb"))
_BARE_FLAG = re.compile(r"^--?[A-Za-z][\w.-]*$")


class Redactor:
    """Redacts text and objects, counting what it removed by class; knows the values it redacted by key,
    so that a value quoted elsewhere (a finding, an error) is removed too."""

    MAX_KNOWN = 256  # distinct by-key secrets looked for in other text (each costs a substring test per string)

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._known: dict[str, None] = {}  # insertion-ordered set
        self._known_re: re.Pattern | None = None

    @classmethod
    def knowing(cls, snap: Any) -> "Redactor":
        """A Redactor that knows the secrets a Snapshot holds by key (its objects and dashboard answers)."""
        r = cls()
        r.learn_objects(snap.objects)
        r.learn_from(snap.deep)
        return r

    def adopt(self, other: "Redactor") -> None:
        """Know what another Redactor learned (the counts stay separate)."""
        for value in other._known:
            self._known.setdefault(value)
        self._known_re = None

    # text -------------------------------------------------------------------------------------------

    def text(self, text: Any) -> Any:
        if not isinstance(text, str) or not text:
            return text
        out, counts = _redact_text_counted(text)
        for cls, n in counts:
            self.counts[cls] += n
        if self._known and any(v in out for v in self._known):
            if self._known_re is None:
                self._known_re = re.compile("|".join(re.escape(v) for v in sorted(self._known, key=len, reverse=True)))
            out, n = self._known_re.subn(REDACTED, out)
            self.counts["known-value"] += n
        return out

    def learn(self, value: Any) -> None:
        """Remember a secret found by its key, to remove it wherever else it shows up."""
        if not isinstance(value, str):
            value = "" if value is None or isinstance(value, bool) else str(value)
        value = value.strip()
        if len(value) < 6 or REDACTED in value or (len(value) < 12 and value.isalpha() and value.islower()):
            return  # too short or too plain to look for safely in other text
        if value not in self._known and len(self._known) < self.MAX_KNOWN:
            self._known[value] = None
            self._known_re = None

    def learn_from(self, obj: Any) -> None:
        """Learn the by-key secrets of an object without copying it."""
        self.value(obj, _learn_only=True)

    def learn_objects(self, objects: dict[str, list[Any]]) -> None:
        """Learn the by-key secrets of collected objects. Pods are many and alike: only the parts that
        can hold a secret by key (annotations, env, command lines) are walked; events hold none by key."""
        for resource, objs in objects.items():
            if resource == "events":
                continue
            pods = resource in ("pods", "operatorpods")
            for obj in objs:
                if pods and isinstance(obj, dict):
                    self._learn_pod(obj)
                else:
                    self.learn_from(obj)

    def _learn_pod(self, pod: dict[str, Any]) -> None:
        meta, spec = pod.get("metadata"), pod.get("spec")
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
            self.value(meta["annotations"], "annotations", _learn_only=True)
        for key in ("containers", "initContainers"):
            containers = spec.get(key) if isinstance(spec, dict) else None
            for c in containers if isinstance(containers, list) else ():
                if not isinstance(c, dict):
                    continue
                env = c.get("env")
                for entry in env if isinstance(env, list) else ():
                    if isinstance(entry, dict) and "value" in entry and sensitive(str(entry.get("name", ""))):
                        self.learn(entry["value"])
                for part in ("args", "command"):
                    items = c.get(part)
                    if isinstance(items, list) and all(isinstance(v, str) for v in items):
                        self._learn_argv(tuple(items))

    def _learn_argv(self, items: tuple[str, ...]) -> None:
        """Pods of a group share their command lines: each distinct one is read once."""
        found = _ARGV_SECRETS.get(items)
        if found is None:
            probe = Redactor()
            probe._argv(list(items), True)
            found = _ARGV_SECRETS[items] = tuple(probe._known)
        for value in found:
            self.learn(value)

    def field(self, path: str, value: str) -> str:
        """A field's value shown next to its path: redacted whole when the path names a secret
        (`...env[DB_PASSWORD]`, `rayStartParams.redis-password`), unless it only says how it is set."""
        if value in _PLACEHOLDERS or not path_names_secret(path):
            return self.text(value)
        self.learn(value)
        self.counts["secret-field"] += 1
        return REDACTED

    # objects ----------------------------------------------------------------------------------------

    def value(self, value: Any, key: str = "", *, _learn_only: bool = False) -> Any:
        """A redacted copy of an object (dicts, lists, strings); with _learn_only, only learns its secrets."""
        if isinstance(value, dict):
            return self._dict(value, key, _learn_only)
        if isinstance(value, list):
            if key == "env":
                return [self._env(e, _learn_only) if isinstance(e, dict) else self.value(e, "", _learn_only=_learn_only)
                        for e in value]
            if key in ("args", "command") and all(isinstance(v, str) for v in value):
                return self._argv(value, _learn_only)
            return [self.value(v, key, _learn_only=_learn_only) for v in value]
        if isinstance(value, str):
            if key and value and sensitive_field(key):
                return self._by_key(value, "secret-field", _learn_only)
            return value if _learn_only else self.text(value)
        if key and value is not None and not isinstance(value, bool) and sensitive_field(key):
            return self._by_key(value, "secret-field", _learn_only)  # `redis-password: 12345` as a number
        return value

    def _by_key(self, value: Any, cls: str, learn_only: bool) -> Any:
        self.learn(value)
        if learn_only:
            return value
        self.counts[cls] += 1
        return REDACTED

    def _dict(self, obj: dict[str, Any], key: str, learn_only: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        secret_parent = bool(key) and sensitive_field(key)
        holds_values = obj.get("kind") in ("Secret", "ConfigMap") and not key
        for k, v in obj.items():
            if k == LAST_APPLIED and isinstance(v, str):
                out[k] = self._json_text(v, learn_only)
            elif holds_values and k in ("data", "stringData", "binaryData") and isinstance(v, dict):
                for item in v.values():
                    self.learn(item)
                if not learn_only:
                    self.counts["secret-data"] += len(v)
                out[k] = v if learn_only else {name: REDACTED for name in v}
            elif secret_parent and k == "value" and v not in ("", None):
                out[k] = self._by_key(v, "secret-field", learn_only)  # redisPassword: {value: ...}
            else:
                out[k] = self.value(v, k, _learn_only=learn_only)
        return out

    def _env(self, entry: dict[str, Any], learn_only: bool) -> dict[str, Any]:
        out = {k: (v if k == "name" else self.value(v, k, _learn_only=learn_only)) for k, v in entry.items() if k != "value"}
        if "value" in entry:
            value = entry["value"]
            if sensitive(str(entry.get("name", ""))) and value not in ("", None):
                out["value"] = self._by_key(value, "env-value", learn_only)
            else:
                out["value"] = value if learn_only else self.text(value)
        return out

    def _argv(self, items: list[str], learn_only: bool) -> list[str]:
        """A command line as a list: the value after a secret flag, and per-tool password forms."""
        out = list(items)
        tools = {item.rsplit("/", 1)[-1] for item in items}
        mysql, redis_cli, curl = bool(tools & _MYSQL_TOOLS), "redis-cli" in tools, bool(tools & {"curl", "wget"})
        for i, item in enumerate(items):
            nxt = items[i + 1] if i + 1 < len(items) else None
            if nxt is not None and not nxt.startswith("-") and _is_secret_flag(item, redis_cli, curl):
                if curl and item in ("-u", "--user") and ":" in nxt:
                    user, _, pw = nxt.partition(":")
                    self.learn(pw)
                    out[i + 1] = nxt if learn_only else f"{user}:{REDACTED}"
                    self.counts["argv-pair"] += 0 if learn_only else 1
                else:
                    out[i + 1] = self._by_key(nxt, "argv-pair", learn_only)
            elif mysql and item.startswith("-p") and len(item) > 2 and not item.startswith("-p" + REDACTED):
                self.learn(item[2:])
                out[i] = item if learn_only else "-p" + REDACTED
                self.counts["argv-pair"] += 0 if learn_only else 1
        if learn_only:
            return out
        return [v if v == REDACTED else self.text(v) for v in out]

    def _json_text(self, text: str, learn_only: bool) -> str:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return text if learn_only else self.text(text)
        redacted = self.value(doc, _learn_only=learn_only)
        return text if learn_only else json.dumps(redacted, separators=(",", ":"), sort_keys=True)


def _is_secret_flag(item: str, redis_cli: bool, curl: bool) -> bool:
    if item == "-a":
        return redis_cli
    if item in ("-u", "--user"):
        return curl
    return bool(_BARE_FLAG.match(item)) and sensitive_field(item.lstrip("-"))


def redact(value: Any, key: str = "") -> Any:
    """A redacted copy of an object (dicts, lists, strings)."""
    return Redactor().value(value, key)

