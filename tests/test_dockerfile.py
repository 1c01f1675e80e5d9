"""The Dockerfile cannot be built on these machines, so its structure is checked instead."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINES = [
    line.strip()
    for line in re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8")).splitlines()
    if line.strip() and not line.strip().startswith("#")
]


def _instructions(name: str) -> list[str]:
    return [line[len(name) :].strip() for line in LINES if line.upper().startswith(name + " ")]


def test_base_image_is_a_pinned_slim_python() -> None:
    (base,) = _instructions("FROM")
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base


def test_runs_as_a_non_root_user_before_serving() -> None:
    users = _instructions("USER")
    assert users and users[-1] not in ("root", "0")
    assert LINES.index(f"USER {users[-1]}") < next(i for i, line in enumerate(LINES) if line.startswith("CMD"))


def test_healthcheck_asks_healthz() -> None:
    (check,) = _instructions("HEALTHCHECK")
    assert "/healthz" in check


def test_plans_home_is_a_volume_and_the_sample_index_is_built_in_the_image() -> None:
    assert any("PLANS_HOME=/var/lib/plans" in env for env in _instructions("ENV"))
    assert _instructions("VOLUME") == ['["/var/lib/plans"]']
    runs = _instructions("RUN")
    assert any("pip install" in run and "." in run.split("pip install", 1)[1] for run in runs)
    assert any(run.startswith("plans index") for run in runs)


def test_no_secrets_in_the_image() -> None:
    text = " ".join(LINES)
    assert not re.search(r"(TOKEN|PASSWORD|SECRET|API_KEY)\s*=", text, flags=re.IGNORECASE)
    assert not any(a.startswith("ARG") for a in LINES if re.search(r"TOKEN|PASSWORD|SECRET", a, re.IGNORECASE))


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "var"} <= set(ignored)
