"""School, region, level, period, issuer and date, read from the plan's own text.

Sources, strongest first: a manifest entry, the portal header fields, the title line, the
first sentence ("2024年，X将…"), then mentions in the text. Nothing here knows the samples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from indexer.cleaning import CleanText
from indexer.settings import DATA_DIR, load_yaml

_HAN = r"\u4e00-\u9fff"
_DASH = r"\-－—–~～至到"
# Period patterns, most specific first: (regex, term builder)
_PERIODS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"(\d{{4}})\s*[{_DASH}]\s*(\d{{4}})\s*学年度?\s*(?:第\s*([一二12])\s*学期|([上下])学期)?"),
    re.compile(r"(\d{4})\s*学年度?\s*(?:第\s*([一二12])\s*学期|([上下])学期)?"),
    re.compile(r"(\d{4})\s*年\s*(?:度\s*)?(春|秋|春季|秋季)\s*学期"),
    re.compile(r"(\d{4})\s*年\s*(?:度\s*)?([上下])\s*半年"),
    re.compile(r"(\d{4})\s*年\s*度?"),
)
_TITLE_WORDS = re.compile(r"(工作计划|工作要点|工作安排|工作思路|工作方案|学期计划|计划|要点)")
_PLAN_SUFFIX = re.compile(r"(?:的)?(?:工作计划|工作要点|工作安排|工作思路|工作方案|学期计划|计划|要点)\s*$")
_TITLE_SUFFIX = re.compile(r"(?:学校|的)?(?:工作计划|工作要点|工作安排|工作思路|工作方案|学期计划|计划|要点)\s*$")
_SCHOOL_SUFFIXES = (
    "小学教育集团", "中学教育集团", "教育集团", "九年一贯制学校", "十二年一贯制学校", "实验学校",
    "完全中学", "初级中学", "高级中学", "职业中学", "中心小学", "中心幼儿园", "幼儿园", "小学",
    "中学", "学校", "学院",
)
_BUREAU_SUFFIXES = (
    "教育和体育局", "教育体育局", "教体局", "教育局", "教育委员会", "教委", "教育科学研究院",
    "教研室", "教研中心", "教育中心", "教科", "小教科", "中教科", "基教科", "科", "处", "办公室",
)
_ORG_RE = re.compile(
    rf"([{_HAN}（）()]{{2,24}}?(?:{'|'.join(_SCHOOL_SUFFIXES + _BUREAU_SUFFIXES)}))"
)
_SUBJECT_RE = re.compile(
    rf"^[^{_HAN}]*?(?:\d{{4}}[^，,。]{{0,12}}?[年度学期]+)[，,\s]*([{_HAN}]{{2,24}}?)"
    r"(?:将|要|全面|坚持|以|在|继续|围绕|工作|深入|紧紧|立足|的工作)"
)
_DISTRICT_RE = re.compile(rf"(?<![{_HAN}])([{_HAN}]{{2,3}}?[区县旗])|([{_HAN}]{{2,3}}?[区县旗])(?=[{_HAN}]{{0,12}}(?:小学|中学|学校|幼儿园|教育|教委))")
_NOT_DISTRICTS = {
    "学区", "社区", "校区", "城区", "山区", "园区", "辖区", "景区", "市区", "郊区", "片区", "新区",
    "小区", "街区", "误区", "盲区", "禁区", "功能区", "示范区", "实验区", "先行区", "保护区",
    "开发区", "试验区", "教育区", "全区", "本区", "我区", "各区", "该区", "城乡区", "牧区", "县区",
    "全县", "本县", "我县", "各县", "郡县",
}
_DATE_RE = re.compile(r"(\d{4})\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})")
_LEVELS = (
    ("九年一贯制", "九年一贯制"), ("十二年一贯制", "十二年一贯制"), ("完全中学", "完全中学"),
    ("幼儿园", "幼儿园"), ("初级中学", "初中"), ("初中", "初中"), ("高级中学", "高中"),
    ("高中", "高中"), ("职业", "中职"), ("特殊教育", "特殊教育"), ("小学", "小学"),
)
BUREAU_LEVEL = "教育行政"


@dataclass
class PlanMetadata:
    """What users filter and group by; `warnings` says what could not be found."""

    title: str | None = None
    school: str | None = None
    kind: str = "school"  # "school" or "bureau"
    province: str | None = None
    city: str | None = None
    district: str | None = None
    level: str | None = None
    period: str | None = None
    year: int | None = None
    term: str | None = None
    issuer: str | None = None
    published: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def region(self) -> str:
        return "".join(p for p in (self.province, self.city, self.district) if p)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "region": self.region}


MANIFEST_FIELDS = frozenset(PlanMetadata.__dataclass_fields__) - {"warnings"}


def extract_metadata(clean: CleanText, *, overrides: dict[str, Any] | None = None) -> PlanMetadata:
    """Metadata of one cleaned plan; `overrides` (from a manifest) win field by field."""
    text, header = clean.text, clean.header
    lines = text.split("\n")
    meta = PlanMetadata()
    meta.title = header.get("标题") or _title_line(lines[0] if lines else "")
    head = text[:400]
    period_source = meta.title or ""
    _set_period(meta, period_source) or _set_period(meta, head)
    meta.school = _school(meta.title, head)
    meta.kind = "bureau" if _is_bureau(meta.school, meta.title) else "school"
    meta.level = BUREAU_LEVEL if meta.kind == "bureau" else _level(meta.school or "", text)
    _set_region(meta, text, header)
    meta.issuer = _first(header, "发布机构", "发文机关", "信息来源", "文章来源", "来源") or (
        meta.school if meta.kind == "bureau" else None)
    meta.published = _date(_first(header, "发文日期", "发布日期", "发布时间", "成文日期", "更新时间") or "")
    if meta.published is None:
        meta.published = _date(" ".join(lines[-2:])) if len(text) > 200 else None
    for name, value in (overrides or {}).items():
        if name in MANIFEST_FIELDS and value not in (None, ""):
            setattr(meta, name, int(value) if name == "year" else str(value))
    if meta.year is None and meta.period is None:
        meta.warnings.append("no year or period found")
    if not meta.school:
        meta.warnings.append("no school or organisation name found")
    return meta


def _first(header: dict[str, str], *names: str) -> str | None:
    """The first of these portal fields that says something (本站, 原创 and 网络 name no one)."""
    return next((header[n] for n in names if header.get(n) and header[n] not in {"本站", "原创", "网络"}), None)


def _title_line(line: str) -> str | None:
    line = line.strip()
    if 4 <= len(line) <= 60 and _TITLE_WORDS.search(line) and not re.search(r"[。；;]$", line):
        return line
    return None


def _set_period(meta: PlanMetadata, source: str) -> bool:
    for index, pattern in enumerate(_PERIODS):
        match = pattern.search(source)
        if not match:
            continue
        meta.period = re.sub(r"\s+", "", match.group(0)).rstrip("度") if index == 4 else re.sub(r"\s+", "", match.group(0))
        meta.year = int(match.group(1))
        meta.term = _term(index, match)
        return True
    return False


def _term(index: int, match: re.Match[str]) -> str:
    groups = [g for g in match.groups()[1:] if g]
    if index == 0:
        groups = [g for g in match.groups()[2:] if g]
    if index in (0, 1):
        if not groups:
            return "学年"
        return "第一学期" if groups[0] in ("一", "1", "上") else "第二学期"
    if index == 2:
        return "春季" if groups[0].startswith("春") else "秋季"
    if index == 3:
        return f"{groups[0]}半年"
    return "全年"


def _school(title: str | None, head: str) -> str | None:
    if title:
        base = _strip_period(title)
        name = _TITLE_SUFFIX.sub("", base).strip(" ，,:：")
        if not _ORG_RE.fullmatch(name):  # "…实验学校工作计划": 学校 is part of the name
            name = _PLAN_SUFFIX.sub("", base).strip(" ，,:：")
        if len(name) >= 2:
            return name
    subject = _SUBJECT_RE.search(head)
    if subject and _ORG_RE.fullmatch(subject.group(1)):
        return subject.group(1)
    org = _ORG_RE.search(head)
    return org.group(1) if org else None


def _strip_period(text: str) -> str:
    for pattern in _PERIODS:
        text = pattern.sub("", text, count=1) if pattern.search(text) else text
    return text


def _is_bureau(school: str | None, title: str | None) -> bool:
    name = school or title or ""
    if any(name.endswith(s) for s in _SCHOOL_SUFFIXES) or re.search(r"(小学|中学|学校|幼儿园)$", name):
        return False
    return any(name.endswith(s) for s in _BUREAU_SUFFIXES)


def _level(school: str, text: str) -> str | None:
    for marker, level in _LEVELS:
        if marker in school:
            return level
    if school.endswith("中学"):
        if re.search(r"高考|高三|高中", text):
            return "高中"
        return "初中" if re.search(r"中考|初三|初中", text) else "中学"
    counts = Counter(level for marker, level in _LEVELS if marker in text[:2000])
    return counts.most_common(1)[0][0] if counts else None


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    data = load_yaml(Path(DATA_DIR / "regions.yaml").read_text(encoding="utf-8"))
    return data["provinces"], data["cities"]


def _set_region(meta: PlanMetadata, text: str, header: dict[str, str]) -> None:
    provinces, cities = _gazetteer()
    named = " ".join(filter(None, (meta.school, meta.title, header.get("发布机构"), header.get("站点"))))
    city = _first_city(named, cities) or _most_mentioned_city(text, cities)
    if city:
        meta.city, meta.province = city["name"], city["province"]
    else:
        for province in provinces:
            if province["name"] in named or province["short"] in named:
                meta.province = province["name"]
                break
    if city:  # "淄博高新区" -> look for the district in "|高新区"
        for name in (city["name"], city["short"]):
            named, text = named.replace(name, "|"), text.replace(name, "|")
    meta.district = _district(named) or _district(text, min_mentions=2)
    if meta.province and meta.city == meta.province:
        meta.province = None  # 北京市北京市 -> 北京市


def _first_city(source: str, cities: list[dict[str, str]]) -> dict[str, str] | None:
    best: tuple[int, dict[str, str]] | None = None
    for city in cities:
        for name in (city["name"], city["short"]):
            pos = source.find(name)
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, city)
    return best[1] if best else None


def _most_mentioned_city(text: str, cities: list[dict[str, str]]) -> dict[str, str] | None:
    counts = {c["name"]: text.count(c["name"]) for c in cities if c["name"] in text}
    if not counts:
        return None
    name = max(counts, key=lambda n: counts[n])
    return next(c for c in cities if c["name"] == name)


def _district(source: str, *, min_mentions: int = 1) -> str | None:
    counts: Counter[str] = Counter()
    for match in _DISTRICT_RE.finditer(source):
        name = match.group(1) or match.group(2)
        if name not in _NOT_DISTRICTS and not name.endswith(("学区", "校区", "社区", "园区")):
            counts[name] += 1
    if not counts:
        return None
    name, count = counts.most_common(1)[0]
    return name if count >= min_mentions else None


def _date(source: str) -> str | None:
    match = _DATE_RE.search(source)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not (1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"
