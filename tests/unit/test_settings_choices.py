"""Settings with a fixed set of values, or that must be positive, refuse
anything else instead of falling back to a default."""
import pytest

from placement_pci.settings import Settings


@pytest.mark.parametrize("name,value", [
    ("auth_strategy", "keystone_v3"), ("auth_strategy", ""), ("auth_strategy", "NOAUTH2"),
    ("worker_class", "eventlet"), ("allocation_candidates_generation_strategy", "best"),
    ("log_level", "verbose"),
])
def test_values_outside_the_choices_are_refused(name, value):
    with pytest.raises(ValueError, match=f"setting '{name}' must be one of"):
        Settings.load(environ={f"PLACEMENT_PCI_{name.upper()}": value})


@pytest.mark.parametrize("name", ["workers", "threads", "worker_connections",
                                  "client_header_timeout", "client_body_timeout",
                                  "max_body_bytes", "database_pool_size"])
def test_counts_and_timeouts_must_be_positive(name):
    with pytest.raises(ValueError, match=f"setting '{name}' must be at least 1"):
        Settings.load(environ={f"PLACEMENT_PCI_{name.upper()}": "0"})


def test_every_choice_is_accepted_and_log_level_ignores_case():
    for strategy in ("keystone", "noauth2", "none"):
        assert Settings.load(environ={"PLACEMENT_PCI_AUTH_STRATEGY": strategy}) \
            .auth_strategy == strategy
    assert Settings.load(environ={"PLACEMENT_PCI_LOG_LEVEL": "warning"}).log_level == "WARNING"


def test_the_config_file_is_remembered(tmp_path):
    ini = tmp_path / "placement.ini"
    ini.write_text("[placement_pci]\nworkers = 3\n")
    assert Settings.load(ini, environ={}).config_file == str(ini)
    assert Settings.load(environ={}).config_file == ""
