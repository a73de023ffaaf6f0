"""A run's uploaded code (a tar.gz), unpacked into a job's home before the job starts.

The worker unpacks as root when jobs have users of their own, so nothing in the archive may
reach outside the home: members with absolute paths or `..`, links that point outside, and
anything but files, directories and links refuse the whole archive. The tree is unpacked into a
private directory beside the home, handed to the job's user, and renamed into place: a job never
sees half of it, and a home that exists already (an earlier start of the same submission) is
left alone, so a retried start never unpacks over a running job.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

import structlog

from backends.base import JobStartError

log = structlog.get_logger(__name__)


def unpack_code(archive: Path, home: Path, owner: tuple[int, int] | None) -> bool:
    """Unpacks `archive` as the job's home, owned by `owner` (uid, gid) when given. False when the
    home already exists: the code is there, and the job may already run in it."""
    if home.exists():
        return False
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.code-", dir=home.parent))  # 0700, ours
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _refuse_escaping(member)
            # The data filter checks again against the real tree (a link's target through other
            # links) and drops owners and special mode bits.
            tar.extractall(staging, members=members, filter="data")
        if owner is not None:
            _chown_tree(staging, *owner)
        staging.chmod(0o700)
        try:
            staging.rename(home)
        except OSError:
            if home.is_dir():
                return False  # another start of the submission got there first
            raise
    except (tarfile.TarError, zlib.error, EOFError) as error:
        raise JobStartError(f"the run's code can't be unpacked: {error}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("code unpacked", home=str(home), members=len(members))
    return True


def _refuse_escaping(member: tarfile.TarInfo) -> None:
    name = member.name
    if posixpath.isabs(name) or ".." in name.split("/"):
        raise JobStartError(f"the run's code has a member outside its directory: {name!r}")
    if member.issym() or member.islnk():
        target = member.linkname
        # A symbolic link is relative to its own directory; a hard link to the archive's root.
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target) if member.issym() else target)
        if posixpath.isabs(target) or resolved == ".." or resolved.startswith("../"):
            raise JobStartError(f"the run's code has a link that points outside its directory: {name!r} → {target!r}")
    elif not (member.isfile() or member.isdir()):
        raise JobStartError(f"the run's code has a member that is not a file, directory or link: {name!r}")


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for directory, subdirectories, files in os.walk(root):
        for name in (*subdirectories, *files):
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)
