"""Extract a tar stream from a pod without letting it write anywhere else: kubectl cp's rules, streamed.

The archive comes from a container, so it is untrusted (CVE-2019-1002101, -11246, -11249, -11251 were
all `kubectl cp` following a malicious container's tar out of the destination). Rules, as kubectl
>= 1.16 applies them, plus a few more:

- absolute names (`/etc/passwd`) are skipped, not re-rooted;
- names are normalised (`\\` counts as `/`, as kubectl does) and skipped if they leave the
  destination (`../x`, `a/../../x`); `a/../b` stays inside and is written as `b`;
- every symbolic link and hard link is skipped, whatever it points at, so no later entry can be
  written through one;
- devices, fifos and other special entries are skipped;
- before each write the parent directory's real path (symlinks resolved) must still be inside the
  destination's real path (os.path.commonpath), and the file is opened with O_NOFOLLOW after any
  symlink already at that name was removed, so links that exist in the destination before the run
  are never followed either;
- files are truncated when opened, so a shorter new file leaves no stale tail.

Every skipped entry is reported through `on_skip` with its name. Extraction streams (tarfile mode
"r|"): memory stays flat whatever the archive size. Pure file-system logic: no network, no clock.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass, field
from typing import IO, Callable, Iterable, Iterator

CHUNK = 1 << 20
FILE_MODE = 0o644
DIR_MODE = 0o755


class UnsafeTarError(Exception):
    """The stream is not a readable tar archive (corrupt or truncated)."""


@dataclass
class ExtractResult:
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)


def extract_stream(stream: IO[bytes], dest: str, on_skip: Callable[[str], None] | None = None) -> ExtractResult:
    """Extract a tar stream into `dest` (created if missing), skipping every entry the rules reject."""
    result = ExtractResult()
    os.makedirs(dest, mode=DIR_MODE, exist_ok=True)
    root = os.path.realpath(dest)
    counting = _CountingReader(stream)

    def skip(message: str) -> None:
        result.skipped.append(message)
        if on_skip is not None:
            on_skip(message)

    try:
        with tarfile.open(fileobj=counting, mode="r|", bufsize=CHUNK) as archive:
            for member in archive:
                _extract_member(archive, member, root, result, skip)
    except (tarfile.TarError, EOFError) as exc:
        if counting.count == 0:
            return result  # an empty stream: nothing was sent (the caller reports why)
        raise UnsafeTarError(f"the archive is corrupt or truncated: {exc or 'unexpected end of data'}") from None
    return result


def _extract_member(archive: tarfile.TarFile, member: tarfile.TarInfo, root: str, result: ExtractResult,
                    skip: Callable[[str], None]) -> None:
    name = member.name
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hard link"
        skip(f"skipping {kind} {name!r} -> {member.linkname!r}")
        return
    if not (member.isreg() or member.isdir()):
        skip(f"skipping {_special_kind(member)} {name!r}")
        return
    relative = safe_relative_path(name)
    if relative is None:
        where = "absolute path" if _is_absolute(name) else "path outside the destination"
        skip(f"skipping {where} {name!r}")
        return
    if relative == ".":
        return  # the archive's own root ("./")
    target = os.path.join(root, relative)
    if member.isdir():
        problem = make_dirs_inside(root, target)
        if problem:
            skip(f"skipping {name!r}: {problem}")
        else:
            result.dirs += 1
        return
    problem = make_dirs_inside(root, os.path.dirname(target))
    if problem:
        skip(f"skipping {name!r}: {problem}")
        return
    source = archive.extractfile(member)
    if source is None:  # pragma: no cover - isreg() members always have data
        return
    try:
        result.bytes += write_file_inside(root, target, _chunks(source))
    except UnsafePath as exc:
        skip(f"skipping {name!r}: {exc}")
        return
    result.files += 1


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _special_kind(member: tarfile.TarInfo) -> str:
    if member.ischr():
        return "character device"
    if member.isblk():
        return "block device"
    if member.isfifo():
        return "fifo"
    return f"unsupported entry (type {member.type!r})"


def _is_absolute(name: str) -> bool:
    normalised = name.replace("\\", "/")
    return normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":" and normalised[0].isalpha())


def safe_relative_path(name: str) -> str | None:
    """The entry's path relative to the destination, or None if it is absolute or escapes it."""
    normalised = name.replace("\\", "/")
    if _is_absolute(normalised) or "\x00" in normalised:
        return None
    cleaned = posixpath.normpath(normalised)
    if cleaned == ".." or cleaned.startswith("../") or cleaned.startswith("/"):
        return None
    return cleaned


class UnsafePath(Exception):
    """A write would leave the destination (through a symlink, or onto a non-file)."""


def is_inside(root: str, path: str) -> bool:
    """Whether `path`'s real location is `root` or below it (root must already be a real path)."""
    real = os.path.realpath(path)
    try:
        return os.path.commonpath([root, real]) == root
    except ValueError:  # different drives (Windows)
        return False


def make_dirs_inside(root: str, directory: str) -> str | None:
    """Create `directory` under `root` one level at a time, refusing symlinks; None or the problem."""
    relative = os.path.relpath(directory, root)
    if relative == ".":
        return None
    current = root
    for part in relative.split(os.sep):
        current = os.path.join(current, part)
        try:
            os.mkdir(current, DIR_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            return f"cannot create directory {os.path.relpath(current, root)!r}: {exc.strerror or exc}"
        info = os.lstat(current)
        if stat.S_ISLNK(info.st_mode) and not is_inside(root, current):
            return f"{os.path.relpath(current, root)!r} is a symlink that leads outside the destination"
        if not is_inside(root, current):
            return f"{os.path.relpath(current, root)!r} leads outside the destination"
        if not os.path.isdir(current):
            return f"{os.path.relpath(current, root)!r} exists and is not a directory"
    return None


def write_file_inside(root: str, path: str, chunks: Iterable[bytes]) -> int:
    """Write `chunks` to `path`, truncating, never through a symlink and never outside `root`."""
    parent = os.path.dirname(path)
    if not is_inside(root, parent):
        raise UnsafePath("its directory leads outside the destination")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            os.unlink(path)  # replace the link itself; its target is never touched
        elif stat.S_ISDIR(info.st_mode):
            raise UnsafePath("a directory with that name exists")
        elif not stat.S_ISREG(info.st_mode):
            raise UnsafePath("a special file with that name exists")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath("a symlink appeared at that name") from None
        raise
    written = 0
    with os.fdopen(fd, "wb", buffering=0) as out:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                count = out.write(view)
                written += count
                view = view[count:]
    return written


class _CountingReader:
    """A read-only file object over another that counts bytes (to tell an empty stream from a bad one)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


class ChunkStream:
    """A file-like object over an iterator of byte chunks (e.g. exec stdout), for tarfile's "r|" mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            self._buffer.extend(b"".join(self._chunks))
            self._done = True
            size = len(self._buffer)
        while len(self._buffer) < size and not self._done:
            try:
                self._buffer.extend(next(self._chunks))
            except StopIteration:
                self._done = True
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def drain(self) -> int:
        """Consume what is left (the archive's padding, or everything after a failure); returns its size."""
        left = len(self._buffer)
        self._buffer.clear()
        for chunk in self._chunks:
            left += len(chunk)
        self._done = True
        return left
