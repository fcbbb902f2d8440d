"""Settings: one object read from PLACEMENT_PCI_* environment variables or
an ini file, with defaults that start a working service on SQLite."""
from __future__ import annotations

import configparser
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_PREFIX = "PLACEMENT_PCI_"
INI_SECTION = "placement_pci"


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("placement-pci"))
    return f"sqlite:///{data_dir / 'placement.sqlite'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = dataclasses.field(default_factory=default_database_url)
    bind: str = "127.0.0.1:8778"
    workers: int = 2
    # gunicorn worker class.  "gevent" (the default) serves each connection
    # in a greenlet, so clients that send half a request and stall cost a
    # greenlet, not a thread; "gthread" serves ``threads`` connections per
    # worker and needs a buffering front proxy against slow clients.
    worker_class: str = "gevent"
    # Threads per gunicorn worker (gthread only).
    threads: int = 4
    # Connections one gevent worker serves at once; more wait in the backlog.
    worker_connections: int = 1000
    # Seconds a client may take to send its request line and headers, and
    # the longest silence while it sends a body; then the connection closes.
    client_header_timeout: int = 10
    client_body_timeout: int = 30
    # "keystone" validates tokens with keystonemiddleware's auth_token
    # (options in the config file's [keystone_authtoken] section);
    # "noauth2" is Placement's development auth, trusting headers;
    # "none" lets every request through as admin (embedded single-user use).
    auth_strategy: str = "noauth2"
    # Larger bodies are refused with 413 while they arrive, chunked or not.
    max_body_bytes: int = 1024 * 1024
    # Candidate engine knobs, as upstream's [placement] options.
    randomize_allocation_candidates: bool = False
    max_allocation_candidates: int = -1
    # breadth-first spreads a limited answer over hosts (upstream: depth-first).
    allocation_candidates_generation_strategy: str = "breadth-first"
    database_pool_size: int = 5
    database_retries: int = 10
    log_level: str = "INFO"
    # Policy as Placement's [oslo_policy]: a YAML/JSON file of rule name ->
    # check string overriding the defaults (empty: defaults only).
    policy_file: str = ""
    # False keeps the deprecated "role:admin" alternative of the defaults.
    enforce_new_defaults: bool = False
    # True refuses system-scoped tokens on project-scoped rules.
    enforce_scope: bool = True
    # CORS as oslo.middleware's [cors]; off while no origin is allowed.
    # Lists are comma-separated in the ini file and environment.
    cors_allowed_origin: tuple[str, ...] = ()
    cors_allow_credentials: bool = True
    cors_expose_headers: tuple[str, ...] = (
        "X-Auth-Token", "X-Openstack-Request-Id", "X-Subject-Token",
        "X-Service-Token", "OpenStack-API-Version")
    cors_max_age: int = 3600
    cors_allow_methods: tuple[str, ...] = ("GET", "PUT", "POST", "DELETE", "PATCH")
    cors_allow_headers: tuple[str, ...] = (
        "X-Auth-Token", "X-Openstack-Request-Id", "X-Identity-Status", "X-Roles",
        "X-Service-Catalog", "X-User-Id", "X-Tenant-Id", "OpenStack-API-Version")

    # The ini file the settings were read from ("" when none): the
    # keystone strategy reads its [keystone_authtoken] section.
    config_file: str = ""

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"setting {name!r} must be one of "
                                 f"{', '.join(allowed)}; got {value!r}")
        for name in POSITIVE:
            if getattr(self, name) < 1:
                raise ValueError(f"setting {name!r} must be at least 1; "
                                 f"got {getattr(self, name)!r}")

    @classmethod
    def load(cls, config_file: str | os.PathLike | None = None,
             environ: dict[str, str] | None = None,
             **overrides: object) -> Settings:
        """Defaults, then the ini file, then the environment, then overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
        if config_file:
            parser = configparser.ConfigParser()
            if not parser.read(config_file):
                raise ValueError(f"cannot read config file {config_file}")
            if parser.has_section(INI_SECTION):
                values.update(parser.items(INI_SECTION))
            values["config_file"] = str(config_file)
        for field in dataclasses.fields(cls):
            env_name = ENV_PREFIX + field.name.upper()
            if env_name in environ:
                values[field.name] = environ[env_name]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{name: _coerce(cls, name, value)
                      for name, value in values.items()})


# Settings that take one of a few values: anything else refuses to start
# (an unknown auth_strategy must never fall back to trusting headers).
CHOICES: dict[str, tuple[str, ...]] = {
    "auth_strategy": ("keystone", "noauth2", "none"),
    "worker_class": ("gevent", "gthread"),
    "allocation_candidates_generation_strategy": ("depth-first", "breadth-first"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
}
POSITIVE = ("workers", "threads", "worker_connections", "client_header_timeout",
            "client_body_timeout", "max_body_bytes", "database_pool_size")


def _coerce(cls: type, name: str, value: object) -> object:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise ValueError(f"unknown setting {name!r}")
    default = fields[name].default
    if isinstance(value, str) and name == "log_level":
        return value.strip().upper()
    if isinstance(value, str):
        if isinstance(default, tuple):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        if isinstance(default, bool):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"setting {name!r} must be a boolean, got {value!r}")
        if isinstance(default, int):
            try:
                return int(value)
            except ValueError:
                raise ValueError(
                    f"setting {name!r} must be an integer, got {value!r}") from None
    return value
