"""The README stays true: every setting, env var, config key and command it needs is there."""

import re
import tomllib
from pathlib import Path

import pytest

from crawler import settings
from crawler.daemon_config import SOURCE_KEYS, TOP_KEYS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTINGS_TABLE = README.split("## Settings", 1)[1].split("\n## ", 1)[0]


def code_files():
    """The project's own Python files (not tests, not the venv)."""
    for folder in ("crawler", "store"):
        yield from (ROOT / folder).rglob("*.py")
    yield ROOT / "scheduler.py"


@pytest.mark.parametrize("name", sorted(n for n in dir(settings) if n.startswith("ZGCWATCH_")))
def test_every_zgcwatch_setting_is_in_the_settings_table(name):
    assert f"`{name}" in SETTINGS_TABLE


def test_every_environment_variable_is_in_the_settings_table():
    read = set()
    for file in code_files():
        read |= set(re.findall(r"environ(?:\.get\(|\[)\"(ZGCWATCH_\w+)\"", file.read_text()))
    assert read >= {"ZGCWATCH_DB", "ZGCWATCH_CONFIG"}
    for name in read:
        assert f"`{name}`" in SETTINGS_TABLE, name


@pytest.mark.parametrize("key", [k for k in TOP_KEYS if k != "sources"] + list(SOURCE_KEYS))
def test_every_config_key_is_documented(key):
    assert f"`{key}`" in SETTINGS_TABLE or f"`sources.<name>.{key}`" in SETTINGS_TABLE


def test_make_targets_and_scripts_named_in_the_readme_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make (\w+)", README)):
        assert re.search(rf"^{target}:", makefile, re.M), target
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for script in set(re.findall(r"`(zgcwatch-\w+)", README)):
        assert script in scripts, script


def test_settings_defaults_in_the_table_match_the_code():
    rows = {m[0]: m[1] for m in re.findall(r"^\| `(ZGCWATCH_\w+)` \|[^|]*\|[^|]*\| `([^`]*)`",
                                           SETTINGS_TABLE, re.M)}
    for name, documented in rows.items():
        value = getattr(settings, name)
        shown = ",".join(value) if isinstance(value, list) else str(value)
        assert documented == shown, (name, documented, shown)
