"""The wheel of the running durastack, which SSH fleets install on their hosts.

It is made from the installed package itself, the same way whether it was installed from a wheel
(the Docker image) or editable (a checkout): the files of its top-level packages where Python
imports them from, and its metadata. No build backend runs and nothing is downloaded. Wheels are
cached in the server's state directory by the hash of what they hold, so a change of code makes a
new wheel, and hosts compare that hash with the one they installed."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DISTRIBUTION = "durastack"
_WHEEL_FILE = "Wheel-Version: 1.0\nGenerator: durastack\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
# Deterministic archive entries: the same content always makes the same wheel.
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Wheel:
    path: Path
    content_hash: str  # sha256 of the files it holds, as hex

    @property
    def filename(self) -> str:
        return self.path.name


def durastack_wheel(cache_dir: Path) -> Wheel:
    """The wheel of the installed durastack, built once per content into `cache_dir`."""
    distribution = _installed_distribution()
    dist_info = f"{DISTRIBUTION}-{distribution.version}.dist-info"
    entries = dict(_package_files(distribution))
    metadata = {f"{dist_info}/{name}": (distribution.read_text(name) or "").encode()
                for name in ("METADATA", "entry_points.txt", "top_level.txt")}
    metadata[f"{dist_info}/WHEEL"] = _WHEEL_FILE.encode()
    digest = hashlib.sha256()
    for name in sorted(entries):
        digest.update(name.encode() + b"\0" + entries[name].read_bytes() + b"\0")
    for name in sorted(metadata):
        digest.update(name.encode() + b"\0" + metadata[name] + b"\0")
    content_hash = digest.hexdigest()
    path = cache_dir / content_hash[:16] / f"{DISTRIBUTION}-{distribution.version}-py3-none-any.whl"
    if not path.exists():
        _write_wheel(path, entries, metadata, f"{dist_info}/RECORD")
    return Wheel(path=path, content_hash=content_hash)


def _installed_distribution() -> importlib.metadata.Distribution:
    """The installed distribution (its .dist-info): a checkout on sys.path also has the
    `durastack.egg-info` of its editable install, which has no METADATA file and may be stale."""
    found = list(importlib.metadata.distributions(name=DISTRIBUTION))
    for distribution in found:
        if distribution.read_text("METADATA"):
            return distribution
    raise RuntimeError(f"{DISTRIBUTION} is not installed as a distribution with metadata "
                       f"(found: {[str(getattr(item, '_path', item)) for item in found]})")


def _package_files(distribution: importlib.metadata.Distribution) -> list[tuple[str, Path]]:
    """(name in the wheel, file) of every file of the distribution's top-level packages, from
    where they are imported: site-packages, or the checkout of an editable install."""
    packages = (distribution.read_text("top_level.txt") or "").split()
    if not packages:
        raise RuntimeError(f"the installed {DISTRIBUTION} names no packages (top_level.txt)")
    files: list[tuple[str, Path]] = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"package {package} of {DISTRIBUTION} can't be found")
        root = Path(next(iter(spec.submodule_search_locations)))
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = sorted(name for name in subdirectories if name != "__pycache__")
            for name in sorted(names):
                if not name.endswith((".pyc", ".pyo")):
                    path = Path(directory) / name
                    files.append((f"{package}/{path.relative_to(root).as_posix()}", path))
    return files


def _write_wheel(path: Path, entries: dict[str, Path], metadata: dict[str, bytes], record_name: str) -> None:
    """Written beside its place and renamed into it, so that concurrent builds never see half a wheel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record: list[str] = []
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    os.close(descriptor)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in [*((name, entries[name].read_bytes()) for name in sorted(entries)),
                               *sorted(metadata.items())]:
                archive.writestr(zipfile.ZipInfo(name, date_time=_EPOCH), data, compress_type=zipfile.ZIP_DEFLATED)
                hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                record.append(f"{name},sha256={hashed},{len(data)}")
            record.append(f"{record_name},,")
            archive.writestr(zipfile.ZipInfo(record_name, date_time=_EPOCH), "\n".join(record) + "\n",
                             compress_type=zipfile.ZIP_DEFLATED)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
