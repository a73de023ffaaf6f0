"""The fleet configuration a user writes in YAML (`type: fleet`), in dstack's shape.

```yaml
type: fleet
name: my-fleet
ssh_config:
  user: ubuntu
  identity_file: ~/.ssh/id_ed25519   # read by the CLI, sent as ssh_key.private
  port: 22
  hosts:
    - 10.0.0.2
    - {hostname: 10.0.0.3, user: root, port: 2222}
```

A host inherits `user`, `port` and the key from `ssh_config` unless it names its own. The server
never reads the CLI's files: `identity_file` is the CLI's, and what reaches the API is the key's
text (`ssh_key.private`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from core.configuration import FLEET_NAME_PATTERN, ConfigurationError, describe_validation_error

MAX_FLEET_HOSTS = 100
MAX_PRIVATE_KEY_CHARS = 64 * 1024
DEFAULT_SSH_PORT = 22
# A DNS name or an IPv4/IPv6 address: no spaces, no shell or option syntax.
_HOSTNAME = re.compile(r"^[A-Za-z0-9_:\[][A-Za-z0-9_:.\[\]%-]{0,252}$")
_USER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
# Where the CLI sent a key's content instead of a file name.
_NO_SERVER_FILES = "the server can't read files; send the key's text as ssh_key.private (`durastack apply` does)"


def _hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is not a hostname or an IP address")
    return value


def _user_name(value: str) -> str:
    if not _USER_NAME.match(value):
        raise ValueError(f"{value!r} is not a user name")
    return value


Hostname = Annotated[str, AfterValidator(_hostname)]
UserName = Annotated[str, AfterValidator(_user_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SSHKey(_Strict):
    private: str = Field(min_length=1, max_length=MAX_PRIVATE_KEY_CHARS, description="an unencrypted private key")


class SSHHostParams(_Strict):
    hostname: Hostname
    user: UserName | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    identity_file: str | None = Field(default=None, min_length=1, max_length=4096,
                                      description="a private key file on the CLI's machine")
    ssh_key: SSHKey | None = None


class SSHParams(_Strict):
    user: UserName | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    identity_file: str | None = Field(default=None, min_length=1, max_length=4096)
    ssh_key: SSHKey | None = None
    hosts: list[SSHHostParams] = Field(max_length=MAX_FLEET_HOSTS)

    @field_validator("hosts", mode="before")
    @classmethod
    def _hostnames_as_hosts(cls, hosts: object) -> object:
        if isinstance(hosts, list):
            return [{"hostname": host} if isinstance(host, str) else host for host in hosts]
        return hosts

    @field_validator("hosts")
    @classmethod
    def _some_hosts(cls, hosts: list[SSHHostParams]) -> list[SSHHostParams]:
        if not hosts:
            raise ValueError("a fleet needs at least one host")
        return hosts


class SSHHost(BaseModel):
    """One host with every setting resolved: what the fleet workflow connects to."""

    hostname: str
    port: int
    user: str
    private_key: str = Field(repr=False)


class FleetConfiguration(_Strict):
    type: Literal["fleet"]
    name: str = Field(pattern=FLEET_NAME_PATTERN, description="unique among fleets")
    ssh_config: SSHParams

    @model_validator(mode="after")
    def _each_host_complete(self) -> FleetConfiguration:
        seen: dict[tuple[str, int], int] = {}
        for index, host in enumerate(self.ssh_config.hosts):
            where = f"ssh_config.hosts.{index}"
            if host.user is None and self.ssh_config.user is None:
                raise _FieldError(f"{where}.user", "required: give user here or in ssh_config")
            if not (host.ssh_key or host.identity_file or self.ssh_config.ssh_key or self.ssh_config.identity_file):
                raise _FieldError(f"{where}.identity_file", "required: give identity_file here or in ssh_config")
            address = (host.hostname.lower(), host.port or self.ssh_config.port or DEFAULT_SSH_PORT)
            if address in seen:
                raise _FieldError(f"{where}.hostname",
                                  f"{host.hostname} port {address[1]} is listed twice (also hosts.{seen[address]})")
            seen[address] = index
        return self

    def hosts(self) -> list[SSHHost]:
        """The hosts with their settings resolved; needs the keys' text (ssh_key), not files."""
        ssh = self.ssh_config
        resolved = []
        for host in ssh.hosts:
            key = host.ssh_key or (None if host.identity_file else ssh.ssh_key)
            assert key is not None, "parse_fleet_configuration(keys_inline=True) checked this"
            resolved.append(SSHHost(hostname=host.hostname, port=host.port or ssh.port or DEFAULT_SSH_PORT,
                                    user=host.user or ssh.user or "", private_key=key.private))
        return resolved

    def without_keys(self) -> dict[str, Any]:
        """The configuration as the API shows it: private keys are never sent back."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["ssh_config"].pop("ssh_key", None)
        for host in data["ssh_config"]["hosts"]:
            host.pop("ssh_key", None)
        return data


class _FieldError(ValueError):
    """A rule across fields, raised inside a validator so that the field it names is kept."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _keys_inline(configuration: FleetConfiguration) -> None:
    """The server's rule: every key arrives as text; a file name means a client that didn't read it."""
    ssh = configuration.ssh_config
    if ssh.identity_file is not None and ssh.ssh_key is None:
        raise ConfigurationError("ssh_config.identity_file", _NO_SERVER_FILES)
    for index, host in enumerate(ssh.hosts):
        if host.identity_file is not None and host.ssh_key is None:
            raise ConfigurationError(f"ssh_config.hosts.{index}.identity_file", _NO_SERVER_FILES)


def parse_fleet_configuration(data: Any, *, keys_inline: bool = True) -> FleetConfiguration:
    """Validates a fleet configuration; raises ConfigurationError naming the field. The CLI parses
    with `keys_inline=False` (identity files are still names then); the server with True."""
    if not isinstance(data, dict):
        raise ConfigurationError("", "a fleet configuration must be a mapping with `type: fleet`")
    try:
        configuration = FleetConfiguration.model_validate(data)
    except ValidationError as error:
        cause = error.errors()[0].get("ctx", {}).get("error")
        if isinstance(cause, _FieldError):
            raise ConfigurationError(cause.field, cause.message) from None
        raise describe_validation_error(error) from None
    if keys_inline:
        _keys_inline(configuration)
    return configuration


def configuration_type(text: str) -> str | None:
    """The `type` of a YAML configuration, or None when the text isn't a mapping with one (the
    caller's own parser then says what is wrong)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    kind = data.get("type") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None

