"""A deterministic corpus of plausible plans, recombined from the sample plans in data/corpus.

Each sample is cut along its own numbering into chapter headings, sub-chapter headings and
items (a numbered line with the body lines under it); a generated plan is a title line
`<市><区><学校><期间>工作计划`, an opening paragraph, then chapters of items drawn from all
samples, with some sentences swapped between items so passages are not all verbatim copies.
The sample schools' names are replaced by the generated school's, so a plan names only itself.

    .venv/bin/python -m bench.generate --plans 2000 --out bench/var/corpus-2000

Writes 00000.txt … and corpus.json (the metadata each plan was generated with).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from indexer.cleaning import clean
from indexer.settings import DATA_DIR

SAMPLES = DATA_DIR / "corpus"
SEED = 20240901
MIN_CHARS, MAX_CHARS = 5_000, 25_000
SCHOOLS = 750

_CN = "一二三四五六七八九十"
_CHAPTER = re.compile(rf"^\s*(?:[{_CN}]+\s*[、.．]|第[{_CN}]+[部章][分]?)\s*(.*)$")
_SUBCHAPTER = re.compile(rf"^\s*[（(][{_CN}]+[）)]\s*(.*)$")
_ITEM = re.compile(r"^\s*(?:\d{1,2}\s*[、.．](?!\d)|[（(]\d{1,2}[）)])\s*(.*)$")
_SENTENCE = re.compile(r"[^。；！？]*[。；！？]")

# The sample plans' own names, longest first, and what they become in a generated plan.
_OWN_NAMES = (
    ("海王路小学教育集团", "{school}"), ("淄博高新区第一小学", "{school}"), ("海王路小学", "{school}"),
    ("金茵小学", "{school}"), ("焦溪小学", "{school}"), ("临淄区", "{district}"), ("怀柔区", "{district}"),
    ("青岛市", "{city}"), ("常州市", "{city}"), ("淄博", "{city_short}"), ("青岛", "{city_short}"),
    ("怀柔", "{district_short}"), ("临淄", "{district_short}"), ("金茵", "{school_short}"),
    ("焦溪", "{school_short}"), ("海王路", "{school_short}"),
)
_SYLLABLES = (
    "东风 红星 育才 阳光 明德 博文 启智 新华 胜利 光明 建设 和平 朝阳 青云 长江 黄河 "
    "凤凰 金山 银湖 翠园 桃源 柳岸 松林 梅园 兰亭 竹溪 荷塘 桂花 石桥 清泉 白鹭 春晖 秋实 "
    "文昌 崇文 尚德 致远 弘毅 求真 敬业 立人 树人 培英 启明 星河 海燕 南湖 北辰 西苑 东城 "
    "龙湾 虎山 鹤鸣 鹿鸣 燕园 华庭 锦绣 紫荆 玉泉 丰泽 永安 长宁 安康 福田 滨江 临江 望江"
).split()
_DISTRICT_STEMS = (
    "城关 东湖 西湖 南山 北塘 江北 江南 河东 河西 高新 经开 滨海 湖滨 新城 老城 龙泉 青山 "
    "白云 金水 铁西 和平 长安 永宁 平安 太平 兴隆 安定 凤阳 桐城 柳江 清河 丰台 石门 黄石"
).split()
_SCHOOL_KINDS = (
    ("小学", "小学", 40), ("中心小学", "小学", 8), ("实验小学", "小学", 8), ("中学", "中学", 8),
    ("初级中学", "初中", 12), ("实验学校", "", 6), ("九年一贯制学校", "九年一贯制", 4),
    ("高级中学", "高中", 4), ("幼儿园", "幼儿园", 10),
)


@dataclass
class Item:
    """A numbered line (its words after the number) and the body lines under it."""

    head: str
    body: list[str]


@dataclass
class Pools:
    """What plans are recombined from."""

    openings: list[str]
    chapters: list[str]
    subchapters: list[str]
    items: list[Item]
    sentences: list[str]


@dataclass
class PlanSpec:
    """The metadata a generated plan was written with (ground truth for extraction)."""

    file: str
    school: str
    city: str
    province: str
    district: str
    level: str
    period: str
    year: int
    chars: int = 0


def load_pools(samples: Path = SAMPLES) -> Pools:
    """Cut every sample along its numbering; the first line is its title and is dropped."""
    pools = Pools([], [], [], [], [])
    for path in sorted(samples.glob("*.txt")):
        lines = clean(path.read_text(encoding="utf-8")).text.split("\n")
        lines = [line for line in lines if line.strip()]
        if lines and "计划" in lines[0] and len(lines[0]) <= 60:
            lines = lines[1:]
        current: Item | None = None
        seen_chapter = False
        for line in lines:
            if (m := _CHAPTER.match(line)) and len(line) <= 60:
                pools.chapters.append(m.group(1))
                seen_chapter, current = True, None
            elif (m := _SUBCHAPTER.match(line)) and len(line) <= 60:
                pools.subchapters.append(m.group(1))
                current = None
            elif m := _ITEM.match(line):
                current = Item(m.group(1), [])
                pools.items.append(current)
            elif not seen_chapter:
                pools.openings.append(line)
            elif current is not None:
                current.body.append(line)
            else:
                pools.items.append(Item("", [line]))  # a chapter's own paragraph
            pools.sentences.extend(s for s in _SENTENCE.findall(line) if len(s) >= 8)
    pools.openings = [o for o in pools.openings if len(o) >= 40]
    return pools


def _target_length(rng: random.Random) -> int:
    """Mostly 5-9 k characters with a tail up to 25 k: 2,000 plans come to 13.7 M (mean 6.9 k)."""
    if rng.random() < 0.04:
        return rng.randint(12_000, MAX_CHARS)
    return min(MAX_CHARS, MIN_CHARS + int(rng.expovariate(1 / 1_050)))


def _places(rng: random.Random) -> list[tuple[dict[str, str], list[str]]]:
    """A dozen cities of one corpus, each with a few generated districts."""
    cities = yaml.safe_load((DATA_DIR / "regions.yaml").read_text(encoding="utf-8"))["cities"]
    chosen = rng.sample([c for c in cities if c["name"].endswith("市") and c["name"] != c["province"]], 12)
    out = []
    for city in chosen:
        stems = rng.sample([s for s in _DISTRICT_STEMS if s != city["short"]], rng.randint(3, 6))
        out.append((city, [s + rng.choice("区区区县") for s in stems]))
    return out


def _schools(rng: random.Random, count: int) -> list[tuple[dict[str, str], str, str, str, str]]:
    """(city, district, full school name, short name, level), each school distinct."""
    places = _places(rng)
    kinds, weights = [k[:2] for k in _SCHOOL_KINDS], [k[2] for k in _SCHOOL_KINDS]
    seen: set[str] = set()
    out = []
    while len(out) < count:
        city, districts = rng.choice(places)
        district = rng.choice(districts)
        stem = rng.choice(_SYLLABLES) + rng.choice(("", "", "", "路", "街", "第一", "第二", "第三"))
        suffix, level = rng.choices(kinds, weights)[0]
        name = f"{city['name']}{district}{stem}{suffix}"
        if name in seen:
            continue
        seen.add(name)
        out.append((city, district, name, stem + suffix, level))
    return out


def _period(rng: random.Random) -> tuple[str, int]:
    year = rng.randint(2019, 2026)
    form = rng.random()
    if form < 0.45:
        return f"{year}年", year
    if form < 0.7:
        return f"{year}-{year + 1}学年", year
    if form < 0.8:
        return f"{year}年春学期", year
    if form < 0.9:
        return f"{year}学年第一学期", year
    return f"{year}年秋季学期", year


def _localise(text: str, names: dict[str, str]) -> str:
    for own, template in _OWN_NAMES:
        if own in text:
            text = text.replace(own, template.format(**names))
    return text


def _item_text(rng: random.Random, pools: Pools, item: Item) -> str:
    """The item's body, each sentence swapped for one from elsewhere with probability 0.3."""
    body = "\n".join(item.body)
    if rng.random() < 0.6:
        parts = _SENTENCE.findall(body) or [body]
        body = "".join(rng.choice(pools.sentences) if rng.random() < 0.3 else s for s in parts)
    return body


def render_plan(rng: random.Random, pools: Pools, spec: PlanSpec, names: dict[str, str]) -> str:
    """One plan's text: title, opening, chapters of numbered items, signature and date."""
    target = _target_length(rng)
    lines = [f"{spec.school}{spec.period}{rng.choice(('工作计划', '工作计划', '学校工作计划'))}"]
    opening = rng.choice(pools.openings)
    opening = re.sub(r"\d{4}(?=年)", str(spec.year), opening, count=1)
    lines.append(_localise(opening, names))
    size = sum(map(len, lines))
    chapters = max(3, min(9, round(target / 1_500)))
    item_style = rng.choice(("{n}.", "{n}、"))
    for c in range(chapters):
        lines.append(f"{_CN[c] if c < 10 else c + 1}、{rng.choice(pools.chapters)}")
        budget = (target - size) / (chapters - c)
        spent, n = 0, 1
        sub = 0
        while spent < budget:
            if rng.random() < 0.15 and sub < 9:
                lines.append(f"（{_CN[sub]}）{rng.choice(pools.subchapters)}")
                sub += 1
            item = rng.choice(pools.items)
            body = _localise(_item_text(rng, pools, item), names)
            if item.head:
                head = item_style.format(n=n) + _localise(item.head, names)
                block = f"{head}\n{body}" if body and item.body else head
                n += 1
            else:
                block = body
            lines.append(block)
            spent += len(block) + 1
        size += spent
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    lines += [spec.school, f"{spec.year}年{month}月{day}日"]
    return "\n".join(lines) + "\n"


def generate(out: Path, plans: int = 2000, *, seed: int = SEED, start: int = 0) -> list[PlanSpec]:
    """Write plans number start … start+plans-1 into `out`; the same seed gives the same files."""
    out.mkdir(parents=True, exist_ok=True)
    pools = load_pools()
    rng = random.Random(seed)
    # about 2.7 plans per school at 2,000; a fixed pool below that, so a smaller corpus is a prefix
    schools = _schools(rng, max(SCHOOLS, (start + plans) * 3 // 8))
    specs = []
    for i in range(start, start + plans):
        plan_rng = random.Random(f"{seed}:{i}")
        city, district, school, short, level = schools[plan_rng.randrange(len(schools))]
        period, year = _period(plan_rng)
        spec = PlanSpec(f"{i:05d}.txt", school, city["name"], city["province"], district, level, period, year)
        names = {
            "school": school.replace(city["name"], "").replace(district, ""), "school_short": short[:2],
            "city": city["name"], "city_short": city["short"], "district": district, "district_short": district[:-1],
        }
        text = render_plan(plan_rng, pools, spec, names)
        spec.chars = len(text)
        (out / spec.file).write_text(text, encoding="utf-8")
        specs.append(spec)
    (out / "corpus.json").write_text(
        json.dumps({"seed": seed, "plans": [asdict(s) for s in specs]}, ensure_ascii=False, indent=0),
        encoding="utf-8",
    )
    return specs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("bench/var/corpus"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    specs = generate(args.out, args.plans, seed=args.seed)
    chars = sum(s.chars for s in specs)
    print(f"{len(specs)} plans, {chars:,} characters (mean {chars // max(1, len(specs)):,}) in {args.out}")


if __name__ == "__main__":
    main()
