"""Packaging: the krew archive (a zipapp), plugin.yaml against krew's rules, pip into a fresh venv.

The archive is built once per module from a snapshot of the sources (other work may change the
tree meanwhile); building it needs pip and the package index (or pip's cache).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from kubectl_ray import __version__
from kubectl_ray._build import (BuildError, BuildResult, build, build_epoch, krew_version,
                                project_root, stage_sources)
from tests.conftest import ray_cluster

pytestmark = pytest.mark.slow  # builds the archive (pip install) and installs into fresh venvs
KUBECTL = "/usr/bin/kubectl"
REPO = project_root()
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
                    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
KREW_PLATFORMS = [("windows", "386"), ("windows", "amd64"), ("windows", "arm64"), ("linux", "386"), ("linux", "amd64"),
                  ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"), ("darwin", "386"), ("darwin", "amd64"),
                  ("darwin", "arm64")]  # krew cmd/validate-krew-manifest allPlatforms()
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
LICENSE_NAMES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying", "copying.txt"}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage_sources(REPO, tmp_path_factory.mktemp("snapshot") / "src")


@pytest.fixture(scope="module")
def built(snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    out = tmp_path_factory.mktemp("dist")
    return build(snapshot, out, out / "plugin.yaml")


@pytest.fixture(scope="module")
def zipapp_bytes(built: BuildResult) -> bytes:
    with tarfile.open(built.archive) as tar:
        return tar.extractfile("kubectl-ray").read()


@pytest.fixture
def extracted(built: BuildResult, tmp_path: Path) -> Path:
    """The archive unpacked into an empty directory, as krew does."""
    target = tmp_path / "krew-install"
    target.mkdir()
    with tarfile.open(built.archive) as tar:
        tar.extractall(target, filter="tar") if hasattr(tarfile, "data_filter") else tar.extractall(target)
    return target


def zip_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


# --- the archive ---------------------------------------------------------------------------------------

def test_archive_holds_the_executable_and_the_license(built: BuildResult):
    assert built.archive.name == f"kubectl-ray-v{__version__}.tar.gz"
    with tarfile.open(built.archive) as tar:
        members = tar.getmembers()
        assert [(m.name, m.mode, m.uid, m.gid, m.mtime, m.isfile()) for m in members] == [
            ("kubectl-ray", 0o755, 0, 0, build_epoch(), True), ("LICENSE", 0o644, 0, 0, build_epoch(), True)]
        assert tar.extractfile("LICENSE").read() == (REPO / "LICENSE").read_bytes()


def test_executable_is_a_zipapp_of_the_plugin_and_its_pure_python_dependencies(zipapp_bytes: bytes):
    assert zipapp_bytes.startswith(b"#!/usr/bin/env python3\n")
    names = zip_names(zipapp_bytes)
    assert names == sorted(names)
    for needed in ("__main__.py", "kubectl_ray/cli/__init__.py", "kubectl_ray/completion.py",
                   "kubectl_ray/websocket.py", "click/__init__.py", "yaml/__init__.py"):
        assert needed in names, needed
    compiled = [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".pyc")) or "__pycache__" in n]
    assert compiled == []
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"__main__.py", "kubectl_ray", "click", "yaml", "_yaml"}
    assert not [n for n in names if n.endswith("_test.py")]


def test_the_bundle_holds_the_plugin_click_and_pyyaml_only(built: BuildResult):
    """Nothing else is needed at run time: the transport, pod exec and the log tail are stdlib."""
    assert sorted(pin.split("==")[0] for pin in built.bundled) == ["click", "kubectl-ray", "pyyaml"]


def test_rebuilding_the_same_sources_gives_the_same_bytes(built: BuildResult, snapshot: Path, tmp_path: Path):
    """Same sources, same interpreter, same dependency versions -> same bytes, however busy the machine.
    The versions are pinned: the index may publish a new certifi or tzdata between two builds."""
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in built.bundled if not pin.startswith("kubectl-ray==")))
    again = build(snapshot, tmp_path, tmp_path / "plugin.yaml", python=built.python, constraint=str(constraints))
    assert again.bundled == built.bundled
    assert again.sha256 == built.sha256
    assert (tmp_path / "plugin.yaml").read_text() == built.manifest.read_text()


def test_the_build_leaves_the_tracked_plugin_yaml_alone_unless_asked(tmp_path: Path):
    """Issue 15: `python -m kubectl_ray._build` rewrote the tracked plugin.yaml."""
    from kubectl_ray._build import main, manifest_path

    assert manifest_path(REPO, tmp_path, None, False) == tmp_path / "plugin.yaml"
    assert manifest_path(REPO, tmp_path, None, True) == REPO / "plugin.yaml"
    assert manifest_path(REPO, tmp_path, tmp_path / "x.yaml", False) == tmp_path / "x.yaml"
    with pytest.raises(SystemExit) as exc:
        main(["--update-plugin-yaml", "--manifest", str(tmp_path / "x.yaml")])
    assert exc.value.code == 2


def test_a_missing_license_stops_the_build(tmp_path: Path, snapshot: Path):
    incomplete = tmp_path / "src"
    stage_sources(snapshot, incomplete)
    (incomplete / "LICENSE").unlink()
    with pytest.raises(BuildError, match="LICENSE is missing"):
        build(incomplete, tmp_path / "dist", tmp_path / "plugin.yaml")


# --- running it as krew installs it ---------------------------------------------------------------------

def system_python_dir() -> Path:
    """A directory with a python3 that is not this virtualenv's."""
    for directory in (Path(getattr(sys, "_base_executable", "")).parent, Path("/usr/bin")):
        python = directory / "python3"
        if not python.exists() or Path(sys.prefix) in python.resolve().parents:
            continue
        out = subprocess.run([str(python), "-c", "import sys; print(sys.version_info >= (3, 10))"],
                             capture_output=True, text=True)
        if out.stdout.strip() == "True":
            return directory
    pytest.skip("no system python3 >= 3.10 outside the virtualenv")


def plugin_env(*dirs: Path, home: Path, **extra: str) -> dict[str, str]:
    """PATH of only these dirs; no PYTHONPATH, VIRTUAL_ENV or KUBECONFIG."""
    env = {"PATH": os.pathsep.join(str(d) for d in dirs), "HOME": str(home), "KUBECACHEDIR": str(home / "cache")}
    env.update(extra)
    return env


def kubectl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    if not os.path.exists(KUBECTL):
        pytest.skip(f"{KUBECTL} is missing")
    return subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, timeout=60)


def operator_deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "kuberay-operator", "namespace": "kuberay-system",
                         "labels": {"app.kubernetes.io/name": "kuberay-operator"}},
            "spec": {"template": {"spec": {"containers": [{"name": "kuberay-operator",
                                                            "image": "quay.io/kuberay/operator:v1.7.0"}]}}},
            "status": {"availableReplicas": 1}}


@pytest.mark.kubectl
def test_kubectl_runs_the_unpacked_archive_with_only_system_python(extracted: Path, emulator, tmp_path: Path):
    env = plugin_env(extracted, system_python_dir(), home=tmp_path)
    done = kubectl("ray", "version", "--client", env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"kubectl ray plugin version: {__version__}\n", "")

    emulator.emu.add(operator_deployment())
    done = kubectl("ray", "version", "--kubeconfig", emulator.kubeconfig, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"kubectl ray plugin version: {__version__}\n"
                           "KubeRay operator version: v1.7.0 (kuberay-system/kuberay-operator)\n"
                           "Compatibility: KubeRay v1.7.0 is supported\n")

    done = kubectl("ray", "create", "cluster", "x", "--dry-run", "--kubeconfig", emulator.kubeconfig, env=env)
    assert done.returncode == 0, done.stderr
    obj = yaml.safe_load(done.stdout)
    assert (obj["apiVersion"], obj["kind"], obj["metadata"]["name"]) == ("ray.io/v1", "RayCluster", "x")
    assert emulator.emu.writes() == []

    done = kubectl("ray", "options", env=env)
    assert done.returncode == 0 and "--kubeconfig" in done.stdout


@pytest.mark.kubectl
def test_the_plugin_imports_only_from_the_archive(extracted: Path, tmp_path: Path):
    """PYTHONVERBOSE makes Python log where every module comes from: ours, click and yaml come from the zip."""
    env = plugin_env(extracted, system_python_dir(), home=tmp_path, PYTHONVERBOSE="1")
    done = kubectl("ray", "version", "--client", "-o", "yaml", env=env)  # -o yaml: yaml gets imported too
    assert done.returncode == 0, done.stderr[-2000:]
    assert yaml.safe_load(done.stdout) == {"clientVersion": {"plugin": __version__}}
    archive = str(extracted / "kubectl-ray")
    imports = re.findall(r"^import '((?:kubectl_ray|click|yaml)(?:\.[\w.]+)?)' # (.*)$", done.stderr, re.MULTILINE)
    assert {name.split(".")[0] for name, _ in imports} == {"kubectl_ray", "click", "yaml"}
    assert all(f'<zipimporter object "{archive}/' in origin for _, origin in imports), imports
    venv_site = [p for p in sys.path if p.startswith(sys.prefix) and p.endswith("site-packages")]
    assert venv_site and not any(site in done.stderr for site in venv_site)


@pytest.mark.kubectl
def test_a_completer_link_to_the_archive_completes(extracted: Path, emulator, tmp_path: Path):
    (extracted / "kubectl_complete-ray").symlink_to(extracted / "kubectl-ray")
    emulator.emu.add(ray_cluster("x", "team-a"))
    env = plugin_env(extracted, system_python_dir(), home=tmp_path)
    done = kubectl("__complete", "ray", "ver", env=env)
    if "About to call" not in done.stderr:
        pytest.skip("this kubectl does not complete plugins (needs 1.26+)")
    assert done.stdout == "version\tShow the plugin and KubeRay operator versions\n:4\n"
    done = kubectl("__complete", "ray", "version", "--kubeconfig", emulator.kubeconfig, "-n", "team", env=env)
    assert done.stdout == "team-a\n:4\n"


def run_zipapp(extracted: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(extracted / "kubectl-ray"), *args], capture_output=True, text=True, env=env, timeout=60)


def test_zipapp_keeps_its_bytecode_in_the_user_cache(extracted: Path, tmp_path: Path):
    pydir = system_python_dir()
    tag = subprocess.run([str(pydir / "python3"), "-c", "import sys; print(sys.implementation.cache_tag)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    root = tmp_path / ".cache" / "kubectl-ray"
    (root / "zipapp-0000000000000000").mkdir(parents=True)  # an older build's cache
    env = plugin_env(extracted, pydir, home=tmp_path)
    first = run_zipapp(extracted, "version", "--client", env=env)
    assert (first.returncode, first.stderr) == (0, "")
    (cache,) = root.iterdir()  # the older build's cache is gone
    assert cache.name.startswith("zipapp-") and cache.name != "zipapp-0000000000000000"
    cached = {p.name for p in cache.iterdir()}
    for module in ("click.core", "kubectl_ray.cli.root", "kubectl_ray.cli.version"):
        assert f"{module}.{tag}.pyc" in cached
    corrupt = cache / f"click.core.{tag}.pyc"
    corrupt.write_bytes(b"garbage")
    again = run_zipapp(extracted, "version", "--client", env=env)
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, "")
    assert corrupt.read_bytes() != b"garbage"  # recompiled and rewritten


def test_zipapp_runs_without_a_writable_cache(extracted: Path, tmp_path: Path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    env = plugin_env(extracted, system_python_dir(), home=tmp_path, XDG_CACHE_HOME=str(not_a_dir))
    done = run_zipapp(extracted, "version", "--client", env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"kubectl ray plugin version: {__version__}\n", "")
    env = plugin_env(extracted, system_python_dir(), home=tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert run_zipapp(extracted, "version", "--client", env=env).returncode == 0
    assert not (tmp_path / ".cache").exists()


def test_an_old_python3_gets_one_clear_line(extracted: Path, tmp_path: Path):
    old = next((p for p in sorted(Path(os.environ.get("PYENV_ROOT", "/nonexistent"), "versions").glob("3.[6-9].*/bin/python3"))
                if p.exists()), None)
    if old is None:
        pytest.skip("no Python < 3.10 on this machine")
    bindir = tmp_path / "oldbin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(old)
    done = subprocess.run([str(extracted / "kubectl-ray"), "version"], capture_output=True, text=True,
                          env={"PATH": str(bindir), "HOME": str(tmp_path)})
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: kubectl-ray needs Python 3.10 or newer, but it was started by Python 3.")


@pytest.mark.kubectl
def test_pip_and_krew_copies_coexist_and_kubectl_warns_about_the_shadowed_one(extracted: Path, tmp_path: Path):
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "kubectl-ray").exists():
        pytest.skip("kubectl-ray is not installed in this environment")
    env = plugin_env(extracted, venv_bin, system_python_dir(), home=tmp_path)
    done = kubectl("plugin", "list", env=env)
    both = done.stdout + done.stderr
    assert f"{extracted}/kubectl-ray" in both and f"{venv_bin}/kubectl-ray" in both
    assert f"{venv_bin}/kubectl-ray is overshadowed by a similarly named plugin: {extracted}/kubectl-ray" in both
    assert "kubectl_complete-ray" not in done.stdout


# --- plugin.yaml against krew's rules ----------------------------------------------------------------------

def selector_matches(selector: dict, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics for the keys krew uses."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, vals = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        ok = {"In": present and labels[key] in vals, "NotIn": not present or labels[key] not in vals,
              "Exists": present, "DoesNotExist": not present}[op]
        if not ok:
            return False
    return True


def krew_problems(manifest: dict, file_name: str) -> list[str]:
    """krew's ValidatePlugin, validate-krew-manifest's platform checks and the krew-index review rules."""
    problems = []
    spec = manifest.get("spec") or {}
    name = (manifest.get("metadata") or {}).get("name", "")
    if manifest.get("apiVersion") != "krew.googlecontainertools.github.com/v1alpha2":
        problems.append("apiVersion")
    if manifest.get("kind") != "Plugin":
        problems.append("kind")
    if not re.fullmatch(r"[\w-]+", name) or name.upper() in WINDOWS_RESERVED:
        problems.append("name")
    if file_name != f"{name}.yaml" and file_name != "plugin.yaml":
        problems.append("file name")
    short = spec.get("shortDescription", "")
    if not short or "\n" in short or "\r" in short or len(short) > 50:
        problems.append("shortDescription")
    if any(len(line) > 80 for line in spec.get("description", "").splitlines()):
        problems.append("description not wrapped at 80")
    if not SEMVER.match(spec.get("version", "")):
        problems.append("version")
    platforms = spec.get("platforms") or []
    if not platforms:
        problems.append("platforms")
    for index, platform in enumerate(platforms):
        selector = platform.get("selector") or {}
        keys = set(selector.get("matchLabels") or {}) | {e["key"] for e in selector.get("matchExpressions") or []}
        if not keys or keys - {"os", "arch"}:
            problems.append(f"platform {index} selector keys {keys}")
        if not any(selector_matches(selector, {"os": o, "arch": a}) for o, a in KREW_PLATFORMS):
            problems.append(f"platform {index} matches no platform")
        if not platform.get("uri") or not re.search(r"\.(tar\.gz|zip)$", platform["uri"]):
            problems.append(f"platform {index} uri")
        if not re.fullmatch(r"[a-f0-9]{64}", platform.get("sha256", "")):
            problems.append(f"platform {index} sha256")
        if not platform.get("bin"):
            problems.append(f"platform {index} bin")
        files = platform.get("files")
        if files is not None and (not files or any(not f.get("from") or not f.get("to") for f in files)):
            problems.append(f"platform {index} files")
    for o, a in KREW_PLATFORMS:
        matching = [i for i, p in enumerate(platforms) if selector_matches(p.get("selector") or {}, {"os": o, "arch": a})]
        if len(matching) > 1:
            problems.append(f"{o}/{a} matched by platforms {matching}")
    return problems


def served_platforms(manifest: dict) -> set[tuple[str, str]]:
    return {(o, a) for o, a in KREW_PLATFORMS
            if any(selector_matches(p["selector"], {"os": o, "arch": a}) for p in manifest["spec"]["platforms"])}


def test_generated_manifest_follows_krew_rules_and_names_the_archive(built: BuildResult):
    manifest = yaml.safe_load(built.manifest.read_text())
    assert krew_problems(manifest, "plugin.yaml") == []
    spec = manifest["spec"]
    assert manifest["metadata"]["name"] == "ray"
    assert spec["version"] == krew_version(__version__) == f"v{__version__}"
    assert served_platforms(manifest) == {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")}
    (platform,) = spec["platforms"]
    assert platform["sha256"] == built.sha256 == hashlib.sha256(built.archive.read_bytes()).hexdigest()
    assert platform["uri"].endswith(f"/releases/download/v{__version__}/{built.archive.name}")
    assert platform["bin"] == "kubectl-ray"
    assert platform["files"] == [{"from": "kubectl-ray", "to": "."}, {"from": "LICENSE", "to": "."}]
    with tarfile.open(built.archive) as tar:  # every `from` exists and a LICENSE-like file gets installed
        assert {f["from"] for f in platform["files"]} <= set(tar.getnames())
        assert any(n.lower() in LICENSE_NAMES for n in tar.getnames())
    assert "Python 3.10 or newer" in spec["caveats"]
    assert 'ln -s "$(command -v kubectl-ray)"' in spec["caveats"] and "kubectl_complete-ray" in spec["caveats"]


def test_repository_manifest_is_the_generated_one_up_to_the_checksum(built: BuildResult):
    """plugin.yaml in the repo comes from the build; its sha256 is refreshed at each release build."""
    committed = (REPO / "plugin.yaml").read_text()
    assert krew_problems(yaml.safe_load(committed), "plugin.yaml") == []
    without_sha = re.compile(r"sha256: [a-f0-9]{64}")
    assert without_sha.sub("sha256: X", committed) == without_sha.sub("sha256: X", built.manifest.read_text())


def test_manifest_homepage_is_the_project_homepage(built: BuildResult):
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert yaml.safe_load(built.manifest.read_text())["spec"]["homepage"] == project["urls"]["Homepage"]


def test_the_rule_checker_catches_what_krew_rejects(built: BuildResult):
    good = yaml.safe_load(built.manifest.read_text())
    bad = yaml.safe_load(built.manifest.read_text())
    bad["metadata"]["name"] = "con"
    bad["spec"]["version"] = "0.1.0"
    bad["spec"]["shortDescription"] = "x" * 51
    platform = good["spec"]["platforms"][0]
    bad["spec"]["platforms"] = [dict(platform, selector={"matchLabels": {"os": "linux"}}),
                                dict(platform, sha256="ABC"),
                                dict(platform, selector={"matchLabels": {"os": "linux", "distro": "debian"}})]
    problems = krew_problems(bad, "plugin.yaml")
    for expected in ("name", "version", "shortDescription", "platform 2 selector keys", "platform 1 sha256",
                     "linux/amd64 matched by platforms [0, 1]"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


# --- versions ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pep440, semver", [
    ("0.1.0", "v0.1.0"), ("1.2", "v1.2.0"), ("3", "v3.0.0"), ("0.3.0rc1", "v0.3.0-rc.1"), ("2.0.0-rc.1", "v2.0.0-rc.1"),
    ("1.0.0a2", "v1.0.0-alpha.2"), ("1.0.0b1", "v1.0.0-beta.1"), ("1.0.0c3", "v1.0.0-rc.3"), ("1.0.0rc", "v1.0.0-rc.0"),
    ("1.0.0.dev3", "v1.0.0-0.dev.3"), ("1.0.0+ubuntu.1", "v1.0.0+ubuntu.1"), ("v1.4.0", "v1.4.0"),
])
def test_pep440_versions_become_krew_semver(pep440: str, semver: str):
    assert krew_version(pep440) == semver
    assert SEMVER.match(semver)


@pytest.mark.parametrize("version", ["1.0.post1", "1.0-1", "1!1.0", "1.2.3.4", "1.0rc1.dev2", "banana", ""])
def test_versions_without_a_semver_equivalent_are_refused(version: str):
    with pytest.raises(BuildError):
        krew_version(version)


def test_krew_ordering_matches_pip_ordering():
    """krew upgrades when semver says newer: the conversion must keep PEP 440's order."""
    ordered = ["0.9.0", "1.0.0.dev1", "1.0.0a1", "1.0.0a2", "1.0.0b1", "1.0.0rc1", "1.0.0rc2", "1.0.0", "1.0.1.dev0",
               "1.0.1", "1.1.0a1", "1.1.0", "2.0.0"]
    keys = [semver_key(krew_version(v)) for v in ordered]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    packaging_version = pytest.importorskip("packaging.version")
    assert ordered == sorted(ordered, key=packaging_version.Version)


def semver_key(text: str) -> tuple:
    """semver 2.0 precedence: numeric identifiers below alphanumeric ones, a release above its pre-releases."""
    match = SEMVER.match(text)
    assert match
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    idents = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, idents)


# --- pip into a fresh virtualenv ------------------------------------------------------------------------------

def test_pip_install_into_a_fresh_venv_gives_both_console_scripts(snapshot: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["HOME"] = os.path.expanduser("~")  # let pip use its cache
    done = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           str(snapshot)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run_env = {"PATH": f"{bindir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    version = subprocess.run([str(bindir / "kubectl-ray"), "--version"], capture_output=True, text=True, env=run_env)
    assert (version.returncode, version.stdout) == (0, f"kubectl ray, version {__version__}\n")
    completer = subprocess.run([str(bindir / "kubectl_complete-ray"), ""], capture_output=True, text=True, env=run_env)
    assert completer.returncode == 0 and completer.stderr == ""
    lines = completer.stdout.splitlines()
    assert lines[-1] == ":4" and "version\tShow the plugin and KubeRay operator versions" in lines
