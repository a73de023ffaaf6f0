"""Unpacking a run's code into a job's home: the whole archive inside the home, or nothing."""

from __future__ import annotations

import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from backends.base import JobStartError
from backends.local.job_code import unpack_code
from cli.code_upload import pack_directory


def archive_of(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


def test_a_packed_directory_unpacks_as_the_home(tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "src").mkdir(parents=True)
    (code / "data.txt").write_text("hello\n")
    (code / "run.sh").write_text("#!/bin/sh\n")
    (code / "run.sh").chmod(0o755)
    (code / "src" / "latest").symlink_to("../data.txt")
    archive = tmp_path / "code.tar.gz"
    archive.write_bytes(pack_directory(code).data)
    home = tmp_path / "workspaces" / "submission-1"
    home.parent.mkdir()

    assert unpack_code(archive, home, owner=None)

    assert (home / "data.txt").read_text() == "hello\n"
    assert os.access(home / "run.sh", os.X_OK)
    assert (home / "src" / "latest").read_text() == "hello\n"
    assert home.stat().st_mode & 0o777 == 0o700
    assert os.listdir(home.parent) == ["submission-1"]  # nothing left beside it


def test_an_existing_home_is_left_alone(tmp_path: Path) -> None:
    """A retried start of the same submission: the job may already run there."""
    archive = archive_of(tmp_path / "code.tar.gz", (entry("data.txt"), b"new"))
    home = tmp_path / "home"
    home.mkdir()
    (home / "data.txt").write_text("the running job's")
    assert not unpack_code(archive, home, owner=None)
    assert (home / "data.txt").read_text() == "the running job's"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root gives files away")
def test_the_tree_belongs_to_the_job_user(tmp_path: Path) -> None:
    archive = archive_of(tmp_path / "code.tar.gz", (entry("dir", tarfile.DIRTYPE), b""),
                         (entry("dir/file"), b"x"), (entry("link", tarfile.SYMTYPE, "dir/file"), b""))
    home = tmp_path / "home"
    assert unpack_code(archive, home, owner=(1_234_567, 7_654_321))
    for path in (home, home / "dir", home / "dir" / "file", home / "link"):
        status = path.lstat()
        assert (status.st_uid, status.st_gid) == (1_234_567, 7_654_321), path


@pytest.mark.parametrize(("member", "message"), [
    (entry("../outside"), "a member outside its directory: '../outside'"),
    (entry("a/../../outside"), "a member outside its directory: 'a/../../outside'"),
    (entry("/etc/cron.d/job"), "a member outside its directory: '/etc/cron.d/job'"),
    (entry("link", tarfile.SYMTYPE, "/etc"), "a link that points outside its directory: 'link' → '/etc'"),
    (entry("a/link", tarfile.SYMTYPE, "../../etc"), "a link that points outside its directory: 'a/link' → '../../etc'"),
    (entry("hard", tarfile.LNKTYPE, "../x"), "a link that points outside its directory: 'hard' → '../x'"),
    (entry("device", tarfile.CHRTYPE), "a member that is not a file, directory or link: 'device'"),
])
def test_members_that_escape_refuse_the_whole_archive(tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    archive = archive_of(tmp_path / "code.tar.gz", (entry("fine.txt"), b"x"), (member, b""))
    home = tmp_path / "workspaces" / "home"
    home.parent.mkdir()
    with pytest.raises(JobStartError, match="^" + re.escape(f"the run's code has {message}") + "$"):
        unpack_code(archive, home, owner=None)
    assert os.listdir(home.parent) == []  # neither the home nor a half-unpacked tree
    assert not (tmp_path / "outside").exists()


def test_a_link_through_a_link_is_refused(tmp_path: Path) -> None:
    """Each link alone stays inside; followed one after the other they leave (tar's data filter)."""
    archive = archive_of(tmp_path / "code.tar.gz", (entry("a", tarfile.DIRTYPE), b""),
                         (entry("a/up", tarfile.SYMTYPE, ".."), b""),
                         (entry("a/up/escape", tarfile.SYMTYPE, "../outside"), b""))
    (tmp_path / "workspaces").mkdir()
    with pytest.raises(JobStartError, match=r"^the run's code can't be unpacked: "):
        unpack_code(archive, tmp_path / "workspaces" / "home", owner=None)
    assert os.listdir(tmp_path / "workspaces") == []


def test_not_an_archive(tmp_path: Path) -> None:
    archive = tmp_path / "code.tar.gz"
    archive.write_bytes(b"not a tar.gz")
    with pytest.raises(JobStartError, match=r"^the run's code can't be unpacked: "):
        unpack_code(archive, tmp_path / "home", owner=None)
