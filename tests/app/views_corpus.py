"""The corpus the view tests share: the samples plus plans written for them, built once per session
through the real pipeline (jieba, the catalog, Whoosh, the serving state)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.settings import Settings
from tests.conftest import SAMPLES, build_home

EDITED_SOURCE = "001_ab0fcf4b44b1dda8.txt"  # 临淄区金茵小学2024年工作计划
REMOVED_SECTION = "3.筑牢意识形态"
CHANGED_FROM, CHANGED_TO = "每周至少巡课一次", "每周至少巡课两次"
ADDED_SENTENCE = "每学期评选一次读书之星。"
ADDED_AFTER = "引导全体党员争做“六个先锋”,以品牌党员的先锋模范作用引领校风、教风和学风,提升学校和悦教育品牌。"

# overlapping occurrences (好好 in 好好好), a needle at a passage's very start and end, another year
OVERLAP = """测试甲小学2023年工作计划
一、习惯养成
1.好好好学习，天天向上。
2.读书习惯：每天阅读半小时，阅读
"""
BUREAU = """淄博市张店区教育和体育局2024年工作要点
一、重点任务
1.全面推进课后服务提质增效，每周开展不少于五天的课后服务。
2.深入实施中小学生心理健康促进行动，每学期开展一次心理健康普查。
3.建设书香校园，开展全民阅读推广月活动。
"""
ECHO_SCHOOL = """淄博市张店区第一小学2024年工作计划
一、学生发展
1.全面推进课后服务提质增效，每周开展不少于五天的课后服务。学校设立托管班。
2.开展书香校园读书节。
"""
QUIET_SCHOOL = """淄博市张店区第二小学2025年工作计划
一、教学管理
1.加强集体备课，每月组织一次教学开放日。
"""
OLD_SCHOOL = """淄博市张店区第三小学2022年工作计划
一、课后服务
1.全面推进课后服务提质增效，每周开展不少于五天的课后服务。
"""


def edited_copy(text: str) -> str:
    """The sample plan with one section removed, one number changed and one sentence added."""
    start = text.index(REMOVED_SECTION)
    end = text.index("二、聚焦培根铸魂")
    assert text.count(CHANGED_FROM) == 1 and text.count(ADDED_AFTER) == 1
    text = text[:start] + text[end:]
    text = text.replace(CHANGED_FROM, CHANGED_TO)
    return text.replace(ADDED_AFTER, ADDED_AFTER + ADDED_SENTENCE)


_built: dict[str, Settings] = {}


def views_home(factory: pytest.TempPathFactory) -> Settings:
    if "home" not in _built:
        corpus = factory.mktemp("views-corpus")
        for source in SAMPLES.iterdir():
            shutil.copy(source, corpus / source.name)
        original = (SAMPLES / EDITED_SOURCE).read_text(encoding="utf-8")
        (corpus / "101_edited.txt").write_text(edited_copy(original), encoding="utf-8")
        for name, text in (("102_overlap.txt", OVERLAP), ("103_bureau.txt", BUREAU),
                           ("104_echo.txt", ECHO_SCHOOL), ("105_quiet.txt", QUIET_SCHOOL), ("106_old.txt", OLD_SCHOOL)):
            (corpus / name).write_text(text, encoding="utf-8")
        _built["home"] = build_home(factory.mktemp("views-home"), corpus)
    return _built["home"]


def source_name(path: str) -> str:
    return Path(path).name
