"""``job_core.files``: Beam's glob rules on pyarrow's file systems (local here; object stores share the code)."""

from __future__ import annotations

import pytest

from job_core import files


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for name in ("a/x.parquet", "a/deep/y.parquet", "b.parquet", "c.json", "[odd].txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*.parquet", ["b.parquet"]),  # a star stays within its folder level
        ("a/*", ["a/x.parquet"]),  # files only, never folders
        ("a/**", ["a/deep/y.parquet", "a/x.parquet"]),
        ("**.parquet", ["a/deep/y.parquet", "a/x.parquet", "b.parquet"]),
        ("?.json", ["c.json"]),
        ("[bc].*", ["b.parquet", "c.json"]),
        ("b.parquet", ["b.parquet"]),  # a plain path: itself when it is a file
        ("a", []),  # a folder is not a file
        ("missing/*", []),
        ("./b.parquet", ["./b.parquet"]),  # paths keep the form given (they reach the rejects table)
    ],
)
def test_globs_follow_beams_rules_and_keep_the_paths_form(tree, pattern, expected):
    assert files.match(pattern) == expected
    assert files.match(f"{tree}/{pattern.removeprefix('./')}") == [f"{tree}/{p.removeprefix('./')}" for p in expected]


def test_write_read_rename_and_delete(tmp_path):
    path = f"{tmp_path}/new/folder/f.bin"
    files.write_bytes(path, b"abc")  # parent folders are created
    assert files.exists(path) and files.read_bytes(path) == b"abc"
    files.rename([path], [f"{tmp_path}/moved/g.bin"])
    assert not files.exists(path) and files.read_bytes(f"{tmp_path}/moved/g.bin") == b"abc"
    assert files.list_files(f"{tmp_path}/moved") == [f"{tmp_path}/moved/g.bin"]
    files.delete([f"{tmp_path}/moved/g.bin", f"{tmp_path}/never-there"])  # an absent file is fine
    assert files.list_files(f"{tmp_path}/moved") == []
    files.delete_tree(f"{tmp_path}/new")
    assert not (tmp_path / "new").exists()
