"""The `create cluster --file` schema: upstream's kebab-case keys plus one key for every flag.

Strict: an unknown or repeated key, or a value of the wrong type, is an error naming the key and
its line (the YAML is composed into nodes, which keep their positions). Example (see also
examples/create-cluster.yaml):

    name: demo
    ray-version: 2.52.0
    head: {cpu: 2, memory: 4Gi}
    worker-groups:
    - name: gpu
      replicas: 2
      gpu: 1
      runtime-class-name: nvidia
      tolerations: ["nvidia.com/gpu:NoSchedule"]

Defaults are the flags' defaults: the head gets 2 CPU / 4Gi; without `worker-groups` there is one
group `default-group` (1 replica, 2 CPU, 4Gi); each listed group starts from those same defaults
(upstream gave listed groups no replicas, CPU or memory unless written) and is named
`default-group`, `default-group-1`, ... when it has no name. `image` defaults to
`rayproject/ray:<ray-version>`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable

from kubectl_ray.errors import UsageError
from kubectl_ray.shapes import MIB, ShapeError, TooLarge, check_depth, read_stream_capped
from kubectl_ray.parsing import parse_tolerations
from kubectl_ray.resources.cluster import (
    DEFAULT_GROUP_NAME, ClusterOptions, GcsFaultToleranceOptions, GcsFuseOptions, OptionNames,
    WorkerGroupOptions, parse_secret_ref,
)

# A cluster config is a page of options; these bound what a wrong file (say /dev/zero, or a YAML alias
# bomb) can make us read or build.
MAX_CONFIG_BYTES = 4 * MIB
MAX_CONFIG_VALUES = 100_000

# key -> (value kind, attribute). Kinds: str, quantity, int, bool, map, number-map, tolerations,
# secret-ref, or a nested schema (dict) / list of schemas ([dict]).
_POD_KEYS: dict[str, Any] = {
    "cpu": ("quantity", "cpu"),
    "gpu": ("quantity", "gpu"),
    "memory": ("quantity", "memory"),
    "ephemeral-storage": ("quantity", "ephemeral_storage"),
    "ray-start-params": ("map", "ray_start_params"),
    "node-selectors": ("map", "node_selectors"),
    "runtime-class-name": ("str", "runtime_class_name"),
    "tolerations": ("tolerations", "tolerations"),
    "resources": ("map", "resources"),
    "ray-resources": ("number-map", "ray_resources"),
    "env": ("map", "env"),
}
HEAD_KEYS: dict[str, Any] = {**_POD_KEYS, "service-type": ("str", "service_type")}
WORKER_GROUP_KEYS: dict[str, Any] = {
    "name": ("str", "name"),
    "replicas": ("int", "replicas"),
    "min-replicas": ("int", "min_replicas"),
    "max-replicas": ("int", "max_replicas"),
    "num-of-hosts": ("int", "num_of_hosts"),
    "tpu": ("quantity", "tpu"),
    **_POD_KEYS,
}
AUTOSCALER_KEYS = {
    "version": ("str", "autoscaler"),
    "idle-timeout-seconds": ("int", "autoscaler_idle_timeout_seconds"),
    "upscaling-mode": ("str", "autoscaler_upscaling_mode"),
}
GCS_FT_KEYS = {
    "redis-address": ("str", "redis_address"),
    "redis-password-secret": ("secret-ref", "redis_password_secret"),
    "external-storage-namespace": ("str", "external_storage_namespace"),
}
GCSFUSE_RESOURCE_KEYS = {
    "cpu": ("quantity", "cpu"),
    "memory": ("quantity", "memory"),
    "ephemeral-storage": ("quantity", "ephemeral_storage"),
}
GCSFUSE_KEYS = {
    "bucket-name": ("str", "bucket_name"),
    "mount-path": ("str", "mount_path"),
    "mount-options": ("str", "mount_options"),
    "disable-metrics": ("bool", "disable_metrics"),
    "gcsfuse-metadata-prefetch-on-mount": ("bool", "gcsfuse_metadata_prefetch_on_mount"),
    "skip-csi-bucket-access-check": ("bool", "skip_csi_bucket_access_check"),
    "resources": GCSFUSE_RESOURCE_KEYS,
}
TOP_KEYS: dict[str, Any] = {
    "name": ("str", "name"),
    "namespace": ("str", "namespace"),
    "labels": ("map", "labels"),
    "annotations": ("map", "annotations"),
    "ray-version": ("str", "ray_version"),
    "image": ("str", "image"),
    "service-account": ("str", "service_account"),
    "env": ("map", "env"),
    "head": HEAD_KEYS,
    "worker-groups": [WORKER_GROUP_KEYS],
    "autoscaler": AUTOSCALER_KEYS,
    "gcs-fault-tolerance": GCS_FT_KEYS,
    "gke": {"gcsfuse": GCSFUSE_KEYS},
}
_CLUSTER_PATHS = {
    "autoscaler": "autoscaler.version",
    "autoscaler_idle_timeout_seconds": "autoscaler.idle-timeout-seconds",
    "autoscaler_upscaling_mode": "autoscaler.upscaling-mode",
    "redis_address": "gcs-fault-tolerance.redis-address",
    "redis_password_secret": "gcs-fault-tolerance.redis-password-secret",
    "external_storage_namespace": "gcs-fault-tolerance.external-storage-namespace",
}


@dataclass
class ConfigFile:
    """A parsed config file: the cluster options plus what the file said about name and namespace."""

    source: str
    options: ClusterOptions
    name: str | None
    namespace: str | None
    names: "FileNames"


class FileNames(OptionNames):
    """Names options as `head.cpu (cluster.yaml line 5)`, for errors found after parsing."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines

    def at(self, path: str) -> str:
        probe = path
        while probe not in self.lines and ("." in probe or "[" in probe):
            probe = probe[: max(probe.rfind("."), probe.rfind("["))]
        line = self.lines.get(probe)
        return f"{path} ({self.source} line {line})" if line else f"{path} ({self.source})"

    def cluster(self, name: str) -> str:
        return self.at(_CLUSTER_PATHS.get(name, name.replace("_", "-")))

    def head(self, name: str) -> str:
        return self.at("head." + name.replace("_", "-"))

    def worker(self, index: int, name: str) -> str:
        return self.at(f"worker-groups[{index}].{name.replace('_', '-')}")

    def gcsfuse(self, name: str) -> str:
        return self.at("gke.gcsfuse." + name.replace("_", "-"))


class ConfigError(UsageError):
    pass


def load_config_file(path: str) -> ConfigFile:
    """Read and parse `--file PATH` (`-` = stdin), at most MAX_CONFIG_BYTES of it."""
    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = read_stream_capped(sys.stdin, MAX_CONFIG_BYTES)
        else:
            with open(path, encoding="utf-8") as fh:
                text = read_stream_capped(fh, MAX_CONFIG_BYTES)
    except TooLarge:
        raise ConfigError(f"--file {path}: larger than {MAX_CONFIG_BYTES // MIB} MiB; no cluster config is that "
                          "big (is it the right file?)") from None
    except FileNotFoundError:
        raise ConfigError(f"--file {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"--file {path}: is a directory, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--file {path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"--file {path}: cannot read it: {exc.strerror or exc}") from None
    return parse_config(text, source)


def parse_config(text: str, source: str = "config") -> ConfigFile:
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        check_depth(yaml.load(text, Loader=loader_cls), f"--file {source}", max_values=MAX_CONFIG_VALUES)
        root = yaml.compose(text, Loader=loader_cls)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--file {source}: not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ConfigError(f"--file {source}: nested too deeply") from None
    except ShapeError as exc:
        raise ConfigError(exc.message) from None
    reader = _Reader(source)
    data = reader.read_object(root, TOP_KEYS, "") if root is not None else {}
    return ConfigFile(source, _options(data), data.get("name"), data.get("namespace"), FileNames(source, reader.lines))


def _yaml_problem(exc: Any) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


class _Reader:
    """Turns composed YAML nodes into plain values, checking keys and types against a schema."""

    def __init__(self, source: str) -> None:
        import yaml

        self.yaml = yaml
        self.source = source
        self.lines: dict[str, int] = {}
        self._constructor = yaml.SafeLoader("")

    def error(self, node: Any, message: str) -> ConfigError:
        return ConfigError(f"--file {self.source}: line {node.start_mark.line + 1}: {message}")

    def read_object(self, node: Any, schema: dict[str, Any], path: str) -> dict[str, Any]:
        if not isinstance(node, self.yaml.MappingNode):
            what = path or "the file"
            raise self.error(node, f"{what} must be a mapping of keys to values, not {self._describe(node)}")
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, self.yaml.ScalarNode) else None
            if key is None:
                raise self.error(key_node, f"keys in {path or 'the file'} must be plain strings")
            where = f"{path}.{key}" if path else key
            if key not in schema:
                allowed = ", ".join(sorted(schema))
                raise self.error(key_node, f'unknown key "{key}" in {path or "the file"} (allowed keys: {allowed})')
            if key in result:
                raise self.error(key_node, f'key "{where}" is given twice')
            self.lines[where] = key_node.start_mark.line + 1
            result[key] = self.read_value(value_node, schema[key], where)
        return result

    def read_value(self, node: Any, kind: Any, path: str) -> Any:
        if isinstance(kind, dict):
            if self._is_null(node):
                return {}
            return self.read_object(node, kind, path)
        if isinstance(kind, list):
            if self._is_null(node):
                return []
            if not isinstance(node, self.yaml.SequenceNode):
                raise self.error(node, f"{path} must be a list, not {self._describe(node)}")
            items = []
            for index, item in enumerate(node.value):
                item_path = f"{path}[{index}]"
                self.lines[item_path] = item.start_mark.line + 1
                items.append(self.read_object(item, kind[0], item_path))
            return items
        name, _attr = kind
        reader: Callable[[Any, str], Any] = getattr(self, "_read_" + name.replace("-", "_"))
        return reader(node, path)

    # --- leaf kinds ---------------------------------------------------------------------------

    def _read_str(self, node: Any, path: str) -> str | None:
        if self._is_null(node):
            return None
        if not isinstance(node, self.yaml.ScalarNode):
            raise self.error(node, f"{path} must be a string, not {self._describe(node)}")
        return node.value  # the text as written: `ray-version: 2.50` stays "2.50"

    def _read_quantity(self, node: Any, path: str) -> str | None:
        if self._is_null(node):
            return None
        if not isinstance(node, self.yaml.ScalarNode) or self._value(node) is True or self._value(node) is False:
            raise self.error(node, f"{path} must be a resource quantity such as 2, 500m or 4Gi, not {self._describe(node)}")
        return node.value

    def _read_int(self, node: Any, path: str) -> int | None:
        if self._is_null(node):
            return None
        value = self._value(node) if isinstance(node, self.yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, f"{path} must be an integer, not {self._describe(node)}")
        return value

    def _read_bool(self, node: Any, path: str) -> bool | None:
        if self._is_null(node):
            return None
        value = self._value(node) if isinstance(node, self.yaml.ScalarNode) else None
        if not isinstance(value, bool):
            raise self.error(node, f"{path} must be true or false, not {self._describe(node)}")
        return value

    def _read_map(self, node: Any, path: str) -> dict[str, str]:
        return {k: self._scalar_text(v, f"{path}.{k}") for k, v in self._pairs(node, path)}

    def _read_number_map(self, node: Any, path: str) -> dict[str, float]:
        result: dict[str, float] = {}
        for key, value_node in self._pairs(node, path):
            value = self._value(value_node) if isinstance(value_node, self.yaml.ScalarNode) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.error(value_node, f"{path}.{key} must be a number, not {self._describe(value_node)}")
            result[key] = value
        return result

    def _read_tolerations(self, node: Any, path: str) -> list[dict[str, Any]]:
        if self._is_null(node):
            return []
        items = node.value if isinstance(node, self.yaml.SequenceNode) else [node]
        result: list[dict[str, Any]] = []
        for item in items:
            if not isinstance(item, self.yaml.ScalarNode):
                raise self.error(item, f"{path} must be taints such as key=value:NoSchedule, not {self._describe(item)}")
            try:
                result.extend(parse_tolerations(path, item.value))
            except UsageError as exc:
                raise self.error(item, exc.message) from None
        return result

    def _read_secret_ref(self, node: Any, path: str) -> tuple[str, str] | None:
        text = self._read_str(node, path)
        if text is None:
            return None
        try:
            return parse_secret_ref(path, text)
        except UsageError as exc:
            raise self.error(node, exc.message) from None

    # --- helpers ------------------------------------------------------------------------------

    def _pairs(self, node: Any, path: str) -> list[tuple[str, Any]]:
        if self._is_null(node):
            return []
        if not isinstance(node, self.yaml.MappingNode):
            raise self.error(node, f"{path} must be a mapping of keys to values, not {self._describe(node)}")
        pairs: list[tuple[str, Any]] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, self.yaml.ScalarNode) or not key_node.value:
                raise self.error(key_node, f"keys in {path} must be non-empty strings")
            if key_node.value in seen:
                raise self.error(key_node, f'key "{path}.{key_node.value}" is given twice')
            seen.add(key_node.value)
            self.lines[f"{path}.{key_node.value}"] = key_node.start_mark.line + 1
            pairs.append((key_node.value, value_node))
        return pairs

    def _scalar_text(self, node: Any, path: str) -> str:
        if not isinstance(node, self.yaml.ScalarNode) or self._is_null(node):
            raise self.error(node, f"{path} must be a string, number or boolean, not {self._describe(node)}")
        value = self._value(node)
        if isinstance(value, bool):
            return "true" if value else "false"
        return node.value

    def _value(self, node: Any) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except self.yaml.YAMLError as exc:
            raise self.error(node, f"cannot read this value: {_yaml_problem(exc)}") from None

    def _is_null(self, node: Any) -> bool:
        return isinstance(node, self.yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def _describe(self, node: Any) -> str:
        if isinstance(node, self.yaml.MappingNode):
            return "a mapping"
        if isinstance(node, self.yaml.SequenceNode):
            return "a list"
        if self._is_null(node):
            return "an empty value"
        return repr(node.value)


# --- data -> options ------------------------------------------------------------------------------


def _options(data: dict[str, Any]) -> ClusterOptions:
    options = ClusterOptions(name=data.get("name") or "")
    _assign(options, data, TOP_KEYS)
    options.image = options.image or None  # `image: ""` means rayproject/ray:<ray-version>, as --image ""
    if data.get("head") is not None:
        _assign(options.head, data["head"], HEAD_KEYS)
    if "worker-groups" in data:
        options.worker_groups = [_worker_group(index, raw) for index, raw in enumerate(data["worker-groups"])]
    if data.get("autoscaler"):
        _assign(options, data["autoscaler"], AUTOSCALER_KEYS)
    if data.get("gcs-fault-tolerance"):
        options.gcs_fault_tolerance = GcsFaultToleranceOptions()
        _assign(options.gcs_fault_tolerance, data["gcs-fault-tolerance"], GCS_FT_KEYS)
    gcsfuse = (data.get("gke") or {}).get("gcsfuse")
    if gcsfuse is not None:
        options.gcsfuse = GcsFuseOptions()
        _assign(options.gcsfuse, gcsfuse, GCSFUSE_KEYS)
        _assign(options.gcsfuse, gcsfuse.get("resources") or {}, GCSFUSE_RESOURCE_KEYS)
    return options


def _worker_group(index: int, raw: dict[str, Any]) -> WorkerGroupOptions:
    group = WorkerGroupOptions(name=DEFAULT_GROUP_NAME if index == 0 else f"{DEFAULT_GROUP_NAME}-{index}")
    _assign(group, raw, WORKER_GROUP_KEYS)
    return group


def _assign(target: Any, data: dict[str, Any], schema: dict[str, Any]) -> None:
    """Copy leaf values that were written (and are not empty) onto the options object."""
    for key, value in data.items():
        kind = schema.get(key)
        if not isinstance(kind, tuple) or value is None:
            continue
        _name, attr = kind
        if attr in ("name", "namespace") and target.__class__ is ClusterOptions:
            if attr == "name":
                target.name = value
            continue  # the namespace is resolved by the command (it may conflict with -n)
        setattr(target, attr, value)
