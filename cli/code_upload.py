"""The code a run takes along: the configuration file's directory as a deterministic tar.gz
(sorted entries, no times or owners, so the same tree always has the same sha256), uploaded to the
project unless the server has it already.

Left out: `.git/`, and what `.gitignore` and `.durastackignore` files exclude (gitignore syntax,
in any directory of the tree; a directory's `.durastackignore` is read after its `.gitignore`, so
`!name` there can send a file that git ignores). Files, directories and links within the tree
travel; a link pointing outside it is refused, and other kinds of files (sockets, pipes) stay.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pathspec import GitIgnoreSpec

from api.schemas import MAX_CODE_BYTES
from cli.api_client import ApiClient, ApiError
from cli.output import format_bytes

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

IGNORE_FILES = (".gitignore", ".durastackignore")
ALWAYS_LEFT_OUT = ".git"
_GZIP_LEVEL = 6  # fixed, like everything else that goes into the archive's bytes


class CodeArchiveError(Exception):
    """The directory can't be packed; the message is one line for the user."""


@dataclass(frozen=True)
class CodeArchive:
    data: bytes
    hash: str  # sha256 of `data`, hex
    files: int  # files and links (directories not counted)


def pack_directory(directory: Path, limit: int = MAX_CODE_BYTES) -> CodeArchive:
    """Raises CodeArchiveError when a file can't be read, a link leaves the directory, or the
    archive would pass `limit` bytes."""
    buffer = _BoundedBuffer(limit)
    files = 0
    try:
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=_GZIP_LEVEL, mtime=0) as zipped, \
                tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for relative, status in _entries(directory):
                if _add(tar, directory, relative, status):
                    files += not stat.S_ISDIR(status.st_mode)
    except _TooLarge:
        sizes = [status.st_size for _, status in _entries(directory) if stat.S_ISREG(status.st_mode)]
        raise CodeArchiveError(
            f"{directory}: the code is larger than the limit of {format_bytes(limit)} compressed (its {len(sizes)} "
            f"files hold {format_bytes(sum(sizes))}); leave out what jobs don't need in .durastackignore "
            "(gitignore syntax), or apply with --no-code") from None
    except OSError as error:
        where = error.filename or directory
        raise CodeArchiveError(f"can't pack the code in {directory}: {where}: {error.strerror or error}") from None
    data = buffer.getvalue()
    return CodeArchive(data=data, hash=hashlib.sha256(data).hexdigest(), files=files)


def upload_code(client: ApiClient, archive: CodeArchive) -> bool:
    """Uploads the archive unless the project has it already; True when it was uploaded."""
    try:
        client.code_info(archive.hash)
        return False
    except ApiError as error:
        if error.status_code != 404:
            raise
    return client.upload_code(archive.data).created


def upload_line(archive: CodeArchive, uploaded: bool) -> str:
    short = archive.hash[:8]
    if not uploaded:
        return f"Code unchanged (sha256 {short})"
    return f"Uploaded code: {archive.files} file{'s' if archive.files != 1 else ''}, " \
           f"{format_bytes(len(archive.data))} (sha256 {short})"


def _entries(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry that travels, as a relative POSIX path, in a fixed order (by name, depth first)."""
    yield from _walk(root, "", [])


_Rules = list[tuple[str, GitIgnoreSpec]]  # each directory's specs, by its path relative to the root


def _walk(root: Path, relative_dir: str, rules: _Rules) -> Iterator[tuple[str, os.stat_result]]:
    directory = root / relative_dir
    rules = rules + _rules_in(directory, relative_dir)
    for name in sorted(os.listdir(directory)):
        if name == ALWAYS_LEFT_OUT:
            continue
        relative = posixpath.join(relative_dir, name) if relative_dir else name
        try:
            status = os.lstat(directory / name)
        except FileNotFoundError:
            continue  # removed since the listing: not part of this snapshot
        is_dir = stat.S_ISDIR(status.st_mode)
        if not (is_dir or stat.S_ISREG(status.st_mode) or stat.S_ISLNK(status.st_mode)):
            continue  # sockets, pipes, devices: nothing a job could use elsewhere
        if _ignored(relative, is_dir, rules):
            continue  # a directory's contents go with it, as in git
        yield relative, status
        if is_dir:
            yield from _walk(root, relative, rules)


def _rules_in(directory: Path, relative_dir: str) -> _Rules:
    rules: _Rules = []
    for name in IGNORE_FILES:
        try:
            lines = (directory / name).read_text(errors="replace").splitlines()
        except (FileNotFoundError, IsADirectoryError):
            continue
        rules.append((relative_dir, GitIgnoreSpec.from_lines(lines)))
    return rules


def _ignored(relative: str, is_dir: bool, rules: _Rules) -> bool:
    """The last rule that matches decides (deeper files and later lines win, `!` re-includes)."""
    ignored = False
    for base, spec in rules:
        path = relative[len(base) + 1:] if base else relative
        decision = spec.check_file(path + "/" if is_dir else path).include
        if decision is not None:
            ignored = decision
    return ignored


def _add(tar: tarfile.TarFile, root: Path, relative: str, status: os.stat_result) -> bool:
    """False for a file removed since it was listed."""
    info = tarfile.TarInfo(relative)
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    executable = bool(status.st_mode & stat.S_IXUSR)
    if stat.S_ISDIR(status.st_mode):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        return True
    elif stat.S_ISLNK(status.st_mode):
        target = os.readlink(root / relative)
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relative), target))
        if posixpath.isabs(target) or resolved == ".." or resolved.startswith("../"):
            raise CodeArchiveError(f"{root / relative} links to {target}, outside {root}; hosts can't follow it: "
                                   "leave it out in .durastackignore")
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, target
        tar.addfile(info)
        return True
    try:
        file = open(root / relative, "rb")  # noqa: SIM115 - closed below; a vanished file is skipped
    except FileNotFoundError:
        return False
    with file:
        info.size = os.fstat(file.fileno()).st_size
        info.mode = 0o755 if executable else 0o644
        tar.addfile(info, file)
    return True


class _TooLarge(Exception):
    pass


class _BoundedBuffer(io.BytesIO):
    """Stops the packing as soon as the archive passes the limit, rather than after compressing
    a tree of any size into memory."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def write(self, data: ReadableBuffer, /) -> int:
        if self.tell() + memoryview(data).nbytes > self._limit:
            raise _TooLarge
        return super().write(data)
