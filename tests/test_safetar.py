"""Safe streaming tar extraction (kubectl_ray/safetar.py): kubectl cp's TestUntar cases and malicious streams."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from kubectl_ray.safetar import ChunkStream, UnsafeTarError, extract_stream, safe_relative_path


# --- building archives -------------------------------------------------------------------------------


def entry(name: str, kind: str = "file", data: bytes = b"", link: str = "", mode: int = 0o644) -> tuple:
    return (name, kind, data, link, mode)


def build_tar(entries: list[tuple], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as archive:
        for name, kind, data, link, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = link
            if kind == "file":
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buf.getvalue()


def extract(data: bytes, dest: Path) -> tuple[object, list[str]]:
    skipped: list[str] = []
    result = extract_stream(io.BytesIO(data), str(dest), skipped.append)
    return result, skipped


def tree(root: Path, exclude: Path | None = None) -> dict[str, str]:
    """Every path under root (not following links) with what it is; files with a hash of their content."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if exclude is not None and (here == exclude or exclude in here.parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = here / name
            if exclude is not None and path == exclude:
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[str(path.relative_to(root))] = "link->" + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                found[str(path.relative_to(root))] = "dir"
            else:
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """(sandbox, dest): dest = sandbox/out/pod; things 'outside' live elsewhere in the sandbox."""
    dest = tmp_path / "sandbox" / "out" / "pod"
    dest.mkdir(parents=True)
    (tmp_path / "sandbox" / "victim.txt").write_text("original\n")
    (tmp_path / "sandbox" / "outside-dir").mkdir()
    return tmp_path / "sandbox", dest


# --- kubectl's TestUntar, with this project's stricter rule for absolute paths ---------------------------


def test_untar_cases_ported_from_kubectl(sandbox):
    box, dest = sandbox
    basedir, testdir = str(dest), str(box)
    files = [  # (path in the tar, where it must end up relative to dest, or None for skipped)
        (os.path.join(basedir, "abs"), None),  # kubectl re-roots absolute names; we skip them
        (os.path.join(testdir, "abs-out"), None),
        (os.path.join(basedir, "nested/nest-abs"), None),
        (os.path.join(basedir, "nested/../../nest-abs-out"), None),
        ("relative", "relative"),
        ("../unrelative", None),
        ("..\\unrelative-win", None),
        ("nested/nest-rel", "nested/nest-rel"),
        ("nested/../../nest-unrelative", None),
        ("nested\\..\\..\\nest-unrelative", None),
        ("nested/../stays-inside", "stays-inside"),
    ]
    entries = [entry(path, data=path.encode()) for path, _ in files]
    links = []
    for path, expected in files:
        links += [entry(path + "-innerlink", "symlink", link="link-target"),
                  entry(path + "-innerlink-abs", "symlink", link=os.path.join(basedir, "link-target")),
                  entry(path + "-backlink", "symlink", link=os.path.join("..", "link-target")),
                  entry(path + "-outerlink-abs", "symlink", link=os.path.join(testdir, "link-target"))]
        if expected:
            outer = os.path.relpath(testdir, os.path.join(basedir, os.path.dirname(expected)))
            links.append(entry(path + "-outerlink", "symlink", link=os.path.join(outer, "link-target")))
    entries += links + [entry("dir/", "dir", mode=0o755), entry("link-target", data=b"target")]
    before = tree(box, exclude=dest)

    result, skipped = extract(build_tar(entries), dest)

    assert tree(box, exclude=dest) == before, "something was written outside the destination"
    assert tree(dest) == {
        "relative": hashlib.sha256(b"relative").hexdigest(),
        "nested": "dir",
        "nested/nest-rel": hashlib.sha256(b"nested/nest-rel").hexdigest(),
        "stays-inside": hashlib.sha256(b"nested/../stays-inside").hexdigest(),
        "dir": "dir",
        "link-target": hashlib.sha256(b"target").hexdigest(),
    }
    for path, expected in files:
        if expected is None:
            assert any(repr(path) in line for line in skipped), f"{path} not reported as skipped"
    for name, _, _, link, _ in links:
        assert f"skipping symlink {name!r} -> {link!r}" in skipped
    assert len(skipped) == sum(1 for _, e in files if e is None) + len(links)
    assert (result.files, result.dirs) == (4, 1)


# --- the malicious streams of issue 6 ----------------------------------------------------------------------


MALICIOUS = {
    "absolute path": ([entry("/ABS/victim.txt", data=b"pwned")], ["skipping absolute path '/ABS/victim.txt'"]),
    "dot-dot escape": ([entry("../../victim.txt", data=b"pwned")],
                       ["skipping path outside the destination '../../victim.txt'"]),
    "nested dot-dot escape": ([entry("logs/../../x", data=b"pwned")],
                              ["skipping path outside the destination 'logs/../../x'"]),
    "windows dot-dot escape": ([entry("..\\..\\victim.txt", data=b"pwned")],
                               ["skipping path outside the destination '..\\\\..\\\\victim.txt'"]),
    "symlink to /etc": ([entry("etc", "symlink", link="/etc"), entry("etc/kubectl-ray-pwned", data=b"pwned")],
                        ["skipping symlink 'etc' -> '/etc'"]),
    "symlink then file through it": ([entry("evil", "symlink", link="ABS/outside-dir"),
                                      entry("evil/pwned.txt", data=b"pwned")],
                                     ["skipping symlink 'evil' -> 'ABS/outside-dir'"]),
    "relative symlink then file through it": ([entry("up", "symlink", link="../.."),
                                               entry("up/victim.txt", data=b"pwned")],
                                              ["skipping symlink 'up' -> '../..'"]),
    "hard link outside": ([entry("h", "hardlink", link="../../victim.txt")],
                          ["skipping hard link 'h' -> '../../victim.txt'"]),
    "hard link to /etc/passwd": ([entry("passwd", "hardlink", link="/etc/passwd")],
                                 ["skipping hard link 'passwd' -> '/etc/passwd'"]),
    "character device": ([entry("dev/null", "chr")], ["skipping character device 'dev/null'"]),
    "block device": ([entry("sda", "blk")], ["skipping block device 'sda'"]),
    "fifo": ([entry("pipe", "fifo")], ["skipping fifo 'pipe'"]),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_stream_writes_nothing_outside_and_names_each_skipped_entry(sandbox, case):
    box, dest = sandbox
    entries, expected_skips = MALICIOUS[case]
    entries = [(n.replace("ABS", str(box)), k, d, link.replace("ABS", str(box)), m) for n, k, d, link, m in entries]
    expected_skips = [line.replace("ABS", str(box)) for line in expected_skips]
    before = tree(box, exclude=dest)
    etc_before = set(os.listdir("/etc"))

    _, skipped = extract(build_tar(entries + [entry("raylet.out", data=b"ok\n")]), dest)

    assert tree(box, exclude=dest) == before
    assert set(os.listdir("/etc")) == etc_before
    assert skipped == expected_skips
    assert (dest / "raylet.out").read_bytes() == b"ok\n"  # the good entry after the bad one still lands
    assert not any(os.path.islink(os.path.join(d, n)) for d, ds, fs in os.walk(dest) for n in ds + fs)


def test_file_through_a_skipped_symlink_lands_inside_as_a_plain_directory(sandbox):
    """kubectl's behaviour: with the link skipped, `evil/pwned.txt` is an ordinary path in the pod folder."""
    box, dest = sandbox
    extract(build_tar([entry("evil", "symlink", link=str(box / "outside-dir")), entry("evil/pwned.txt", data=b"x")]),
            dest)
    assert (dest / "evil").is_dir() and not (dest / "evil").is_symlink()
    assert (dest / "evil" / "pwned.txt").read_bytes() == b"x"
    assert list((box / "outside-dir").iterdir()) == []


# --- links that already exist in the destination are not followed ---------------------------------------


def test_existing_symlinked_directory_inside_dest_is_not_followed(sandbox):
    box, dest = sandbox
    os.symlink(box / "outside-dir", dest / "logs")
    before = tree(box, exclude=dest)
    _, skipped = extract(build_tar([entry("logs/raylet.out", data=b"pwned"), entry("./logs/", "dir")]), dest)
    assert tree(box, exclude=dest) == before
    assert skipped == ["skipping 'logs/raylet.out': 'logs' is a symlink that leads outside the destination",
                       "skipping './logs': 'logs' is a symlink that leads outside the destination"]


def test_existing_symlink_at_a_file_name_is_replaced_not_followed(sandbox):
    box, dest = sandbox
    os.symlink(box / "victim.txt", dest / "raylet.out")
    _, skipped = extract(build_tar([entry("raylet.out", data=b"fresh\n")]), dest)
    assert skipped == []
    assert (box / "victim.txt").read_text() == "original\n"
    assert not (dest / "raylet.out").is_symlink()
    assert (dest / "raylet.out").read_bytes() == b"fresh\n"


# --- ordinary behaviour --------------------------------------------------------------------------------


def test_existing_files_are_overwritten_whole(sandbox):
    _, dest = sandbox
    (dest / "raylet.out").write_bytes(b"a much longer old content that must not survive\n")
    extract(build_tar([entry("./raylet.out", data=b"new\n")]), dest)
    assert (dest / "raylet.out").read_bytes() == b"new\n"


def test_tar_of_a_directory_as_ray_sends_it(sandbox, tmp_path):
    """`tar -cf - -C logs .` produces `./`, `./x`, `./sub/`, ...: extracted as the folder's contents."""
    _, dest = sandbox
    source = tmp_path / "logs"
    (source / "old").mkdir(parents=True)
    (source / "raylet.out").write_text("Ray Event initialized for RAYLET\n")
    (source / "old" / "worker-1.err").write_bytes(os.urandom(300_000))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        archive.add(source, arcname=".")
    result, skipped = extract(buf.getvalue(), dest)
    assert skipped == []
    assert (dest / "raylet.out").read_text() == "Ray Event initialized for RAYLET\n"
    assert (dest / "old" / "worker-1.err").read_bytes() == (source / "old" / "worker-1.err").read_bytes()
    assert (result.files, result.bytes) == (2, 33 + 300_000)


def test_modes_from_the_archive_are_not_trusted(sandbox):
    _, dest = sandbox
    extract(build_tar([entry("suid", data=b"x", mode=0o4777)]), dest)
    assert stat.S_IMODE(os.stat(dest / "suid").st_mode) & 0o7000 == 0


def test_long_names_and_pax_headers(sandbox):
    _, dest = sandbox
    name = "d/" + "x" * 180 + ".log"
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        extract(build_tar([entry(name, data=b"long")], fmt=fmt), dest)
        assert (dest / name).read_bytes() == b"long"


def test_name_clashes_with_existing_entries_are_skipped(sandbox):
    _, dest = sandbox
    (dest / "adir").mkdir()
    (dest / "afile").write_text("x")
    _, skipped = extract(build_tar([entry("adir", data=b"x"), entry("afile/inner", data=b"y")]), dest)
    assert skipped == ["skipping 'adir': a directory with that name exists",
                       "skipping 'afile/inner': 'afile' exists and is not a directory"]


def test_empty_stream_extracts_nothing(sandbox):
    _, dest = sandbox
    result, skipped = extract(b"", dest)
    assert (result.files, skipped) == (0, [])


def test_garbage_and_truncated_streams_raise(sandbox):
    _, dest = sandbox
    with pytest.raises(UnsafeTarError, match="corrupt or truncated"):
        extract(b"this is not a tar archive at all" * 40, dest)
    good = build_tar([entry("first", data=b"1" * 10), entry("second", data=b"2" * 5000)])
    with pytest.raises(UnsafeTarError):
        extract(good[:512 + 512 + 512 + 1000], dest)  # cut in the middle of `second`
    assert (dest / "first").read_bytes() == b"1" * 10


@pytest.mark.parametrize("name, expected", [
    ("a", "a"), ("./a", "a"), ("a/./b", "a/b"), ("a/../b", "b"), (".", "."), ("./", "."),
    ("..", None), ("../a", None), ("a/../../b", None), ("/a", None), ("\\a", None), ("C:\\a", None),
    ("a\\..\\..\\b", None),
])
def test_safe_relative_path(name, expected):
    assert safe_relative_path(name) == expected


def test_chunk_stream_reads_across_chunks_and_drains():
    chunks = iter([b"abc", b"", b"defg", b"hi"])
    stream = ChunkStream(chunks)
    assert stream.read(2) == b"ab"
    assert stream.read(4) == b"cdef"
    assert stream.drain() == 3
    assert stream.read(10) == b""
