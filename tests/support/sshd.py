"""Real SSH hosts for tests: OpenSSH's sshd on 127.0.0.1, letting in a Unix user made for the test.

Each server is a `sshd -D` of its own (own port, host key and settings), all sharing one login
user and key. What `python3` a server's sessions find is its own: `SetEnv` puts a directory
first on their PATH, so one server's hosts have a real Python 3.11 and another's a stub that
claims an old version. Sessions also get the tests' site-packages on PYTHONPATH: a host whose
Python already has durastack's dependencies, so that installing durastack there needs no index.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.ports import free_port

SSHD = Path("/usr/sbin/sshd")
HOST_PYTHON = Path("/usr/bin/python3.11")  # the tests' dependencies are built for 3.11


def unavailable_reason() -> str | None:
    """Why these tests can't have SSH hosts here, or None."""
    if not SSHD.exists():
        return "openssh-server is not installed (/usr/sbin/sshd); .ci/run installs it"
    if os.geteuid() != 0:
        return "a login user for sshd can only be created as root"
    if not HOST_PYTHON.exists():
        return f"{HOST_PYTHON} is missing: SSH hosts need a Python 3.11 with venv"
    return None


class SshHosts:
    def __init__(self) -> None:
        # Outside pytest's temporary directories, which are closed to other users: the login user
        # must reach its home and the servers' bin directories.
        self.directory = Path(tempfile.mkdtemp(prefix="durastack-sshd-"))
        self.directory.chmod(0o755)
        self.user = f"dsfleet{uuid.uuid4().hex[:6]}"
        self.home = self.directory / "home"
        self.key_file = self.directory / "id_ed25519"
        self._servers: list[subprocess.Popen[bytes]] = []
        self._ports: dict[str, int] = {}

    def create_user(self) -> None:
        self.home.mkdir()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.user, "-f", str(self.key_file)],
                       check=True)
        subprocess.run(["useradd", "--home-dir", str(self.home), "--shell", "/bin/sh", self.user], check=True)
        # Not a locked account (useradd's "!"), which sshd refuses without PAM; no password either.
        subprocess.run(["usermod", "-p", "*", self.user], check=True)
        shutil.chown(self.home, self.user, self.user)
        self.home.chmod(0o755)

    def start_server(self, name: str, *, python_version: str | None = None) -> int:
        """A sshd whose sessions' `python3` is HOST_PYTHON, or a stub printing `Python
        <python_version>`; returns its port."""
        directory = self.directory / name
        bin_dir = directory / "bin"
        bin_dir.mkdir(parents=True)
        python = bin_dir / "python3"
        if python_version is None:
            python.symlink_to(HOST_PYTHON)
        else:
            python.write_text(f"#!/bin/sh\necho 'Python {python_version}'\n")
        python.chmod(0o755)
        for path in (directory, bin_dir):
            path.chmod(0o755)
        host_key = directory / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
        authorized_keys = directory / "authorized_keys"
        authorized_keys.write_text(Path(f"{self.key_file}.pub").read_text())
        authorized_keys.chmod(0o644)
        port = free_port()
        site_packages = sysconfig.get_paths()["purelib"]
        config = directory / "sshd_config"
        config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {directory / "sshd.pid"}
AuthorizedKeysFile {authorized_keys}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers {self.user}
Subsystem sftp internal-sftp
SetEnv PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin PYTHONPATH={site_packages}
""")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        log = open(directory / "sshd.log", "ab")  # noqa: SIM115 - owned by the child
        server = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log,
                                  stdin=subprocess.DEVNULL)
        self._servers.append(server)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"sshd exited: {(directory / 'sshd.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    self._ports[name] = port
                    return port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not open its port")

    def port(self, name: str) -> int:
        return self._ports[name]

    def worker_logs(self) -> str:
        """The end of each worker log a fleet left in the user's home, for failure messages."""
        return "".join(f"\n--- {path}\n" + path.read_text(errors="replace")[-3000:]
                       for path in sorted(self.home.glob(".durastack/hosts/*/worker.log")))

    def processes(self) -> list[str]:
        """Command lines of the login user's processes."""
        found = subprocess.run(["ps", "-ww", "-u", self.user, "-o", "args="], capture_output=True, text=True,
                               check=False)
        return [line.strip() for line in found.stdout.splitlines() if line.strip()]

    def close(self) -> None:
        for server in self._servers:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        # Whatever the fleet left running as the test's own user (its workers, their jobs).
        subprocess.run(["pkill", "-KILL", "-u", self.user], check=False)
        time.sleep(0.2)
        subprocess.run(["userdel", self.user], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.directory, ignore_errors=True)

    def server_log(self, name: str) -> str:
        path = self.directory / name / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

