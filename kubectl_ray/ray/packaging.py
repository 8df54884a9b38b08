"""working_dir / py_modules packages, named, filtered and zipped exactly as Ray does it.

Ported from Ray 2.60 (ray/_private/runtime_env/packaging.py, working_dir.py, py_modules.py and
dashboard/modules/dashboard_sdk.py) so that a package we upload has the very name Ray's own
client would give it, and an unchanged directory is never uploaded twice:

- Name: `gcs://_ray_pkg_<16 hex>.zip`. The hash starts as b"0" * 8 and is XORed with
  sha1(relative path [+ file content]) of every path the walk keeps, the root (".") included;
  the XOR of an 8-byte and a 20-byte value keeps 8 bytes (Ray's `_xor_bytes` zips them).
- Walk: every path is tested against the `excludes` (gitwildmatch, relative to the package root)
  and against the `.gitignore` (unless RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1) and `.rayignore` of
  each directory on the way down (relative to that directory). working_dir also excludes
  `.git,.venv,venv,__pycache__` (override with RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES).
- Zip (stored, not compressed, like Ray): files and empty directories; working_dir puts its
  contents at the root, a py_modules directory keeps its own name as the top folder.
- A local archive (.zip/.tar.gz/.tgz/.tar.xz working_dir, .whl py_module) is uploaded as is,
  named by the sha1 of its bytes (wheels keep their file name). URIs (gcs://, s3://, gs://,
  https://, local://, ...) pass through untouched. Relative paths are relative to the CWD.
- Upload: `GET /api/packages/gcs/<name>` (200 = already there), else `PUT` the zip.
- Size: the dashboard reads at most 100 MiB per request (DASHBOARD_CLIENT_MAX_SIZE) and the GCS
  stores at most 512 MiB; we refuse anything at or above 100 MiB before writing anything.

Known Ray quirk kept on purpose: the hash ignores whether the directory's name is kept in the zip,
so one directory used both as working_dir and as a py_module gets one URI for two layouts.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from kubectl_ray.errors import KubectlRayError, UsageError

RAY_PKG_PREFIX = "_ray_pkg_"
DEFAULT_EXCLUDES = ".git,.venv,venv,__pycache__"  # ray_constants.RAY_RUNTIME_ENV_DEFAULT_EXCLUDES
MAX_UPLOAD_BYTES = 100 * 1024**2  # ray_constants.DASHBOARD_CLIENT_MAX_SIZE
FILE_SIZE_WARNING = 10 * 1024 * 1024  # packaging.FILE_SIZE_WARNING
WORKING_DIR_ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar.xz")
URI_PROTOCOLS = ("gcs", "conda", "pip", "uv", "http", "https", "s3", "gs", "azure", "abfss", "file", "local")
_ZIP_LOCAL_HEADER = 30
_ZIP_CENTRAL_HEADER = 46
_ZIP_END_RECORD = 22

Matcher = Callable[[Path], bool]
Warn = Callable[[str], None]


# --- gitwildmatch (ported from pathspec's GitWildMatchPattern, which Ray vendors) -------------

def _translate_segment_glob(pattern: str) -> str:
    regex, i, end, escape = "", 0, len(pattern), False
    while i < end:
        char = pattern[i]
        i += 1
        if escape:
            escape = False
            regex += re.escape(char)
        elif char == "\\":
            escape = True
        elif char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            j = i
            if j < end and pattern[j] == "!":
                j += 1
            if j < end and pattern[j] == "]":
                j += 1
            while j < end and pattern[j] != "]":
                j += 1
            if j < end:
                j += 1
                expr = "["
                if pattern[i] == "!":
                    expr += "^"
                    i += 1
                elif pattern[i] == "^":
                    expr += "\\^"
                    i += 1
                expr += pattern[i:j].replace("\\", "\\\\")
                regex += expr
                i = j
            else:
                regex += "\\["
        else:
            regex += re.escape(char)
    return regex


def gitwildmatch_regex(line: str) -> tuple[str | None, bool | None]:
    """(regex, include) for one ignore-file line; include None means the line does nothing."""
    pattern = line.strip()
    if not pattern or pattern.startswith("#") or pattern == "/":
        return None, None
    include = True
    if pattern.startswith("!"):
        include, pattern = False, pattern[1:]
    if pattern.startswith("\\"):
        pattern = pattern[1:]
    segs = pattern.split("/")
    if not segs[0]:
        del segs[0]  # anchored at the root
    elif len(segs) == 1 or (len(segs) == 2 and not segs[1]):
        if segs[0] != "**":
            segs.insert(0, "**")  # a bare name matches at any depth
    if not segs[-1] and len(segs) > 1:
        segs[-1] = "**"  # "dir/" matches what is below dir
    output, need_slash, last = ["^"], False, len(segs) - 1
    for i, seg in enumerate(segs):
        if seg == "**":
            if i == 0 and i == last:
                output.append(".+")
            elif i == 0:
                output.append("(?:.+/)?")
                need_slash = False
            elif i == last:
                output.append("/.*")
            else:
                output.append("(?:/.+)?")
                need_slash = True
        elif seg == "*":
            if need_slash:
                output.append("/")
            output.append("[^/]+")
            need_slash = True
        else:
            if need_slash:
                output.append("/")
            output.append(_translate_segment_glob(seg))
            if i == last and include is True:
                output.append("(?:/.*)?")
            need_slash = True
    output.append("$")
    return "".join(output), include


class PathSpec:
    """A list of gitwildmatch lines; the last matching line decides (a `!` line re-includes)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.patterns: list[tuple[re.Pattern[str], bool]] = []
        for line in lines:
            if not line:
                continue
            regex, include = gitwildmatch_regex(line)
            if include is not None and regex is not None:
                self.patterns.append((re.compile(regex), include))

    def match_file(self, path: str) -> bool:
        norm = path.replace(os.sep, "/") if os.sep != "/" else path
        if norm.startswith("./"):
            norm = norm[2:]
        matched = False
        for regex, include in self.patterns:
            if regex.match(norm) is not None:
                matched = include
        return matched


def _matcher(root: Path, lines: Iterable[str]) -> Matcher:
    root = root.absolute()
    spec = PathSpec(lines)

    def match(p: Path) -> bool:
        return spec.match_file(str(p.absolute().relative_to(root)))

    return match


def _ignore_file_matchers(path: Path, include_gitignore: bool) -> list[Matcher]:
    """Matchers for the .gitignore / .rayignore directly inside `path` (Ray reads them per directory)."""
    matchers = []
    names = (".gitignore", ".rayignore") if include_gitignore else (".rayignore",)
    for name in names:
        ignore = path.absolute() / name
        if ignore.is_file():
            with ignore.open("r") as fh:
                matchers.append(_matcher(path, fh.readlines()))
    return matchers


# --- the walk: one pass gives the hash, the zip entries and the zip's size ---------------------

@dataclass
class Scan:
    digest: bytes = b"0" * 8
    entries: list[tuple[Path, str]] = field(default_factory=list)  # (path on disk, name in the zip)
    zip_size: int = _ZIP_END_RECORD
    large_files: list[tuple[Path, int]] = field(default_factory=list)

    @property
    def hex(self) -> str:
        return self.digest.hex()


def _xor_bytes(left: bytes, right: bytes) -> bytes:
    if left and right:
        return bytes(a ^ b for a, b in zip(left, right))
    return left or right


def _entry_hash(path: Path, root: Path) -> bytes:
    sha1 = hashlib.sha1()
    sha1.update(str(path.relative_to(root)).encode())
    if not path.is_dir():
        try:
            fh = path.open("rb")
        except OSError:  # Ray skips unreadable contents but keeps the name
            return sha1.digest()
        with fh:
            for block in iter(lambda: fh.read(4 * 1024 * 1024), b""):
                sha1.update(block)
    return sha1.digest()


def scan_directory(directory: Path, excludes: list[str], *, include_gitignore: bool,
                   include_parent_dir: bool) -> Scan:
    """Walk like Ray's _dir_travel: hash every kept path, list the files and empty dirs to zip."""
    root = directory.absolute()
    scan = Scan()

    def handler(path: Path) -> None:
        if path.exists() and not (path.is_dir() or path.is_file()):
            raise UsageError(f"cannot package {directory}: {path} is not a regular file or a directory (a device, "
                             "pipe or socket would be read without end); exclude it with 'excludes' or .rayignore")
        if scan.zip_size < MAX_UPLOAD_BYTES:  # past the limit the package is refused: its hash is never needed
            scan.digest = _xor_bytes(scan.digest, _entry_hash(path, root))
        if (path.is_dir() and next(path.iterdir(), None) is None) or path.is_file():
            arcname = path.relative_to(root)
            if include_parent_dir:
                arcname = Path(root.name) / arcname
            name = zipfile.ZipInfo.from_file(path, arcname).filename
            size = path.stat().st_size if path.is_file() else 0
            if size >= FILE_SIZE_WARNING:
                scan.large_files.append((path, size))
            scan.entries.append((path, str(arcname)))
            encoded = len(name.encode("utf-8"))
            scan.zip_size += size + _ZIP_LOCAL_HEADER + _ZIP_CENTRAL_HEADER + 2 * encoded

    def travel(path: Path, matchers: list[Matcher]) -> None:
        new = _ignore_file_matchers(path, include_gitignore)
        matchers.extend(new)
        if not any(m(path) for m in matchers):
            handler(path)
            if path.is_dir():
                for sub in path.iterdir():
                    travel(sub, matchers)
        for _ in new:
            matchers.pop()

    try:
        travel(root, [_matcher(root, excludes)])
    except RecursionError:
        raise UsageError(f"cannot package {directory}: the directory tree is too deep (a symlink loop?)") from None
    except OSError as exc:
        raise UsageError(f"cannot package {directory}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
    return scan


def write_zip(entries: list[tuple[Path, str]], target: Path) -> None:
    with zipfile.ZipFile(target, "w", strict_timestamps=False) as zf:  # ZIP_STORED, as Ray
        for path, arcname in entries:
            zf.write(path, arcname)


# --- packages and the runtime env ------------------------------------------------------------

@dataclass
class Package:
    """One thing to upload: a directory to zip, or an archive to send as is."""

    field_name: str  # "working_dir" or "py_modules"
    source: str  # what the user wrote
    uri: str  # gcs://...
    size: int  # bytes to upload (the zip's computed size, or the archive's size)
    entries: list[tuple[Path, str]] | None = None  # for directories
    archive: Path | None = None  # for archives and wheels

    @property
    def name(self) -> str:
        return self.uri.partition("://")[2]

    def materialize(self, scratch: Path) -> Path:
        """The file to upload: the archive itself, or a zip built in `scratch`."""
        if self.archive is not None:
            return self.archive
        target = scratch / self.name
        write_zip(self.entries or [], target)
        return target


@dataclass
class PackagePlan:
    runtime_env: dict[str, Any]  # what gets submitted: local paths replaced by gcs:// URIs
    packages: list[Package]


def is_uri(value: str) -> bool:
    """Ray's test: anything with a URL scheme (a drive letter on Windows is not one)."""
    scheme = value.partition("://")[0] if "://" in value else ""
    return bool(scheme) and not (len(scheme) == 1 and os.name == "nt")


def _check_uri(value: str, field_name: str) -> None:
    scheme = value.partition("://")[0].lower()
    if scheme not in URI_PROTOCOLS:
        raise UsageError(f'invalid runtime env {field_name} URI "{value}": unsupported protocol "{scheme}" '
                         f"(supported: {', '.join(URI_PROTOCOLS)})")


def default_excludes(environ: Mapping[str, str]) -> list[str]:
    value = environ.get("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES", DEFAULT_EXCLUDES)
    return [x.strip() for x in value.split(",") if x.strip()]


def _too_big(source: str, size: int) -> UsageError:
    return UsageError(
        f"package for {source} is {_mib(size)}, the Ray dashboard accepts uploads below {_mib(MAX_UPLOAD_BYTES)}: "
        "exclude large files in .gitignore or .rayignore or the runtime env's 'excludes', or use a URI of a "
        "remote zip file"
    )


def _mib(size: int) -> str:
    """Sizes as people read them: 812 B, 5.08 KiB, 98.30 MiB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.2f} KiB"
    return f"{size / 1024**2:.2f} MiB"


def _archive_uri(path: Path) -> str:
    """Ray's get_uri_for_package: wheels by name, other archives by the sha1 of their bytes."""
    if path.suffix == ".whl":
        return f"gcs://{path.name}"
    sha1 = hashlib.sha1()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(4 * 1024 * 1024), b""):
            sha1.update(block)
    name = path.name
    ext = ".tar.gz" if name.endswith(".tar.gz") or path.suffix == ".tgz" else ".tar.xz" if name.endswith(".tar.xz") else ".zip"
    return f"gcs://{RAY_PKG_PREFIX}{sha1.hexdigest()}{ext}"


def _directory_package(field_name: str, source: str, path: Path, excludes: list[str], *, include_gitignore: bool,
                       include_parent_dir: bool, warn: Warn) -> Package:
    scan = scan_directory(path, excludes, include_gitignore=include_gitignore, include_parent_dir=include_parent_dir)
    if scan.zip_size >= MAX_UPLOAD_BYTES:
        raise _too_big(f"{field_name} {source}", scan.zip_size)
    for big, size in scan.large_files:
        warn(f"file {big} is very large ({_mib(size)}); consider adding it to the runtime env's 'excludes' "
             "to skip uploading it")
    return Package(field_name, source, f"gcs://{RAY_PKG_PREFIX}{scan.hex}.zip", scan.zip_size, entries=scan.entries)


def _archive_package(field_name: str, source: str, path: Path) -> Package:
    size = path.stat().st_size
    if size >= MAX_UPLOAD_BYTES:
        raise _too_big(f"{field_name} {source}", size)
    return Package(field_name, source, _archive_uri(path), size, archive=path)


def _single_file_package(source: str, path: Path) -> Package:
    """A .py py_module: Ray's get_uri_for_file, zipped alone at the zip's root."""
    absolute = path.absolute()
    size = absolute.stat().st_size
    entries = [(absolute, absolute.name)]
    zip_size = size + _ZIP_LOCAL_HEADER + _ZIP_CENTRAL_HEADER + 2 * len(absolute.name.encode()) + _ZIP_END_RECORD
    if zip_size >= MAX_UPLOAD_BYTES:  # before hashing: a huge file is refused at once
        raise _too_big(f"py_modules {source}", zip_size)
    digest = _xor_bytes(_entry_hash(absolute, absolute.parent), b"0" * 8)
    return Package("py_modules", source, f"gcs://{RAY_PKG_PREFIX}{digest.hex()}.zip", zip_size, entries=entries)


def plan_packages(runtime_env: Mapping[str, Any], *, environ: Mapping[str, str] | None = None,
                  warn: Warn = lambda _msg: None) -> PackagePlan:
    """Validate working_dir / py_modules and work out each package (no I/O beyond reading files).

    Raises UsageError for a missing path or a package over the size limit, so the CLI can stop
    before it creates anything.
    """
    environ = os.environ if environ is None else environ
    env = dict(runtime_env)
    include_gitignore = environ.get("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "0") != "1"
    user_excludes = env.get("excludes") or []
    if not isinstance(user_excludes, list) or not all(isinstance(x, str) for x in user_excludes):
        raise UsageError("invalid runtime env: 'excludes' must be a list of strings")
    packages: list[Package] = []

    working_dir = env.get("working_dir")
    if working_dir is not None:
        if not isinstance(working_dir, str):
            raise UsageError("invalid runtime env: working_dir must be a string (a local path or a remote URI)")
        if is_uri(working_dir):
            _check_uri(working_dir, "working_dir")
        else:
            path = Path(working_dir)
            if path.is_dir():
                pkg = _directory_package("working_dir", working_dir, path, default_excludes(environ) + list(user_excludes),
                                         include_gitignore=include_gitignore, include_parent_dir=False, warn=warn)
            elif path.is_file() and working_dir.endswith(WORKING_DIR_ARCHIVES):
                pkg = _archive_package("working_dir", working_dir, path)
            else:
                raise UsageError(f"working directory {working_dir} must be an existing directory or a supported archive "
                                 f"({', '.join(WORKING_DIR_ARCHIVES)})")
            packages.append(pkg)
            env["working_dir"] = pkg.uri

    py_modules = env.get("py_modules")
    if py_modules is not None:
        if not isinstance(py_modules, list):
            raise UsageError("invalid runtime env: py_modules must be a list of local paths or URIs")
        uris = []
        for module in py_modules:
            if not isinstance(module, str):
                raise UsageError(f"invalid runtime env: py_modules entries must be strings, got {module!r}")
            if is_uri(module):
                _check_uri(module, "py_modules")
                uris.append(module)
                continue
            path = Path(module)
            if path.is_dir():
                pkg = _directory_package("py_modules", module, path, list(user_excludes),
                                         include_gitignore=include_gitignore, include_parent_dir=True, warn=warn)
            elif path.suffix == ".py":
                if not path.is_file():
                    raise UsageError(f"py_modules entry {module} must be an existing file")
                pkg = _single_file_package(module, path)
            elif path.suffix == ".whl" and path.is_file():
                pkg = _archive_package("py_modules", module, path)
            else:
                raise UsageError(f"py_modules entry must be an existing .py file, directory or .whl file; got {module}")
            packages.append(pkg)
            uris.append(pkg.uri)
        env["py_modules"] = uris
    return PackagePlan(env, packages)


class UploadFailed(KubectlRayError):
    """Packaging or uploading a working_dir / py_modules package failed."""


def upload_missing(client: Any, plan: PackagePlan, *, info: Callable[[str], None] = lambda _m: None) -> list[Package]:
    """GET each package; PUT only those the cluster lacks. Returns the packages uploaded."""
    uploaded: list[Package] = []
    seen: set[str] = set()
    try:
        scratch = Path(tempfile.mkdtemp(prefix="kubectl-ray-pkg-"))
    except OSError as exc:
        raise UploadFailed(f"cannot create a folder for the packages in {tempfile.gettempdir()}: "
                           f"{exc.strerror or exc}") from None
    try:
        for pkg in plan.packages:
            if pkg.uri in seen:
                continue
            seen.add(pkg.uri)
            if client.package_exists(pkg.uri):
                info(f"{pkg.field_name} {pkg.source} is already on the cluster as {pkg.uri}; not uploading it again")
                continue
            info(f"Uploading {pkg.field_name} {pkg.source} as {pkg.uri} ({_mib(pkg.size)})")
            try:
                path = pkg.materialize(scratch)
            except OSError as exc:  # ENOSPC, EFBIG, a file that vanished: the scratch folder goes below
                where = f" ({exc.filename})" if exc.filename else f" (writing {scratch / pkg.name})"
                raise UploadFailed(f"cannot package {pkg.field_name} {pkg.source}: {exc.strerror or exc}{where}") from None
            size = path.stat().st_size
            if size >= MAX_UPLOAD_BYTES:
                raise _too_big(f"{pkg.field_name} {pkg.source}", size)
            with path.open("rb") as fh:
                client.upload_package(pkg.uri, fh, size)
            uploaded.append(pkg)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return uploaded
