"""Start-up of the krew zipapp (`kubectl-ray` built by kubectl_ray._build), with a bytecode cache.

Python compiles modules imported from a zip on every run and never caches the bytecode (the
archive is read-only to it): that made a start ~100 ms slower than a pip install (click.core
alone compiles in ~50 ms). So the zipapp's imports go through a zipimporter that keeps the code
it compiles in $XDG_CACHE_HOME/kubectl-ray/zipapp-<build id>/ (else ~/.cache/...), one file per
module and interpreter (`click.core.cpython-311.pyc`). The build id is a digest of the archive's
contents, so a cache never outlives its build; older builds' caches are removed. Without a
writable cache directory everything still works, only slower.

Linked as `kubectl_complete-<name>`, the same file is the shell completer.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import sys
import zipimport
from typing import Any

CACHE_PREFIX = "zipapp-"


def main(build_id: str) -> int:
    install_bytecode_cache(build_id)
    if os.path.basename(sys.argv[0]).startswith("kubectl_complete-"):
        from kubectl_ray.completion import main as complete

        return complete()
    from kubectl_ray.cli import main as run

    return run()


def install_bytecode_cache(build_id: str) -> str | None:
    """Route imports from the archive through CachingZipImporter; return the cache directory used."""
    archive = sys.path[0] if sys.path else ""
    cache = cache_dir(build_id)
    if not archive or cache is None:
        return None
    CachingZipImporter.cache = cache
    sys.path_hooks.insert(0, CachingZipImporter)
    for path in list(sys.path_importer_cache):  # importers made before the hook: for the archive, redo them
        if path == archive or path.startswith(archive + os.sep) or path.startswith(archive + "/"):
            del sys.path_importer_cache[path]
    return cache


def cache_dir(build_id: str) -> str | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = os.path.join(base, "kubectl-ray")
    path = os.path.join(root, CACHE_PREFIX + build_id)
    if os.path.isdir(path):
        return path
    if sys.dont_write_bytecode:
        return None
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError:
        return None
    _remove_other_builds(root, path)
    return path


def _remove_other_builds(root: str, keep: str) -> None:
    import shutil

    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        other = os.path.join(root, name)
        if name.startswith(CACHE_PREFIX) and other != keep:
            shutil.rmtree(other, ignore_errors=True)


class CachingZipImporter(zipimport.zipimporter):
    """A zipimporter whose get_code reads and writes the bytecode cache."""

    cache: str = ""

    def get_filename(self, fullname: str) -> str:
        """The module's path, without compiling it: zipimport's own get_filename compiles the
        module just to learn whether it is a package, and the import system asks for it first."""
        package = self.is_package(fullname)  # ZipImportError when absent, as zipimport raises
        leaf = fullname.rpartition(".")[2]
        tail = f"{os.sep}__init__.py" if package else ".py"
        return f"{self.archive}{os.sep}{self.prefix}{leaf}{tail}"

    def get_code(self, fullname: str) -> Any:
        path = os.path.join(self.cache, f"{fullname}.{sys.implementation.cache_tag}.pyc")
        code = _load(path)
        if code is None:
            code = super().get_code(fullname)
            if not sys.dont_write_bytecode:
                _store(path, code)
        return code


def _load(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    magic = importlib.util.MAGIC_NUMBER
    if not data.startswith(magic):
        return None
    try:
        return marshal.loads(data[len(magic):])
    except (EOFError, ValueError, TypeError):
        return None  # a truncated or foreign file: compile again and overwrite it


def _store(path: str, code: Any) -> None:
    """Write atomically (temp file + rename), so concurrent runs never read half a file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(importlib.util.MAGIC_NUMBER + marshal.dumps(code))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
