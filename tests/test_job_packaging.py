"""working_dir / py_modules packaging: the same URIs and zip layouts as Ray's own code (imported here,
in the tests only), the size limit, and the upload-only-if-missing rule."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from kubectl_ray.errors import UsageError
from kubectl_ray.ray import packaging
from kubectl_ray.ray.packaging import PathSpec, plan_packages, scan_directory, upload_missing, write_zip

ray_packaging = pytest.importorskip("ray._private.runtime_env.packaging", reason="Ray (the e2e extra) compares URIs")
DEFAULTS = [".git", ".venv", "venv", "__pycache__"]


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


TREES: dict[str, dict[str, str]] = {
    "flat": {"main.py": "print(1)\n", "data.csv": "a,b\n1,2\n"},
    "nested, empty dir, defaults": {"pkg/__init__.py": "", "pkg/sub/m.py": "x = 1\n", "empty/": "",
                                     ".git/HEAD": "ref\n", "venv/bin/python": "", "pkg/__pycache__/m.pyc": "\0"},
    "gitignore with negation and dir pattern": {".gitignore": "data/*.bin\n!data/keep.bin\nbuild/\n*.log\n# note\n",
                                                "data/a.bin": "1", "data/keep.bin": "2", "build/out/x": "3",
                                                "x.log": "4", "src/y.log": "5", "src/y.py": "6"},
    "rayignore in a subdir ignores the subdir itself": {"a.py": "", "sub/.rayignore": "*\n", "sub/b.py": ""},
    "nested gitignore anchored pattern": {"lib/.gitignore": "/gen\n*.tmp\n", "lib/gen/g.py": "", "gen/keep.py": "",
                                          "lib/z.tmp": "", "lib/ok.py": "", "weird [name].txt": "", "ünï.txt": "u"},
}


@pytest.mark.parametrize("name", list(TREES))
@pytest.mark.parametrize("excludes", [[], ["*.csv", "pkg/sub"], ["/main.py", "**/m.py"]])
def test_working_dir_uri_and_zip_match_rays(tmp_path: Path, name: str, excludes: list[str]) -> None:
    root = make_tree(tmp_path / "wd", TREES[name])

    plan = plan_packages({"working_dir": str(root), "excludes": excludes}, environ={})

    ray_uri = ray_packaging.get_uri_for_directory(str(root), True, excludes=DEFAULTS + excludes)
    assert plan.runtime_env["working_dir"] == ray_uri
    (pkg,) = plan.packages
    ray_zip = tmp_path / "ray.zip"
    ray_packaging.create_package(str(root), ray_zip, True, include_parent_dir=False, excludes=DEFAULTS + excludes)
    ours = pkg.materialize(tmp_path)
    assert sorted(zipfile.ZipFile(ours).namelist()) == sorted(zipfile.ZipFile(ray_zip).namelist())
    assert ours.stat().st_size == pkg.size == ray_zip.stat().st_size  # the size check is exact


def test_py_modules_directory_keeps_its_name_and_uses_no_default_excludes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "mylib", {"__init__.py": "V = 1\n", "venv/x.py": "", "core/a.py": ""})

    plan = plan_packages({"py_modules": [str(root)]}, environ={})

    (uri,) = plan.runtime_env["py_modules"]
    assert uri == ray_packaging.get_uri_for_directory(str(root), True, excludes=None)
    names = sorted(zipfile.ZipFile(plan.packages[0].materialize(tmp_path)).namelist())
    assert names == ["mylib/__init__.py", "mylib/core/a.py", "mylib/venv/x.py"]


def test_single_file_py_module_and_wheel(tmp_path: Path) -> None:
    module = tmp_path / "tool.py"
    module.write_text("X = 2\n")
    wheel = tmp_path / "lib-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x05\x06" + b"\0" * 18)

    plan = plan_packages({"py_modules": [str(module), str(wheel), "s3://bucket/lib.zip"]}, environ={})

    assert plan.runtime_env["py_modules"] == [ray_packaging.get_uri_for_file(str(module)),
                                              "gcs://lib-1.0-py3-none-any.whl", "s3://bucket/lib.zip"]
    assert zipfile.ZipFile(plan.packages[0].materialize(tmp_path)).namelist() == ["tool.py"]
    assert plan.packages[1].materialize(tmp_path) == wheel  # uploaded as is


def test_local_archive_working_dir_is_named_by_its_bytes(tmp_path: Path) -> None:
    archive = tmp_path / "code.tgz"
    archive.write_bytes(b"\x1f\x8b fake tarball")

    plan = plan_packages({"working_dir": str(archive)}, environ={})

    assert plan.runtime_env["working_dir"] == ray_packaging.get_uri_for_package(archive)
    assert plan.runtime_env["working_dir"].endswith(".tar.gz")


@pytest.mark.parametrize("uri", ["s3://bucket/code.zip", "gs://b/c.zip", "https://example.com/c.zip",
                                 "local:///opt/code", "gcs://_ray_pkg_0123456789abcdef.zip"])
def test_remote_working_dir_passes_through_untouched(uri: str) -> None:
    plan = plan_packages({"working_dir": uri, "env_vars": {"A": "1"}}, environ={})

    assert plan.runtime_env == {"working_dir": uri, "env_vars": {"A": "1"}}
    assert plan.packages == []


def test_relative_working_dir_is_relative_to_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path / "proj", {"a.py": "1"})
    monkeypatch.chdir(tmp_path)

    relative = plan_packages({"working_dir": "proj"}, environ={})

    assert relative.runtime_env["working_dir"] == plan_packages({"working_dir": str(tmp_path / "proj")},
                                                                environ={}).runtime_env["working_dir"]


def test_environment_switches_like_ray(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "wd", {".gitignore": "*.log\n", "a.log": "x", "venv/v": "y", "m.py": ""})
    env = {"RAY_RUNTIME_ENV_IGNORE_GITIGNORE": "1", "RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES": ""}

    plan = plan_packages({"working_dir": str(root)}, environ=env)

    assert plan.runtime_env["working_dir"] == ray_packaging.get_uri_for_directory(str(root), False, excludes=[])
    names = sorted(zipfile.ZipFile(plan.packages[0].materialize(tmp_path)).namelist())
    assert names == [".gitignore", "a.log", "m.py", "venv/v"]


@pytest.mark.parametrize("runtime_env, message", [
    ({"working_dir": "/definitely/missing"}, "working directory /definitely/missing must be an existing directory"),
    ({"working_dir": 3}, "working_dir must be a string"),
    ({"working_dir": "ftp://host/x.zip"}, 'unsupported protocol "ftp"'),
    ({"py_modules": "notalist"}, "py_modules must be a list"),
    ({"py_modules": ["/missing/mod.py"]}, "py_modules entry /missing/mod.py must be an existing file"),
    ({"py_modules": ["/missing/dir"]}, "py_modules entry must be an existing .py file, directory or .whl file"),
    ({"excludes": "*.log"}, "'excludes' must be a list of strings"),
])
def test_bad_runtime_env_is_a_usage_error(runtime_env: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(".", r"\.")):
        plan_packages(runtime_env, environ={})


def test_packages_at_the_dashboard_limit_are_refused_before_anything_is_written(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "big", {"blob.bin": "x" * 5000, "small.py": ""})
    monkeypatch.setattr(packaging, "MAX_UPLOAD_BYTES", 4000)

    with pytest.raises(UsageError) as err:
        plan_packages({"working_dir": str(root)}, environ={})

    # stored zip: 5000 + 2 * (30 + 46 + 2 * 8) bytes of headers + 22 = 5206 bytes
    assert str(err.value) == (f"package for working_dir {root} is 5.08 KiB, the Ray dashboard accepts uploads below "
                              "3.91 KiB: exclude large files in .gitignore or .rayignore or the runtime env's "
                              "'excludes', or use a URI of a remote zip file")
    assert plan_packages({"working_dir": str(root), "excludes": ["*.bin"]}, environ={}).packages[0].size < 4000


def test_large_files_are_warned_about(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "wd", {"model.bin": "x" * 300, "a.py": ""})
    monkeypatch.setattr(packaging, "FILE_SIZE_WARNING", 200)
    warnings: list[str] = []

    plan_packages({"working_dir": str(root)}, environ={}, warn=warnings.append)

    assert warnings == [f"file {root / 'model.bin'} is very large (300 B); consider adding it to the runtime env's "
                        "'excludes' to skip uploading it"]


class RecordingDashboard:
    """Stands in for DashboardClient's package calls (the real ones run in the e2e lane)."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = set(existing)
        self.calls: list[tuple[str, str, bytes]] = []

    def package_exists(self, uri: str) -> bool:
        self.calls.append(("GET", uri, b""))
        return uri in self.existing

    def upload_package(self, uri: str, data: Any, size: int | None = None) -> None:
        body = data.read()
        assert len(body) == size
        self.calls.append(("PUT", uri, body))
        self.existing.add(uri)


def test_upload_missing_puts_only_what_the_cluster_lacks(tmp_path: Path) -> None:
    wd = make_tree(tmp_path / "wd", {"a.py": "1"})
    lib = make_tree(tmp_path / "lib", {"__init__.py": ""})
    plan = plan_packages({"working_dir": str(wd), "py_modules": [str(lib)]}, environ={})
    dashboard = RecordingDashboard(existing={plan.runtime_env["py_modules"][0]})
    messages: list[str] = []

    uploaded = upload_missing(dashboard, plan, info=messages.append)

    assert [(m, u) for m, u, _ in dashboard.calls] == [("GET", plan.runtime_env["working_dir"]),
                                                      ("PUT", plan.runtime_env["working_dir"]),
                                                      ("GET", plan.runtime_env["py_modules"][0])]
    assert zipfile.ZipFile(__import__("io").BytesIO(dashboard.calls[1][2])).namelist() == ["a.py"]
    assert [p.field_name for p in uploaded] == ["working_dir"]
    assert messages[1].endswith("is already on the cluster as " + plan.runtime_env["py_modules"][0] +
                                "; not uploading it again")
    assert upload_missing(dashboard, plan) == []  # the second submission uploads nothing


@pytest.mark.parametrize("pattern, path, matched", [
    ("*.log", "a/b/c.log", True), ("/gen", "gen", True), ("/gen", "a/gen", False), ("build/", "build", False),
    ("build/", "build/x", True), ("a/**/b", "a/x/y/b", True), ("a/**/b", "a/b", True), ("**", "anything", True),
    ("[!a]x", "bx", True), ("[!a]x", "ax", False), ("\\#lit", "#lit", True), ("#comment", "#comment", False),
    ("?.py", "a.py", True), ("?.py", "ab.py", False), ("data/*.bin", "data/x.bin", True),
    ("data/*.bin", "sub/data/x.bin", False),
])
def test_gitwildmatch_agrees_with_rays_pathspec(pattern: str, path: str, matched: bool) -> None:
    from ray._private.thirdparty.pathspec import PathSpec as RayPathSpec

    assert RayPathSpec.from_lines("gitwildmatch", [pattern]).match_file(path) is matched
    assert PathSpec([pattern]).match_file(path) is matched


def test_scan_hash_is_independent_of_listing_order(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "wd", {f"f{i}.txt": str(i) for i in range(20)})

    first = scan_directory(root, [], include_gitignore=True, include_parent_dir=False)
    write_zip(list(reversed(first.entries)), tmp_path / "r.zip")

    assert first.hex == scan_directory(root, [], include_gitignore=True, include_parent_dir=False).hex
    assert len(first.hex) == 16
