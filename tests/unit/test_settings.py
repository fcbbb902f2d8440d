"""Settings come from defaults, an ini file, then PLACEMENT_PCI_* variables."""
import pytest

from placement_pci.db.engine import normalize_url
from placement_pci.settings import Settings


def test_defaults_use_sqlite_in_user_data_dir():
    settings = Settings.load(environ={})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("placement.sqlite")
    assert settings.bind == "127.0.0.1:8778"


def test_environment_overrides_ini_file(tmp_path):
    ini = tmp_path / "placement.ini"
    ini.write_text("[placement_pci]\ndatabase_url = sqlite:///from-ini\nworkers = 3\n")
    settings = Settings.load(ini, environ={"PLACEMENT_PCI_WORKERS": "5"})
    assert settings.database_url == "sqlite:///from-ini"
    assert settings.workers == 5


@pytest.mark.parametrize("variable,value", [
    ("PLACEMENT_PCI_WORKERS", "many"),
    ("PLACEMENT_PCI_RANDOMIZE_ALLOCATION_CANDIDATES", "perhaps"),
])
def test_malformed_values_are_rejected(variable, value):
    with pytest.raises(ValueError, match=variable.removeprefix("PLACEMENT_PCI_").lower()):
        Settings.load(environ={variable: value})


def test_unknown_ini_setting_is_rejected(tmp_path):
    ini = tmp_path / "placement.ini"
    ini.write_text("[placement_pci]\ndatabse_url = typo\n")
    with pytest.raises(ValueError, match="databse_url"):
        Settings.load(ini, environ={})


@pytest.mark.parametrize("given,driver", [
    ("postgresql://u@h/db", "postgresql+psycopg"),
    ("postgresql+psycopg2://u@/db?host=/run/pg", "postgresql+psycopg"),
    ("mysql://root@h/db", "mysql+pymysql"),
    ("sqlite:///x.db", "sqlite"),
])
def test_database_urls_map_to_shipped_drivers(given, driver):
    assert normalize_url(given).drivername == driver
