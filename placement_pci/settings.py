"""Settings: one object read from PLACEMENT_PCI_* environment variables or
an ini file, with defaults that start a working service on SQLite.

Each setting is declared once, with ``setting(default, doc=...)``; the
sample configuration and the README's table are generated from these
declarations (``placement_pci.config_docs``)."""
from __future__ import annotations

import configparser
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

ENV_PREFIX = "PLACEMENT_PCI_"
INI_SECTION = "placement_pci"


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("placement-pci"))
    return f"sqlite:///{data_dir / 'placement.sqlite'}"


def setting(default: Any = dataclasses.MISSING, *, doc: str,
            default_factory: Any = dataclasses.MISSING,
            shown_default: str | None = None) -> Any:
    """One setting of ``Settings``: its default and the sentence that the
    sample configuration and the README table show for it.
    ``shown_default`` replaces a default that depends on the machine."""
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"doc": doc, "shown_default": shown_default})


@dataclass(frozen=True)
class Settings:
    database_url: str = setting(
        default_factory=default_database_url,
        shown_default="SQLite file in the user data dir",
        doc="SQLAlchemy URL: `postgresql://user@host/db`, "
            "`mysql+pymysql://user@host/db`, `sqlite:///path`")
    bind: str = setting("127.0.0.1:8778", doc="HOST:PORT `serve` listens on")
    workers: int = setting(2, doc="gunicorn worker processes")
    # gevent serves each connection in a greenlet, so a client that sends
    # half a request and stalls costs a greenlet, not a thread.
    worker_class: str = setting(
        "gevent", doc="`gevent` (slow clients cost a greenlet and are cut off "
                      "by the client timeouts) or `gthread` (needs a buffering "
                      "front proxy against slow clients)")
    threads: int = setting(4, doc="threads per gunicorn worker (`gthread` only)")
    worker_connections: int = setting(
        1000, doc="connections one gevent worker serves at once; more wait in "
                  "the backlog")
    client_header_timeout: int = setting(
        10, doc="seconds a client may take to send its request line and headers")
    client_body_timeout: int = setting(
        30, doc="longest silence in seconds while a client sends a body (408, "
                "then the connection closes)")
    auth_strategy: str = setting(
        "noauth2", doc="`keystone` (tokens validated by keystonemiddleware, "
                       "options in the ini file's `[keystone_authtoken]`), "
                       "`noauth2` (Placement's development auth: the token is "
                       "`user[:project]`) or `none` (every request is admin; "
                       "embedded single-user use only)")
    max_body_bytes: int = setting(
        1024 * 1024, doc="larger request bodies get 413 while they arrive, "
                         "chunked or not")
    public_url: str = setting(
        "", doc="URL clients reach the service at (behind a proxy), used in "
                "`Location` headers (empty: the request's scheme and well-formed Host)")
    randomize_allocation_candidates: bool = setting(
        False, doc="shuffle allocation candidates (Placement's option)")
    max_allocation_candidates: int = setting(
        -1, doc="global cap on generated allocation candidates (-1: none)")
    allocation_candidates_generation_strategy: str = setting(
        "breadth-first", doc="`breadth-first` spreads a limited answer over "
                             "hosts; `depth-first` is upstream's default")
    database_pool_size: int = setting(
        5, doc="connections each worker keeps (PostgreSQL/MariaDB)")
    database_retries: int = setting(
        10, doc="retries of a transaction after a deadlock or a lost race")
    log_level: str = setting("INFO", doc="DEBUG, INFO, WARNING or ERROR")
    log_format: str = setting(
        "text", doc="`text`, or `json` for one JSON object per log line")
    metrics_bind: str = setting(
        "", doc="HOST:PORT where `serve` also publishes Prometheus metrics "
                "without a token (empty: only `GET /metrics` on the API, "
                "behind the `placement_pci:metrics` policy)")
    control_socket: str = setting(
        "", shown_default="per instance, from `bind`",
        doc="gunicorn control socket path (empty: one per bind address in "
            "the user runtime dir; `off` disables it)")
    policy_file: str = setting(
        "", doc="YAML/JSON file of policy rule overrides, as Placement's "
                "`policy.yaml`")
    enforce_new_defaults: bool = setting(
        False, doc="drop the deprecated `role:admin` alternatives of the "
                   "policy defaults")
    enforce_scope: bool = setting(
        True, doc="project-scoped rules refuse system-scoped tokens")
    # CORS as oslo.middleware's [cors].
    cors_allowed_origin: tuple[str, ...] = setting(
        (), doc="origins allowed by CORS (`*` for any; empty: CORS off)")
    cors_allow_credentials: bool = setting(True, doc="CORS: allow credentials")
    cors_expose_headers: tuple[str, ...] = setting(
        ("X-Auth-Token", "X-Openstack-Request-Id", "X-Subject-Token",
         "X-Service-Token", "OpenStack-API-Version"),
        doc="CORS: headers exposed to the browser")
    cors_max_age: int = setting(3600, doc="CORS: preflight cache age in seconds")
    cors_allow_methods: tuple[str, ...] = setting(
        ("GET", "PUT", "POST", "DELETE", "PATCH"), doc="CORS: allowed methods")
    cors_allow_headers: tuple[str, ...] = setting(
        ("X-Auth-Token", "X-Openstack-Request-Id", "X-Identity-Status", "X-Roles",
         "X-Service-Catalog", "X-User-Id", "X-Tenant-Id", "OpenStack-API-Version"),
        doc="CORS: allowed request headers")
    ledger_retention_days: int = setting(
        0, doc="`placement-pci ledger prune` drops allocation ledger entries older "
               "than this many days (0: no age limit)")
    ledger_retention_entries: int = setting(
        0, doc="`placement-pci ledger prune` keeps only this many newest ledger "
               "entries (0: no count limit)")

    # The ini file the settings were read from ("" when none): the
    # keystone strategy reads its [keystone_authtoken] section.  Not a
    # setting of its own, so the sample and the README do not list it.
    config_file: str = dataclasses.field(default="", compare=False,
                                         metadata={"internal": True})

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
    def load(cls, config_file: str | os.PathLike[str] | None = None,
             environ: Mapping[str, str] | None = None,
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
        for field in setting_fields():
            env_name = ENV_PREFIX + field.name.upper()
            if env_name in environ:
                values[field.name] = environ[env_name]
        values.update({k: v for k, v in overrides.items() if v is not None})
        # Each value has its own field's type; __post_init__ checks them.
        coerced: dict[str, Any] = {name: _coerce(cls, name, value)
                                   for name, value in values.items()}
        return cls(**coerced)


# Settings that take one of a few values: anything else refuses to start
# (an unknown auth_strategy must never fall back to trusting headers).
CHOICES: dict[str, tuple[str, ...]] = {
    "auth_strategy": ("keystone", "noauth2", "none"),
    "worker_class": ("gevent", "gthread"),
    "allocation_candidates_generation_strategy": ("depth-first", "breadth-first"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    "log_format": ("text", "json"),
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


def setting_fields() -> list[dataclasses.Field]:
    """The operator-facing settings, in declaration order (not the
    internal ``config_file``, which records where they were read from)."""
    return [field for field in dataclasses.fields(Settings)
            if not field.metadata.get("internal")]
