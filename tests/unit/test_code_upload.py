"""Packing a configuration's directory: what travels, and the same tree always the same bytes."""

from __future__ import annotations

import io
import os
import re
import tarfile
import time
from pathlib import Path

import pytest

from cli.code_upload import CodeArchive, CodeArchiveError, pack_directory, upload_line


def write(path: Path, text: str = "x", mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def members(archive: CodeArchive) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive.data), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def test_ignore_files_git_and_nested_rules(tmp_path: Path) -> None:
    write(tmp_path / "run.yml", "type: task\ncommands: [cat data.txt]\n")
    write(tmp_path / "data.txt")
    write(tmp_path / ".gitignore", "*.log\nbuild/\n/top-only.txt\n")
    write(tmp_path / ".durastackignore", "secret.txt\n!keep.log\n")
    write(tmp_path / "debug.log")
    write(tmp_path / "keep.log")  # git ignores it; .durastackignore sends it anyway
    write(tmp_path / "secret.txt")
    write(tmp_path / "top-only.txt")
    write(tmp_path / "build" / "out.bin")
    write(tmp_path / ".git" / "HEAD")
    write(tmp_path / "src" / "top-only.txt")  # anchored to the root: this one travels
    write(tmp_path / "src" / "main.py")
    write(tmp_path / "src" / "deep" / "build" / "x")  # `build/` matches at any depth
    write(tmp_path / "src" / "local.txt")
    write(tmp_path / "src" / ".gitignore", "local.txt\n")
    write(tmp_path / "src" / "deep" / "trace.log")
    write(tmp_path / "src" / "deep" / ".durastackignore", "!trace.log\n")  # deeper rules win

    archive = pack_directory(tmp_path)

    assert sorted(members(archive)) == [
        ".durastackignore", ".gitignore", "data.txt", "keep.log", "run.yml", "src", "src/.gitignore",
        "src/deep", "src/deep/.durastackignore", "src/deep/trace.log", "src/main.py", "src/top-only.txt"]
    assert archive.files == 10


def test_the_same_tree_gives_the_same_archive(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    # The same files, written in another order, at other times, with other permissions on disk.
    for name in ("b.txt", "a/z.txt", "a/y.txt"):
        write(first / name, name)
    time.sleep(0.01)
    for name in ("a/y.txt", "b.txt", "a/z.txt"):
        write(second / name, name, mode=0o600)
    os.utime(second / "b.txt", (0, 1_000_000))

    assert pack_directory(first).hash == pack_directory(second).hash == pack_directory(first).hash
    write(second / "b.txt", "changed")
    assert pack_directory(second).hash != pack_directory(first).hash


def test_members_carry_no_times_or_owners_and_keep_the_executable_bit(tmp_path: Path) -> None:
    write(tmp_path / "train.sh", "#!/bin/sh\n", mode=0o700)
    write(tmp_path / "data.txt", mode=0o600)
    (tmp_path / "latest").symlink_to("data.txt")
    found = members(pack_directory(tmp_path))
    assert {name: (oct(m.mode), m.mtime, m.uid, m.gid, m.uname, m.gname) for name, m in found.items()
            if not m.issym()} == {"train.sh": ("0o755", 0, 0, 0, "", ""), "data.txt": ("0o644", 0, 0, 0, "", "")}
    assert (found["latest"].issym(), found["latest"].linkname) == (True, "data.txt")


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside", "sub/../../outside"])
def test_a_link_out_of_the_directory_is_refused(tmp_path: Path, target: str) -> None:
    write(tmp_path / "run.yml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "escape").symlink_to(target)
    message = f"{tmp_path / 'escape'} links to {target}, outside {tmp_path}"
    with pytest.raises(CodeArchiveError, match=re.escape(message)):
        pack_directory(tmp_path)


def test_past_the_limit_the_error_names_the_directory_and_the_size(tmp_path: Path) -> None:
    write(tmp_path / "run.yml")
    (tmp_path / "noise.bin").write_bytes(os.urandom(300_000))  # incompressible
    with pytest.raises(CodeArchiveError) as raised:
        pack_directory(tmp_path, limit=100 * 1024)
    assert str(raised.value) == (
        f"{tmp_path}: the code is larger than the limit of 100.0KB compressed (its 2 files hold 293.0KB); "
        "leave out what jobs don't need in .durastackignore (gitignore syntax), or apply with --no-code")
    assert "\n" not in str(raised.value)


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    write(tmp_path / "run.yml")
    missing = tmp_path / "dangling"
    missing.symlink_to("nowhere")  # links travel as links, even dangling ones
    assert "dangling" in members(pack_directory(tmp_path))
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    if os.geteuid() == 0:
        pytest.skip("root reads any directory")
    with pytest.raises(CodeArchiveError, match=f"can't pack the code in {tmp_path}: .*locked: Permission denied"):
        pack_directory(tmp_path)


def test_the_upload_line() -> None:
    archive = CodeArchive(data=b"x" * 3500, hash="ab12cd34" + "0" * 56, files=12)
    assert upload_line(archive, uploaded=True) == "Uploaded code: 12 files, 3.4KB (sha256 ab12cd34)"
    assert upload_line(archive, uploaded=False) == "Code unchanged (sha256 ab12cd34)"
