"""School, unit, region, level, period, issuer and date, read from the plan's own text.

Every field records where it came from and how sure that is (`sources`):
    {"school": {"source": "title", "confidence": 0.9}, "year": {...}, ...}
Sources: `title` (the plan's title line or the portal's 标题), `notice` (a wrapper notice and
the plan title it quotes in 《》), `signature` (the sign-off lines: name and date), `portal`
(the page's 发布机构 / 发布时间), `text` (the first sentence, mentions), `alias` (the aliases
file named the school), `manifest`, `edited` (a correction: PATCH /api/documents/{id} or
`plans edit`). Institution names come from indexer/institutions.py, periods and dates from
indexer/periods.py. Nothing here knows the samples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from indexer.cleaning import CleanText
from indexer.institutions import BUREAU, SCHOOL, Institution, data_fingerprint, grammar
from indexer.periods import Period, find_date, find_period, term_only, without_dates
from indexer.settings import DATA_DIR, load_yaml

_HAN = r"\u4e00-\u9fff"
BUREAU_LEVEL = "教育行政"
LOW_CONFIDENCE = 0.5  # below this a school, level or year is a warning
_WEIGHTS = {"quoted": 0.95, "title": 0.9, "notice": 0.85, "signature": 0.8, "subject": 0.6, "portal": 0.6, "text": 0.4}
_PLAN_WORDS = r"规划|要点|思路|方案|安排|行事历|计划"
_TITLE_WORDS = re.compile(rf"{_PLAN_WORDS}|通知")
_NOTICE = re.compile(r"关于|通知|转发|印发")
_QUOTED = re.compile(rf"《([^《》\n]{{4,60}}?(?:{_PLAN_WORDS})[^《》\n]{{0,12}})》")
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
_COUNTY = re.compile(rf"[{_HAN}]{{2,3}}?[市县旗](?=[{_HAN}])")
_SENIOR = re.compile(r"高考|高[一二三]")
_JUNIOR = re.compile(r"中考|初[一二三]|[七八九]年级")
_TEXT_LEVELS = (
    ("幼儿园", re.compile(r"幼儿园|保教|幼儿")), ("小学", re.compile(r"小学|[一二三四五六]年级")),
    ("初中", re.compile(r"初中|中考|初[一二三]|[七八九]年级")), ("高中", re.compile(r"高中|高考|高[一二三]")),
    ("中职", re.compile(r"中职|职业学校|职高|职业教育|实训")), ("特殊教育", re.compile(r"特殊教育|特教|培智")),
)
_PORTAL_ISSUERS = ("发布机构", "发文机关", "文章来源", "信息来源", "来源")
_NO_ONE = {"本站", "原创", "网络", "本网"}  # portal sources that name no issuer
_PORTAL_DATES = ("发文日期", "发布日期", "发布时间", "成文日期", "更新时间")
EDITABLE = ("school", "unit", "level", "period", "year", "region")


@dataclass
class PlanMetadata:
    """What users filter and group by; `sources` says where each field came from, `warnings`
    what could not be found or is only guessed."""

    title: str | None = None
    school: str | None = None
    unit: str | None = None
    kind: str = SCHOOL  # "school" or "bureau"
    province: str | None = None
    city: str | None = None
    district: str | None = None
    level: str | None = None
    period: str | None = None
    year: int | None = None
    year_end: int | None = None
    term: str | None = None
    issuer: str | None = None
    published: str | None = None
    school_aliases: list[str] = field(default_factory=list)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def region(self) -> str:
        return "".join(p for p in (self.province, self.city, self.district) if p)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "region": self.region}

    def _set(self, name: str, value: Any, source: str, confidence: float) -> None:
        setattr(self, name, value)
        self.sources[name] = {"source": source, "confidence": round(min(confidence, 1.0), 2)}


@lru_cache(maxsize=1)
def metadata_version() -> str:
    """Bump the number when extraction changes; the data files' fingerprint follows their edits.
    A plan read with another version is read again by the next `plans index`."""
    return f"2-{data_fingerprint()}"


MANIFEST_FIELDS = frozenset(PlanMetadata.__dataclass_fields__) - {"warnings", "sources", "school_aliases"}


def extract_metadata(clean: CleanText, *, overrides: dict[str, Any] | None = None,
                     edits: dict[str, Any] | None = None) -> PlanMetadata:
    """Metadata of one cleaned plan; `overrides` (a manifest entry), then `edits`, win field by field."""
    text, header = clean.text, clean.header
    lines = text.split("\n")
    meta = PlanMetadata()
    title = header.get("标题") or next(filter(None, (_title_line(line) for line in lines[:2])), None)
    quoted = _QUOTED.search(text[:800]) if title is None or _NOTICE.search(title) else None
    plan_title = quoted.group(1) if quoted else title
    if plan_title:
        meta._set("title", plan_title, "notice" if quoted else "title", 0.9)
    published = _published(meta, header, lines, len(text))
    _set_period(meta, title, quoted.group(1) if quoted else None, text[:400], published)
    chosen = _set_school(meta, title, quoted.group(1) if quoted else None, lines, header, text[:400])
    _set_level(meta, chosen, text)
    _set_region(meta, text, header)
    # 发布机构 as written, else the first other source field that names someone (not 本站, 原创)
    issuer = header.get("发布机构") or next((header[k] for k in _PORTAL_ISSUERS[1:] if header.get(k) and header[k] not in _NO_ONE), None)
    if issuer:
        meta._set("issuer", issuer, "portal", 0.9)
    elif meta.kind == BUREAU and meta.school:
        meta._set("issuer", meta.school, meta.sources["school"]["source"], meta.sources["school"]["confidence"])
    for name, value in (overrides or {}).items():
        if name in MANIFEST_FIELDS and value not in (None, ""):
            meta._set(name, int(value) if name in ("year", "year_end") else str(value), "manifest", 1.0)
    apply_edits(meta, edits or {})
    meta.warnings = metadata_warnings(meta)
    return meta


def apply_edits(meta: PlanMetadata, edits: dict[str, Any]) -> None:
    """Corrections win over everything read: school, unit, level, period, year, region."""
    for name in EDITABLE:
        if name not in edits:
            continue
        value = edits[name]
        if name == "school" and meta.school and meta.school != value and meta.school not in meta.school_aliases:
            meta.school_aliases.append(meta.school)  # `school:` still finds the name the text uses
        if name == "region":
            province, city, district = split_region(str(value))
            for part, part_value in (("province", province), ("city", city), ("district", district)):
                meta._set(part, part_value, "edited", 1.0)
        elif name == "period":
            meta._set("period", str(value), "edited", 1.0)
            period = find_period(str(value))
            if period is not None and "year" not in edits:
                _set_period_fields(meta, period, "edited", 1.0)
        elif name == "year":
            span = meta.year_end - meta.year if meta.year is not None and meta.year_end is not None else 0
            meta._set("year", int(value), "edited", 1.0)
            meta._set("year_end", int(value) + max(span, 0), "edited", 1.0)  # the period keeps its length
        else:
            meta._set(name, str(value), "edited", 1.0)
    if "school" in edits and meta.school in meta.school_aliases:
        meta.school_aliases.remove(meta.school)


def split_region(value: str) -> tuple[str | None, str | None, str | None]:
    """"浙江省绍兴市越城区" -> (province, city, district), by the gazetteer; what is left is the district."""
    provinces, cities = _gazetteer()
    rest, province, city = value.strip(), None, None
    for candidate in provinces:
        for name in (candidate["name"], candidate["short"]):
            if rest.startswith(name):
                province, rest = candidate["name"], rest[len(name):]
                break
        if province:
            break
    for candidate in cities:
        for name in (candidate["name"], candidate["short"]):
            if rest.startswith(name):
                city, rest = candidate["name"], rest[len(name):]
                province = province or (candidate["province"] if candidate["province"] != candidate["name"] else None)
                break
        if city:
            break
    if province and city == province:
        province = None
    return province, city, rest or None


def _title_line(line: str) -> str | None:
    line = line.strip()
    if 4 <= len(line) <= 60 and _TITLE_WORDS.search(line) and not re.search(r"[。；;]$", line):
        return line
    return None


def _published(meta: PlanMetadata, header: dict[str, str], lines: list[str], size: int) -> str | None:
    for key in _PORTAL_DATES:
        if header.get(key) and (date := find_date(header[key])):
            meta._set("published", date, "portal", 0.9)
            return date
    if size > 200 or len(lines) >= 3:
        for line in reversed(lines[-3:]):
            if len(line) <= 40 and (date := find_date(line)):
                meta._set("published", date, "signature", 0.8)
                return date
    return None


def _set_period(meta: PlanMetadata, title: str | None, quoted: str | None, head: str, published: str | None) -> None:
    for source_text, source in ((quoted, "notice"), (title, "title")):
        if source_text and (period := find_period(source_text)):
            meta._set("period", period.text, source, 0.9)
            _set_period_fields(meta, period, source, 0.9)
            return
    for source_text in (quoted, title) if published else ():
        if source_text and (period := term_only(source_text, published)):
            meta._set("period", period.text, "title", 0.6)
            _set_period_fields(meta, period, meta.sources["published"]["source"], 0.6)
            return
    if period := find_period(without_dates(head)):
        meta._set("period", period.text, "text", 0.6)
        _set_period_fields(meta, period, "text", 0.6)
        return
    if published is None:
        return
    year = int(published[:4])
    source = meta.sources["published"]["source"]
    meta._set("year", year, source, 0.5)
    meta._set("year_end", year, source, 0.5)


def _set_period_fields(meta: PlanMetadata, period: Period, source: str, confidence: float) -> None:
    meta._set("year", period.year, source, confidence)
    meta._set("year_end", period.year_end, source, confidence)
    meta._set("term", period.term, source, confidence)


def _set_school(meta: PlanMetadata, title: str | None, quoted: str | None, lines: list[str],
                header: dict[str, str], head: str) -> Institution | None:
    """The best supported institution of the title, notice, sign-off, portal and text."""
    g = grammar()
    found: list[tuple[Institution, str, float]] = []
    if quoted:
        found += [(i, "notice", _WEIGHTS["quoted"]) for i in g.find(quoted)]
    if title:
        source = "notice" if quoted or _NOTICE.search(title) else "title"
        found += [(i, source, _WEIGHTS[source]) for i in g.find(title)]
    if len(lines) > 3:
        found += [(i, "signature", _WEIGHTS["signature"]) for i in _signature(lines[-4:])]
    for key in _PORTAL_ISSUERS:
        if header.get(key):
            found += [(i, "portal", _WEIGHTS["portal"]) for i in g.find(header[key])]
    subject = _SUBJECT_RE.search(head)
    if subject:
        found += [(i, "text", _WEIGHTS["subject"]) for i in g.find(subject.group(1)) if i.start == 0]
    found += [(i, "text", _WEIGHTS["text"]) for i in g.find(head, loose=False)]
    if not found:
        unit = g.unit_in(quoted or title or "")
        if unit:
            meta._set("unit", unit, "notice" if quoted else "title", 0.9)
        return None
    support: dict[str, tuple[float, set[str], int]] = {}  # by g.key: 诸暨一中 and 诸暨市第一中学 agree
    for order, (inst, source, weight) in enumerate(found):
        best, sources, first = support.get(g.key(inst.canonical), (0.0, set(), order))
        support[g.key(inst.canonical)] = (max(best, weight), sources | {source}, first)
    key = max(support, key=lambda c: (support[c][0] + 0.05 * (len(support[c][1]) - 1), -support[c][2]))
    weight, sources, _ = support[key]
    group = [(i, s) for i, s, w in sorted(found, key=lambda f: -f[2]) if g.key(i.canonical) == key]
    chosen, source = group[0]
    canonical = max((i.canonical for i, _ in group), key=len)  # the fullest spelling: 诸暨市第一中学
    confidence = min(weight + 0.05 * (len(sources) - 1), 0.99)
    meta._set("school", canonical, "alias" if any(i.via_alias for i, _ in group) else source, confidence)
    meta._set("kind", chosen.kind, source, confidence)
    names = {i.name for i, _ in group} | set(g.names_of(canonical))
    meta.school_aliases = sorted(names - {canonical})
    unit = next((i.unit for i, s in group if i.unit and s in ("notice", "title", "signature")), None)
    unit = unit or g.unit_in(quoted or title or "", skip=_span(quoted or title or "", chosen.name))
    if unit and not (chosen.kind == BUREAU and chosen.name.endswith(unit)):
        meta._set("unit", unit, "notice" if quoted else "title", 0.9)
    return chosen


def _span(text: str, name: str) -> tuple[int, int] | None:
    at = text.find(name)
    return (at, at + len(name)) if at >= 0 else None


def _signature(tail: list[str]) -> list[Institution]:
    """Names on sign-off lines: a line that is a name (and maybe a date) and nothing else."""
    out = []
    for line in tail:
        core = re.sub(r"[\s\d年月日.\-/〇○零一二三四五六七八九十]+$", "", line.strip())
        if not core or len(core) > 30:
            continue
        for inst in grammar().find(core):
            if inst.start == 0 and inst.end + len(inst.unit or "") >= len(core):
                out.append(inst)
    return out


def _set_level(meta: PlanMetadata, chosen: Institution | None, text: str) -> None:
    g = grammar()
    if chosen is not None:
        confidence = meta.sources["school"]["confidence"]
        if chosen.kind == BUREAU:
            meta._set("level", BUREAU_LEVEL, meta.sources["school"]["source"], confidence)
            return
        if chosen.level is not None:
            meta._set("level", chosen.level, meta.sources["school"]["source"], min(confidence, 0.9))
            return
        if chosen.name.endswith(("中学", "中", "中学教育集团")):
            window = g.without_incidental(text)
            senior, junior = _SENIOR.search(window), _JUNIOR.search(window)
            level = "高中" if senior and not junior else "初中" if junior and not senior else "中学"
            meta._set("level", level, "text" if level != "中学" else meta.sources["school"]["source"], min(confidence, 0.8))
            return
    counts = Counter({level: len(pattern.findall(g.without_incidental(text[:3000]))) for level, pattern in _TEXT_LEVELS})
    counts = +counts
    if not counts:
        return
    if chosen is not None and chosen.name.endswith("学校") and counts["小学"] >= 2 and counts["初中"] >= 2:
        meta._set("level", "九年一贯制", "text", 0.3)
        return
    meta._set("level", counts.most_common(1)[0][0], "text", 0.3)


def metadata_warnings(meta: PlanMetadata) -> list[str]:
    """A missing or low-confidence school, level or year, in words (`plans index` prints them)."""
    warnings = []
    for name, missing in (("year", "no year or period found"), ("school", "no school or organisation name found"),
                          ("level", "no level found")):
        if getattr(meta, name) is None:
            warnings.append(missing)
        elif meta.sources.get(name, {}).get("confidence", 1.0) < LOW_CONFIDENCE:
            source = meta.sources[name]
            warnings.append(f"{name} uncertain: {getattr(meta, name)} (from {source['source']}, confidence {source['confidence']})")
    return warnings


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    data = load_yaml(Path(DATA_DIR / "regions.yaml").read_text(encoding="utf-8"))
    return data["provinces"], data["cities"]


def _set_region(meta: PlanMetadata, text: str, header: dict[str, str]) -> None:
    provinces, cities = _gazetteer()
    own = " ".join(filter(None, (meta.school, meta.title, *meta.school_aliases)))
    named = " ".join(filter(None, (own, header.get("发布机构"), header.get("站点"))))
    city = _first_city(named, cities)
    source, confidence = ("title", 0.9) if city and _first_city(own, cities) else ("portal", 0.7)
    if city is None and (city := _most_mentioned_city(text, cities)):
        source, confidence = "text", 0.4
    if city:
        meta._set("city", city["name"], source, confidence)
        meta._set("province", city["province"], source, confidence)
    else:
        for province in provinces:
            if province["name"] in named or province["short"] in named:
                meta._set("province", province["name"], "title" if province["short"] in own else "portal", 0.8)
                break
    if city:  # "淄博高新区" -> look for the district in "|高新区"
        for name in (city["name"], city["short"]):
            named, text = named.replace(name, "|"), text.replace(name, "|")
    district = _district(named)
    if district:
        meta._set("district", district, "title" if district in own else "portal", 0.8)
    elif meta.school and not city and (county := _COUNTY.match(meta.school)):
        meta._set("district", county.group(0), meta.sources["school"]["source"], 0.7)  # 诸暨市, 文安县: not in the gazetteer
    elif district := _district(text, min_mentions=2):
        meta._set("district", district, "text", 0.4)
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
