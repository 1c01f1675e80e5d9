"""docker-compose.yml cannot be run on these machines, so its structure is checked instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from indexer.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
APIS = ("api-1", "api-2")


def test_primary_replica_indexer_and_two_api_servers() -> None:
    assert set(SERVICES) == {"primary", "replica", "indexer", *APIS}


def test_databases_are_pinned_postgres_images_with_health_checks() -> None:
    for name in ("primary", "replica"):
        assert re.fullmatch(r"postgres:\d+\.\d+-[a-z]+", SERVICES[name]["image"])
        assert "pg_isready" in SERVICES[name]["healthcheck"]["test"]
    assert SERVICES["primary"]["image"] == SERVICES["replica"]["image"]  # a standby needs the same major version


def test_the_replica_streams_from_a_base_backup_of_the_primary() -> None:
    script = " ".join(SERVICES["replica"]["entrypoint"])
    assert re.search(r"pg_basebackup -h primary .*-R", script)
    assert "hot_standby=on" in script
    assert SERVICES["replica"]["depends_on"]["primary"]["condition"] == "service_healthy"
    init = SERVICES["primary"]["volumes"][1].split(":")
    assert (ROOT / init[0]).is_file() and "replication" in (ROOT / init[0]).read_text(encoding="utf-8")


def test_the_indexer_writes_to_the_primary_and_the_apis_read_the_replica() -> None:
    indexer = SERVICES["indexer"]
    assert indexer["command"][:2] == ["plans", "index"]
    assert "@primary:" in indexer["environment"]["DATABASE_URL"]
    for name in APIS:
        env = SERVICES[name]["environment"]
        assert env["PLANS_SEARCH_BACKEND"] == "postgres"
        assert "@primary:" in env["DATABASE_URL"]  # uploads and deletes
        assert "@replica:" in env["PLANS_READ_DATABASE_URL"]
        assert SERVICES[name]["command"][:2] == ["plans", "serve"]
        assert SERVICES[name]["depends_on"]["indexer"]["condition"] == "service_completed_successfully"
    assert len({SERVICES[name]["ports"][0].split(":")[0] for name in APIS}) == len(APIS)


@pytest.mark.parametrize("name", ["indexer", *APIS])
def test_every_variable_given_to_the_program_is_a_setting(name: str) -> None:
    declared = {field.upper() for field in Settings.model_fields}
    assert set(SERVICES[name]["environment"]) <= declared


def test_no_secrets_in_the_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for value in re.findall(r"^\s*\w*(?:PASSWORD|TOKEN)\w*:\s*(\S+)", text, flags=re.MULTILINE):
        assert value.startswith("${"), value  # taken from the environment of `docker compose up`
    urls = re.findall(r"postgresql\+psycopg://[^\n]*", text)
    assert urls and all(re.match(r"postgresql\+psycopg://postgres:\$\{PLANS_DB_PASSWORD[^}]*\}@", u) for u in urls)
