"""The README stays true: every setting is listed, and the set-up commands are the real ones."""

from __future__ import annotations

import re
from pathlib import Path

from indexer.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table_and_nothing_else() -> None:
    declared = {name.upper() for name in Settings.model_fields}
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert listed == declared


def test_ci_runs_the_readme_test_command() -> None:
    assert "    bash scripts/test\n" in README
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_serve_command_uses_the_console_script() -> None:
    assert ".venv/bin/plans serve" in README
    assert 'plans = "app.cli:main"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_app_never_imported_by_indexer() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "indexer").rglob("*.py")
        if re.search(r"^\s*(from app\b|import app\b)", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    ]
    assert offenders == []
