"""The sample configuration and the README's settings table come from the
settings' declarations and stay equal to what is committed."""
import re
from pathlib import Path

from click.testing import CliRunner

from placement_pci import config_docs
from placement_pci.cli import main
from placement_pci.settings import Settings, setting_fields

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate with `placement-pci config sample --markdown`"


def test_every_setting_is_documented():
    for field in setting_fields():
        assert field.metadata.get("doc"), (
            f"setting {field.name} needs setting(..., doc=...) in settings.py")


def test_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    start = readme.index(config_docs.README_TABLE_START) + len(config_docs.README_TABLE_START)
    end = readme.index(config_docs.README_TABLE_END)
    assert readme[start:end].strip() == config_docs.markdown_table().strip(), (
        f"README settings table is stale: {REGENERATE} and paste it between the markers")


def test_committed_sample_is_current():
    committed = (ROOT / "etc" / "placement-pci" / "placement-pci.conf.sample").read_text()
    assert committed == config_docs.sample_ini(), (
        "etc/placement-pci/placement-pci.conf.sample is stale: run `placement-pci config "
        "sample --output etc/placement-pci/placement-pci.conf.sample`")


def test_sample_names_every_setting_and_its_variable():
    text = config_docs.sample_ini()
    for field in setting_fields():
        assert re.search(rf"^#{field.name} =", text, re.MULTILINE), field.name
        assert f"PLACEMENT_PCI_{field.name.upper()}" in text


def test_uncommented_sample_loads_as_the_defaults(tmp_path):
    """Every literal default in the sample reads back as that default."""
    uncommented = re.sub(r"^#(\w+ =.*)$", r"\1", config_docs.sample_ini(),
                         flags=re.MULTILINE)
    # Machine-dependent defaults are shown empty: leave them out.
    lines = [line for line in uncommented.splitlines() if not line.endswith(" =")]
    ini = tmp_path / "sample.ini"
    ini.write_text("\n".join(lines) + "\n")
    assert Settings.load(ini, environ={}) == Settings.load(environ={})


def test_config_sample_command_prints_both_forms():
    runner = CliRunner()
    ini = runner.invoke(main, ["config", "sample"])
    assert ini.exit_code == 0 and ini.output == config_docs.sample_ini()
    table = runner.invoke(main, ["config", "sample", "--markdown"])
    assert table.exit_code == 0
    assert table.output.startswith("| setting | default | meaning |")
