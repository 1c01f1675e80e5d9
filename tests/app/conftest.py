"""A corpus for the search-flow tests: the samples plus a plan whose sentences carry the
punctuation a half-remembered query leaves out (校内“双减”工作, 培训展示活动，树立典型)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.settings import Settings
from tests.conftest import SAMPLES, build_home

FLOW_PLAN = """临淄区示例实验小学2025年工作计划
一、落实“双减”政策
1.深化校内“双减”工作，提升课堂教学质量。
2.组织骨干教师培训展示活动，树立典型，以点带面推进课堂改革。
二、劳动教育
3.开展劳动教育实践活动，每周一次，家务劳动清单进家庭。
4.评选劳动小能手 , 展示劳动成果。
“双减”背景下，校内作业总量继续减少。
"""
FLOW_FILE = "zz_flow.txt"


def flow_corpus(target: Path, plan: str = FLOW_PLAN) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for source in SAMPLES.iterdir():
        shutil.copy(source, target / source.name)
    (target / FLOW_FILE).write_text(plan, encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def flow_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_home(tmp_path_factory.mktemp("flow-home"), flow_corpus(tmp_path_factory.mktemp("flow-corpus")))


@pytest.fixture(scope="session")
def flow_client(flow_home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(flow_home)) as test_client:
        yield test_client
