"""`python -m kubectl_ray._build`: build the krew archive and write plugin.yaml.

    python -m kubectl_ray._build                       # dist/kubectl-ray-vX.Y.Z.tar.gz + dist/plugin.yaml
    python -m kubectl_ray._build --update-plugin-yaml  # also refresh the tracked ./plugin.yaml (a release)
    python -m kubectl_ray._build --python python3.10   # pick the interpreter pip resolves for

The archive holds `kubectl-ray`, one self-contained executable, and `LICENSE`. The executable is
a stdlib zipapp (`#!/usr/bin/env python3` + a zip of our package and its dependencies), because:
- it runs in place: shiv would unpack ~30 MB into ~/.shiv on the first run (about 1.4 s), keep
  one copy per version, and needs a writable home; a zipapp needs nothing but python3 >= 3.10;
- stdlib zipapp cannot import compiled extensions from the zip, and it need not: the only
  dependencies, click and PyYAML, are pure Python (PyYAML falls back from libyaml), so all `.so`
  files are dropped and one archive serves linux and darwin on every architecture;
- no build tool beyond pip and the standard library.
Python never caches bytecode for modules in a zip, which made every start ~100 ms slower than
a pip install; kubectl_ray/_zipapp.py (the zipapp's entry) keeps the compiled code in
~/.cache/kubectl-ray/ instead (benchmarks/packaging_startup.py measures both).

Steps: copy the project's sources to a temp dir; `pip install --target` them with the oldest
supported Python (3.10 when one is found, so dependencies that only older Pythons need are
inside); prune what the plugin never imports (distributions no requirement reaches, tests, caches,
install records, compiled extensions); import every module of the plugin from the pruned tree in an isolated
interpreter (`-I -S`, so nothing outside the tree can satisfy an import); then write the zip,
the tar.gz and plugin.yaml with fixed timestamps, owners and order: rebuilding the same sources
with the same dependency versions gives the same sha256 (SOURCE_DATE_EPOCH overrides the time).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PLUGIN_NAME = "ray"  # the krew name; see the manifest header and CHANGELOG for why
EXECUTABLE = "kubectl-ray"
COMPLETER = "kubectl_complete-ray"
HOMEPAGE = "https://github.com/kubectl-ray/kubectl-ray"
URI_TEMPLATE = HOMEPAGE + "/releases/download/{tag}/kubectl-ray-{tag}.tar.gz"
MIN_PYTHON = (3, 10)
PLATFORMS = {"os": ("darwin", "linux"), "arch": ("amd64", "arm64")}
SHORT_DESCRIPTION = "Create, scale, debug KubeRay clusters and jobs"
DESCRIPTION = (
    "Manages Ray on Kubernetes with the KubeRay operator: creates RayClusters and RayJobs from flags "
    "or a config file, scales worker groups, shows clusters, worker groups, nodes, jobs and services as "
    "kubectl-style tables, submits Ray jobs without a local Ray install, keeps the dashboard port-forward "
    "alive, downloads Ray logs safely and diagnoses unhealthy clusters (GCS, autoscaler, operator "
    "version). It is a drop-in for KubeRay's Go plugin of the same name, with its bugs fixed."
)
PROBE_TIMEOUT = 300  # seconds an interpreter gets to say its version (generous: busy CI machines)
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry

COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
INSTALL_STATE_FILES = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
# Third-party modules our code imports at run time (lazily); the import check proves they load
# from the pruned tree alone.
RUNTIME_IMPORTS = ("click", "yaml")

ZIPAPP_MAIN = '''\
# kubectl-ray as one file: a zipapp built by `python -m kubectl_ray._build`.
# Installed as kubectl-ray it is the plugin; linked as kubectl_complete-ray it is the completer.
# Only Python 3.0 syntax before the version check, so an old python3 gets the message, not a SyntaxError.
import sys

if sys.version_info < (3, 10):
    sys.stderr.write("error: kubectl-ray needs Python 3.10 or newer, but it was started by Python %d.%d (%s); "
                     "put a newer python3 first on PATH\\n" % (sys.version_info[0], sys.version_info[1], sys.executable))
    sys.exit(1)

from kubectl_ray._zipapp import main

sys.exit(main("{build_id}"))
'''


class BuildError(Exception):
    """The build cannot go on; the message says why."""


@dataclass
class Distribution:
    name: str  # normalized (PEP 503)
    version: str
    dist_info: Path
    requires: list[str] = field(default_factory=list)  # normalized names, extras' requirements left out
    files: list[Path] = field(default_factory=list)


@dataclass
class BuildResult:
    archive: Path
    sha256: str
    manifest: Path
    version: str
    zipapp_size: int
    python: str
    bundled: list[str]
    dropped: list[str]


# --- versions ---------------------------------------------------------------------------------

_PEP440 = re.compile(
    r"^v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d+)?)?"
    r"(?:-(?P<post_implicit>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n>\d+)?)?"
    r"(?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$",
    re.IGNORECASE,
)
_PRE_NAMES = {"a": "alpha", "alpha": "alpha", "b": "beta", "beta": "beta", "c": "rc", "rc": "rc", "pre": "rc", "preview": "rc"}


def krew_version(version: str) -> str:
    """A PEP 440 version as krew's `v`-prefixed semver: 0.3.0rc1 -> v0.3.0-rc.1, 1.2 -> v1.2.0,
    1.0.0.dev2 -> v1.0.0-0.dev.2, 1.0+local.1 -> v1.0.0+local.1 (build metadata).

    Versions whose order semver cannot keep (epochs, post releases, dev releases of pre-releases)
    are refused: krew upgrades only to what semver calls newer.
    """
    match = _PEP440.match(version.strip())
    if not match:
        raise BuildError(f"version {version!r} is not a PEP 440 version")
    if match["epoch"] or match["post_implicit"] or match["post_l"]:
        raise BuildError(f"version {version!r}: epochs and post releases cannot be written as semver; release a new patch version")
    release = [int(part) for part in match["release"].split(".")]
    if len(release) > 3:
        raise BuildError(f"version {version!r} has more than three release numbers; semver has MAJOR.MINOR.PATCH")
    release += [0] * (3 - len(release))
    text = "v" + ".".join(str(part) for part in release)
    if match["pre_l"] and match["dev_l"]:
        raise BuildError(f"version {version!r}: a dev release of a pre-release sorts after it in semver; drop .dev")
    pre: list[str] = []
    if match["pre_l"]:
        pre += [_PRE_NAMES[match["pre_l"].lower()], str(int(match["pre_n"] or 0))]
    if match["dev_l"]:
        # 1.0.0.dev1 precedes 1.0.0a1: a leading numeric identifier sorts below `alpha` in semver
        pre += ["0", "dev", str(int(match["dev_n"] or 0))]
    if pre:
        text += "-" + ".".join(pre)
    if match["local"]:
        text += "+" + re.sub(r"[-_.]", ".", match["local"].lower())
    return text


def source_version(project: Path) -> str:
    """`__version__` of the sources being packaged (not of whatever kubectl_ray is imported)."""
    text = (project / "kubectl_ray" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if not match:
        raise BuildError("kubectl_ray/__init__.py has no __version__")
    return match.group(1)


# --- the build interpreter ----------------------------------------------------------------------

def python_version(python: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter that runs and has pip, else None (pyenv shims may not run).

    One that exists but does not answer is an error, not "absent": silently building with another
    Python on a busy machine would resolve other dependencies and give other bytes."""
    try:
        out = subprocess.run([python, "-c", "import sys, pip; print('%d %d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{python} did not answer within {PROBE_TIMEOUT}s; pass --python to choose one") from None
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 2:
        return None
    return int(parts[0]), int(parts[1])


def find_build_python(explicit: str | None = None) -> str:
    """The interpreter pip resolves dependencies for: the oldest supported Python we can find.

    pip evaluates environment markers (`python_version < "3.11"`) for the interpreter it runs on, so
    building with 3.10 keeps the backports a 3.10 user needs; newer Pythons simply ignore them.
    """
    if explicit:
        found = python_version(explicit)
        if found is None or found < MIN_PYTHON:
            raise BuildError(f"--python {explicit}: not a working Python >= 3.10 with pip")
        return explicit
    wanted = "%d.%d" % MIN_PYTHON
    candidates = [os.environ.get("KUBECTL_RAY_BUILD_PYTHON") or "", shutil.which(f"python{wanted}") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += [str(p) for p in sorted((pyenv_root / "versions").glob(f"{wanted}.*/bin/python{wanted}"), reverse=True)]
    for candidate in filter(None, candidates):
        if python_version(candidate) == MIN_PYTHON:
            return candidate
    return sys.executable


# --- staging and installing ---------------------------------------------------------------------

def stage_sources(project: Path, dest: Path) -> Path:
    """Copy what a wheel is built from, so pip writes its build files in a temp dir, not the checkout."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if not (project / name).is_file():
            raise BuildError(f"{project / name} is missing: run the build from a source checkout")
        shutil.copy2(project / name, dest / name)
    shutil.copytree(project / "kubectl_ray", dest / "kubectl_ray",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info"))
    return dest


def pip_install(python: str, source: Path, target: Path, constraint: str | None = None) -> None:
    cmd = [python, "-m", "pip", "install", "--quiet", "--target", str(target), "--no-compile",
           "--disable-pip-version-check", "--no-warn-script-location", "--no-input"]
    if constraint:
        cmd += ["--constraint", constraint]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_TARGET", "PIP_USER")}
    done = subprocess.run([*cmd, str(source)], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"pip install failed ({' '.join(cmd)}):\n{done.stderr.strip() or done.stdout.strip()}")


# --- pruning ------------------------------------------------------------------------------------

def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_distributions(site: Path) -> dict[str, Distribution]:
    dists: dict[str, Distribution] = {}
    for info in sorted(site.glob("*.dist-info")):
        meta = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        header = meta.split("\n\n", 1)[0]
        name = re.search(r"^Name:\s*(\S+)", header, re.MULTILINE)
        version = re.search(r"^Version:\s*(\S+)", header, re.MULTILINE)
        if not name:
            continue
        requires = []
        for line in re.findall(r"^Requires-Dist:\s*(.+)$", header, re.MULTILINE):
            requirement, _, marker = line.partition(";")
            if "extra" in marker:
                continue  # an extra nobody asked for; other markers are kept (true somewhere)
            req_name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if req_name:
                requires.append(normalize(req_name.group(1)))
        files = []
        record = info / "RECORD"
        if record.is_file():
            for row in record.read_text(encoding="utf-8").splitlines():
                path = row.rsplit(",", 2)[0]
                resolved = (site / path).resolve()
                if path and resolved.is_relative_to(site.resolve()):
                    files.append(resolved)
        dist = Distribution(normalize(name.group(1)), version.group(1) if version else "?", info, requires, files)
        dists[dist.name] = dist
    return dists


def needed_distributions(dists: dict[str, Distribution], root: str = "kubectl-ray") -> set[str]:
    """Distributions reachable from ours through requirements."""
    keep: set[str] = set()
    todo = [normalize(root)]
    while todo:
        name = todo.pop()
        if name in keep or name not in dists:
            continue
        keep.add(name)
        todo.extend(dists[name].requires)
    return keep


def prune(site: Path) -> tuple[list[Distribution], list[Distribution]]:
    """Remove what the plugin never runs; return (kept, dropped) distributions."""
    dists = read_distributions(site)
    if "kubectl-ray" not in dists:
        raise BuildError("pip did not install kubectl-ray into the build tree")
    keep = needed_distributions(dists)
    dropped = [d for name, d in sorted(dists.items()) if name not in keep]
    for dist in dropped:
        for path in dist.files:
            if path.is_file() or path.is_symlink():
                path.unlink()
        shutil.rmtree(dist.dist_info, ignore_errors=True)
    shutil.rmtree(site / "bin", ignore_errors=True)
    for path in sorted(site.rglob("*"), reverse=True):  # children before parents
        if _prunable(site, path):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    kept = [d for name, d in sorted(dists.items()) if name in keep]
    return kept, dropped


def _prunable(site: Path, path: Path) -> bool:
    rel = path.relative_to(site)
    top = rel.parts[0]
    if path.is_dir():
        if path.name == "__pycache__" or path.name.endswith(".libs"):
            return True
        # third-party test suites; never under our own package
        return top != "kubectl_ray" and len(rel.parts) > 1 and path.name in ("tests", "test")
    if path.suffix in COMPILED_SUFFIXES or path.suffix in (".pyc", ".pyo") or ".so." in path.name:
        return True
    if top.endswith(".dist-info") and path.name in INSTALL_STATE_FILES and len(rel.parts) == 2:
        return True
    return top != "kubectl_ray" and path.name.endswith("_test.py")


def check_imports(python: str, site: Path) -> None:
    """Import every module of the plugin and the third-party modules it uses from the tree alone."""
    script = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        sys.path.insert(0, {str(site)!r})
        import kubectl_ray
        names = [m.name for m in pkgutil.walk_packages(kubectl_ray.__path__, "kubectl_ray.")]
        failed = []
        for name in sorted(names) + {list(RUNTIME_IMPORTS)!r}:
            if name.endswith("__main__"):
                continue
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed.append("%s: %s: %s" % (name, type(exc).__name__, exc))
        site = {str(site)!r}
        outside = sorted(n for n, m in list(sys.modules.items())
                         if getattr(m, "__file__", None) and not m.__file__.startswith(site)
                         and "site-packages" in m.__file__)
        if outside:
            failed.append("imported from outside the bundle: " + ", ".join(outside))
        print("\\n".join(failed))
        sys.exit(1 if failed else 0)
    """)
    # -I: no user site, no PYTHON* variables; -S: no site-packages; -B: leave no __pycache__ in the tree
    done = subprocess.run([python, "-I", "-S", "-B", "-c", script], capture_output=True, text=True, check=False,
                          timeout=300, env={"PATH": os.environ.get("PATH", "")})
    if done.returncode != 0:
        raise BuildError("the bundle does not import on its own:\n" + (done.stdout + done.stderr).strip())


# --- writing ------------------------------------------------------------------------------------

def build_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return max(int(value), DEFAULT_EPOCH) if value and value.isdigit() else DEFAULT_EPOCH


def write_zipapp(site: Path, dest: Path, epoch: int) -> None:
    """`#!/usr/bin/env python3` + a zip with sorted entries, fixed times and modes: byte-for-byte repeatable."""
    import time

    stamp = time.gmtime(epoch)[:6]
    entries: list[tuple[str, Path | None]] = [("__main__.py", None)]
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        entries.append((rel + "/" if path.is_dir() else rel, path))
    entries.sort(key=lambda e: e[0])
    main_py = ZIPAPP_MAIN.replace("{build_id}", build_id(site)).encode()
    with open(dest, "wb") as raw:
        raw.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(raw, "w") as archive:
            for name, path in entries:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.create_system = 3  # unix, so the modes below mean something
                if name.endswith("/"):
                    info.external_attr = (stat.S_IFDIR | 0o755) << 16
                    archive.writestr(info, b"")
                    continue
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                data = main_py if path is None else path.read_bytes()
                archive.writestr(info, data, compresslevel=9)
    dest.chmod(0o755)


def build_id(site: Path) -> str:
    """A digest of the bundled files: names the zipapp's bytecode cache (kubectl_ray/_zipapp.py)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        digest.update(path.relative_to(site).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def write_archive(executable: Path, license_file: Path, dest: Path, epoch: int) -> None:
    """tar.gz of `kubectl-ray` (0755: krew keeps the archive's modes) and `LICENSE`, owned by 0:0."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, path, mode in ((EXECUTABLE, executable, 0o755), ("LICENSE", license_file, 0o644)):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    with open(dest, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=epoch, compresslevel=9) as gz:
        gz.write(buffer.getvalue())


def render_manifest(version: str, sha256: str, uri: str) -> str:
    """plugin.yaml, laid out by hand so it reads well and diffs small (checked by tests)."""
    tag = krew_version(version)

    def block(text: str, indent: str = "    ") -> str:
        return "\n".join(indent + line if line else "" for line in text.splitlines())

    description = "\n".join(textwrap.wrap(DESCRIPTION, 76))
    caveats = textwrap.dedent(f"""\
        kubectl-ray is a Python zipapp: it runs with the python3 found first on
        PATH, which must be Python 3.10 or newer (macOS's /usr/bin/python3 may be
        older: install one from python.org, Homebrew or uv).

        Shell completion (kubectl 1.26+): krew installs a single executable, so
        link the completer next to the plugin once:
          ln -s "$(command -v {EXECUTABLE})" \\
            "$(dirname "$(command -v {EXECUTABLE})")/{COMPLETER}"
        """)
    selector = "\n".join(
        f"      - key: {key}\n        operator: In\n        values: [{', '.join(values)}]" for key, values in PLATFORMS.items()
    )
    return (
        f"# Generated by `python -m kubectl_ray._build` from kubectl_ray/_build.py: rebuild, do not edit.\n"
        f"# krew-index already has a plugin named \"ray\" (KubeRay's Go plugin), so this manifest is not\n"
        f"# for krew-index. Install it (after `kubectl krew uninstall ray` if you have the Go plugin) with\n"
        f"#   kubectl krew install --manifest=plugin.yaml --archive=dist/kubectl-ray-{tag}.tar.gz\n"
        f"# or from a custom index that holds this file as plugins/{PLUGIN_NAME}.yaml.\n"
        f"apiVersion: krew.googlecontainertools.github.com/v1alpha2\n"
        f"kind: Plugin\n"
        f"metadata:\n"
        f"  name: {PLUGIN_NAME}\n"
        f"spec:\n"
        f"  version: {tag}\n"
        f"  homepage: {HOMEPAGE}\n"
        f"  shortDescription: {SHORT_DESCRIPTION}\n"
        f"  description: |\n{block(description)}\n"
        f"  caveats: |\n{block(caveats)}\n"
        f"  platforms:\n"
        f"  - selector:\n"
        f"      matchExpressions:\n{selector}\n"
        f"    uri: {uri.format(tag=tag)}\n"
        f"    sha256: {sha256}\n"
        f"    files:\n"
        f"    - from: {EXECUTABLE}\n"
        f"      to: .\n"
        f"    - from: LICENSE\n"
        f"      to: .\n"
        f"    bin: {EXECUTABLE}\n"
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the whole build ------------------------------------------------------------------------------

def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def build(project: Path, dist_dir: Path, manifest: Path, *, python: str | None = None,
          uri: str = URI_TEMPLATE, constraint: str | None = None) -> BuildResult:
    version = source_version(project)
    tag = krew_version(version)
    interpreter = find_build_python(python)
    epoch = build_epoch()
    dist_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kubectl-ray-build-") as tmp:
        work = Path(tmp)
        site = work / "site"
        pip_install(interpreter, stage_sources(project, work / "src"), site, constraint)
        kept, dropped = prune(site)
        check_imports(interpreter, site)
        executable = work / EXECUTABLE
        write_zipapp(site, executable, epoch)
        archive = dist_dir / f"kubectl-ray-{tag}.tar.gz"
        write_archive(executable, project / "LICENSE", archive, epoch)
        zipapp_size = executable.stat().st_size
    digest = sha256_of(archive)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(render_manifest(version, digest, uri), encoding="utf-8")
    return BuildResult(archive, digest, manifest, tag, zipapp_size, interpreter,
                       [f"{d.name}=={d.version}" for d in kept], [f"{d.name}=={d.version}" for d in dropped])


def manifest_path(root: Path, dist_dir: Path, explicit: Path | None, update_tracked: bool) -> Path:
    """Where plugin.yaml is written: the tracked copy only when asked (it is part of a release)."""
    if explicit is not None:
        return explicit
    return root / "plugin.yaml" if update_tracked else dist_dir / "plugin.yaml"


def main(argv: list[str] | None = None) -> int:
    root = project_root()
    parser = argparse.ArgumentParser(prog="python -m kubectl_ray._build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist-dir", type=Path, default=root / "dist", help="where the tar.gz goes [dist/]")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="where plugin.yaml goes [DIST_DIR/plugin.yaml; ./plugin.yaml with --update-plugin-yaml]")
    parser.add_argument("--update-plugin-yaml", action="store_true",
                        help="write the tracked ./plugin.yaml (version and sha256 of this build): for a release")
    parser.add_argument("--python", help="interpreter pip installs for [the oldest supported Python found, else this one]")
    parser.add_argument("--uri", default=URI_TEMPLATE, help="download URL of the archive; {tag} is the version [%(default)s]")
    parser.add_argument("--constraint", help="pip constraints file pinning the bundled dependency versions")
    args = parser.parse_args(argv)
    if args.manifest is not None and args.update_plugin_yaml:
        parser.error("--manifest and --update-plugin-yaml name two places for plugin.yaml: give one")
    manifest = manifest_path(root, args.dist_dir, args.manifest, args.update_plugin_yaml)
    try:
        result = build(root, args.dist_dir, manifest, python=args.python, uri=args.uri, constraint=args.constraint)
    except BuildError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    print(f"archive:  {result.archive} ({result.archive.stat().st_size / 1e6:.1f} MB, zipapp {result.zipapp_size / 1e6:.1f} MB)")
    print(f"sha256:   {result.sha256}")
    print(f"manifest: {result.manifest} (version {result.version})")
    print(f"python:   {result.python}")
    print(f"bundled:  {' '.join(result.bundled)}")
    print(f"left out: {' '.join(result.dropped) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
