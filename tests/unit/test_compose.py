"""The production stack (docker-compose.yml, Dockerfile) against the code it runs, without Docker:
the commands are real CLI commands, the environment is what server/settings.py reads, the search
attributes are registered. Also keeps ENVIRONMENT_HELP in step with Settings."""

from __future__ import annotations

import itertools
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from sqlalchemy.engine import make_url
from temporalio.common import SearchAttributeKey

from api.static_ui import UI_DIR_VARIABLE
from cli.main import build_parser
from core import search_attributes
from core.units import parse_memory_mb
from server.settings import ENVIRONMENT_HELP, Settings
from server.temporal import DYNAMIC_CONFIG

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DURASTACK_SERVICES = ("api", "worker")

# Variables the api and worker services may set although Settings doesn't read them: name → why.
ALLOWED_EXTRA_ENVIRONMENT: dict[str, str] = {}

_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def settings_environment_names() -> set[str]:
    """The environment variables Settings reads, from its fields: the validation alias when a field
    has one, else env_prefix + the field name."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{prefix}{field_name}")
    if not Settings.model_config.get("case_sensitive", False):
        names = {name.upper() for name in names}
    return names


def interpolate(value: str) -> str:
    """Compose's `${NAME:-default}`, `${NAME:?message}` and `$$`, as if no variable were set except
    the required ones."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        op = match.group("op") or ""
        if op.endswith("-"):
            return match.group("arg")
        if op.endswith("?"):
            return f"required-{match.group('name').lower()}"
        return ""

    return _INTERPOLATION.sub(replace, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """Each build stage's instructions after its FROM, by the stage's name (`AS name`); the last
    stage, the image itself, is "final"."""
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "FROM":
            parts = arguments.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else f"stage-{len(stages)}"
            stages.append((name, [(keyword, arguments)]))
        elif stages:
            stages[-1][1].append((keyword, arguments))
    named = dict(stages[:-1])
    named["final"] = stages[-1][1]
    return named


def copied_sources(instructions: list[tuple[str, str]]) -> set[str]:
    sources: set[str] = set()
    for keyword, arguments in instructions:
        if keyword == "COPY":
            sources.update(source.rstrip("/") for source in shlex.split(arguments)[:-1]
                           if not source.startswith("--"))
    return sources


def dockerfile_exec_form(instruction: str) -> list[str]:
    """The last ENTRYPOINT or CMD, which must use the exec form (a JSON array)."""
    found = [arguments for keyword, arguments in dockerfile_instructions() if keyword == instruction]
    if not found:
        return []
    argv = json.loads(found[-1])
    assert isinstance(argv, list), f"use the exec form for {instruction}"
    return [str(part) for part in argv]


def as_argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def effective_command(service: dict[str, Any]) -> list[str]:
    """What the container runs: the entrypoint (the service's, else our image's) and the command."""
    built = "build" in service
    if "entrypoint" in service:
        entrypoint = as_argv(service["entrypoint"])
    else:
        entrypoint = dockerfile_exec_form("ENTRYPOINT") if built else []
    if "command" in service:
        command = as_argv(service["command"])
    else:
        command = dockerfile_exec_form("CMD") if built and "entrypoint" not in service else []
    return entrypoint + command


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(name): interpolate(str(value)) for name, value in raw.items()}


def search_attribute_type_name(key: SearchAttributeKey[Any]) -> str:
    """KEYWORD → Keyword, KEYWORD_LIST → KeywordList: the spelling of the `temporal` CLI."""
    return "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))


def test_environment_help_lists_only_settings_fields() -> None:
    unknown = set(ENVIRONMENT_HELP) - settings_environment_names()
    assert not unknown, f"ENVIRONMENT_HELP documents variables Settings doesn't read: {sorted(unknown)}"


def test_settings_environment_names_are_derived() -> None:
    names = settings_environment_names()
    assert {"DATABASE_URL", "TEMPORAL_ADDRESS", "DURASTACK_SERVER_ADMIN_TOKEN"} <= names
    assert "DURASTACK_DATABASE_URL" not in names  # an alias replaces the prefixed name


def test_services_and_their_dependencies_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "temporal", "temporal-setup", "temporal-ui", *DURASTACK_SERVICES} <= set(services)
    for name, service in services.items():
        depends_on = service.get("depends_on") or []
        for dependency in depends_on:
            assert dependency in services, f"{name} depends on an unknown service {dependency}"
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in (compose.get("volumes") or {}), f"{name} uses an undeclared volume {source}"


@pytest.mark.parametrize("service_name", DURASTACK_SERVICES)
def test_durastack_services_run_real_cli_commands(services: dict[str, dict[str, Any]],
                                                  service_name: str) -> None:
    service = services[service_name]
    assert "build" in service, f"{service_name} should run the image built from the Dockerfile"
    argv = effective_command(service)
    assert argv[:1] == ["durastack"], f"{service_name} runs {argv}, not a durastack command"
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit as error:
        pytest.fail(f"{service_name}: `{shlex.join(argv)}` is not a valid durastack command ({error})")
    assert args.command == service_name
    assert args.roles == service_name


def test_every_durastack_command_in_the_stack_parses(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        argv = effective_command(service)
        if argv[:1] == ["durastack"]:
            try:
                build_parser().parse_args(argv[1:])
            except SystemExit as error:
                pytest.fail(f"{name}: `{shlex.join(argv)}` is not a valid durastack command ({error})")


@pytest.mark.parametrize("service_name", DURASTACK_SERVICES)
def test_durastack_services_set_only_settings_variables(services: dict[str, dict[str, Any]],
                                                        service_name: str) -> None:
    service = services[service_name]
    assert "env_file" not in service, "configure through `environment:` so that this test sees it"
    names = set(environment(service))
    unknown = names - settings_environment_names() - set(ALLOWED_EXTRA_ENVIRONMENT)
    assert not unknown, f"{service_name} sets variables server/settings.py doesn't read: {sorted(unknown)}"


@pytest.mark.parametrize("service_name", DURASTACK_SERVICES)
def test_durastack_service_environment_is_valid_settings(services: dict[str, dict[str, Any]],
                                                         service_name: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings_environment_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in environment(services[service_name]).items():
        monkeypatch.setenv(name, value)
    settings = Settings()

    assert not settings.embedded_temporal, "api and worker need TEMPORAL_ADDRESS"
    temporal_host = settings.resolved_temporal_address.rsplit(":", 1)[0]
    assert temporal_host in services and "temporalio/auto-setup" in services[temporal_host]["image"]

    assert settings.database_url is not None, "without DATABASE_URL each container would have its own SQLite"
    url = make_url(settings.database_url)
    assert url.drivername.startswith("postgresql")
    assert url.host in services and services[url.host]["image"].startswith("postgres:")
    assert url.database == "durastack", "durastack's database is separate from Temporal's"
    mounted = {volume.split(":")[1] for volume in services[service_name]["volumes"]}
    assert str(settings.server_dir) in mounted, "the state directory should be on a volume"


def test_api_is_given_the_admin_token_and_the_ui_address(services: dict[str, dict[str, Any]]) -> None:
    raw = services["api"]["environment"]
    assert ":?" in raw["DURASTACK_SERVER_ADMIN_TOKEN"], "the admin token must be required, not defaulted"
    ui_url = urlsplit(interpolate(raw["DURASTACK_TEMPORAL_UI_URL"]))
    published = {int(str(port).split(":")[0]) for port in services["temporal-ui"]["ports"]}
    assert ui_url.port in published, "DURASTACK_TEMPORAL_UI_URL should point at the published Temporal UI"


def test_worker_advertises_no_more_than_its_limits(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    env = environment(worker)
    limits = worker.get("deploy", {}).get("resources", {}).get("limits", {})
    if "cpus" in limits and "DURASTACK_HOST_CPUS" in env:
        assert float(env["DURASTACK_HOST_CPUS"]) <= float(limits["cpus"])
    if "memory" in limits and "DURASTACK_HOST_MEMORY" in env:
        assert parse_memory_mb(env["DURASTACK_HOST_MEMORY"]) <= parse_memory_mb(limits["memory"])


def api_listen_address(api: dict[str, Any]) -> tuple[str, int]:
    """The host and port the api service's command listens on, from its flags and environment."""
    args = build_parser().parse_args(effective_command(api)[1:])
    env = environment(api)
    port = args.port or int(env.get("DURASTACK_SERVER_PORT", Settings.model_fields["server_port"].default))
    host = args.host or env.get("DURASTACK_SERVER_HOST", Settings.model_fields["server_host"].default)
    return host, port


def test_api_publishes_the_port_it_listens_on(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    host, port = api_listen_address(api)
    assert not host.startswith("127.") and host != "localhost", \
        f"the api listens on {host}, which a published port can't reach"

    container_ports: set[int] = set()
    host_ports = 0
    for mapping in api["ports"]:
        published, _, target = str(mapping).rpartition(":")
        container_ports.add(int(target.split("/")[0]))
        first, _, last = published.rpartition(":")[2].partition("-")
        host_ports += int(last or first) - int(first) + 1
    assert container_ports == {port}
    replicas = api.get("deploy", {}).get("replicas", 1)
    assert host_ports >= replicas, "each api replica needs its own host port"


def test_api_healthcheck_asks_the_health_endpoint(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    kind, *argv = api["healthcheck"]["test"]
    assert kind == "CMD", "the exec form, so that the probe needs no shell"
    base_image = dockerfile_stages()["final"][0][1]
    assert argv[0] == "python" and base_image.startswith("python:"), \
        f"the probe runs {argv[0]}, which the image ({base_image}) may not have"
    url = re.search(r"https?://[^'\"\s]+", " ".join(argv))
    assert url, f"the api healthcheck requests no URL: {argv}"
    target = urlsplit(url.group(0))
    _, port = api_listen_address(api)
    assert (target.hostname, target.port, target.path) == ("127.0.0.1", port, "/api/health")


def test_setup_service_registers_every_search_attribute(services: dict[str, dict[str, Any]]) -> None:
    setup = services["temporal-setup"]
    assert setup["image"].startswith("temporalio/admin-tools")
    assert setup["depends_on"]["temporal"]["condition"] == "service_healthy"
    script = " ".join(effective_command(setup))
    registered: dict[str, str] = {}
    namespaces: set[str] = set()
    for create in re.findall(r"temporal operator search-attribute create[^\n;|&]*", script):
        argv = shlex.split(create)
        options = dict(itertools.pairwise(argv))
        registered[options["--name"]] = options["--type"]
        namespaces.add(options.get("--namespace", "default"))
    expected = {key.name: search_attribute_type_name(key) for key in search_attributes.ALL}
    assert registered == expected

    for service_name in DURASTACK_SERVICES:
        namespace = environment(services[service_name]).get(
            "TEMPORAL_NAMESPACE", Settings.model_fields["temporal_namespace"].default)
        assert namespaces == {namespace}, f"the search attributes must be in {service_name}'s namespace"
    for service_name in DURASTACK_SERVICES:
        condition = services[service_name]["depends_on"]["temporal-setup"]["condition"]
        assert condition == "service_completed_successfully", \
            f"{service_name} would start runs before their search attributes exist"


def test_temporal_gets_the_dynamic_config_the_embedded_server_uses(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in temporal["volumes"]}
    path = "/etc/temporal/" + environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"]
    config = yaml.safe_load((ROOT / mounts[path]).read_text())
    assert {key: values[0]["value"] for key, values in config.items()} == DYNAMIC_CONFIG


def test_postgres_creates_the_durastack_database(services: dict[str, dict[str, Any]]) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "healthcheck" in postgres
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in postgres["volumes"]}
    init_dir = ROOT / mounts["/docker-entrypoint-initdb.d"]
    scripts = "\n".join(path.read_text() for path in sorted(init_dir.iterdir())
                        if path.suffix in (".sh", ".sql"))
    assert re.search(r"CREATE DATABASE durastack\b", scripts)


def test_dockerfile_installs_the_project() -> None:
    instructions = dockerfile_stages()["final"]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert re.search(r"\bpip install \.(\s|$)", runs)
    assert dockerfile_exec_form("ENTRYPOINT") == ["durastack"]

    copied = copied_sources(instructions)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*").rstrip(".")
                for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    missing = ({"pyproject.toml"} | packages) - copied
    assert not missing, f"the Dockerfile doesn't copy {sorted(missing)}, which `pip install .` needs"


def build_ui_sources() -> list[str]:
    """The files and directories under ui/ that scripts/build-ui rebuilds the UI for."""
    match = re.search(r"^sources=\((?P<names>[^)]*)\)", (ROOT / "scripts" / "build-ui").read_text(), re.MULTILINE)
    assert match, "scripts/build-ui no longer lists its sources as sources=(...)"
    return match.group("names").split()


def test_dockerfile_builds_the_ui_and_the_image_serves_it() -> None:
    stages = dockerfile_stages()
    assert "ui" in stages, "the Dockerfile should build the web UI in a stage named ui"
    ui = stages["ui"]
    image = ui[0][1].split()[0]
    node_major = re.fullmatch(r"node:(\d+)(-[a-z]+)?", image)
    assert node_major, f"the ui stage should build FROM a node image, not {image}"
    engines = json.loads((ROOT / "ui" / "package.json").read_text())["engines"]["node"]
    assert int(node_major.group(1)) >= int(re.findall(r"\d+", engines)[0]), f"ui/package.json wants node {engines}"

    # Everything that makes a build is copied: the same list that scripts/build-ui watches.
    missing = {f"ui/{name}" for name in build_ui_sources()} - copied_sources(ui)
    assert not missing, f"the ui stage doesn't copy {sorted(missing)}"
    runs = [arguments for keyword, arguments in ui if keyword == "RUN"]
    assert any(run.startswith("npm ci") for run in runs), "install from package-lock.json (npm ci)"
    assert runs[-1] == "npm run build"
    workdir = [arguments for keyword, arguments in ui if keyword == "WORKDIR"][-1]

    # The final image holds the build where DURASTACK_UI_DIR says, as api/static_ui.py reads it.
    final = stages["final"]
    copies = [shlex.split(arguments) for keyword, arguments in final if keyword == "COPY"]
    from_ui = [argv for argv in copies if argv[0] == "--from=ui"]
    assert len(from_ui) == 1 and from_ui[0][1].rstrip("/") == f"{workdir.rstrip('/')}/dist", from_ui
    environment = dict(part.split("=", 1) for keyword, arguments in final if keyword == "ENV"
                       for part in shlex.split(arguments))
    assert environment.get(UI_DIR_VARIABLE) == from_ui[0][2].rstrip("/")
