"""Institution names by grammar: place prefix + proper name + suffix, and one name per school.

The words are data (data/institutions.yaml, data/school_aliases.yaml, data/regions.yaml),
loaded once. A name ends at a suffix (the longest at a position: 高级中学 before 中学); it
starts after the last sentence word (关于, 公布, 年 …), a non-Han character or the previous
name, and at the earliest known place when there is one. Finding is one regex pass over the
text plus a bounded look back (at most MAX_NAME characters) per suffix found.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from indexer.settings import DATA_DIR, load_yaml

MAX_NAME = 20  # characters before a suffix that can belong to the name
_HAN = "\u4e00-\u9fff"
_NUMERALS = "一二三四五六七八九十"
SCHOOL, BUREAU = "school", "bureau"
_COUNTY_BEFORE_NUMBER = re.compile(rf"^([{_HAN}]{{2,3}}?)[市县区旗](?=第[{_NUMERALS}])")


def _numbered(text: str, i: int, low: int) -> bool:
    """Whether text[i] is a digit of a number written after 第 (北京市第80中学): part of the name."""
    j = i
    while j > low and text[j].isascii() and text[j].isdigit():
        j -= 1
    return j < i and text[j] == "第"


@dataclass(frozen=True)
class Institution:
    """A name as written, its canonical name and what its suffix says; `end` is just past it."""

    name: str
    canonical: str
    kind: str  # SCHOOL or BUREAU
    level: str | None  # None: the text decides (中学, 实验学校 …)
    unit: str | None  # a sub-unit written right after the name (安全处)
    start: int
    end: int
    via_alias: bool = False  # the aliases file named the canonical name


@dataclass(frozen=True)
class _Suffix:
    kind: str
    level: str | None
    bare: bool


class Grammar:
    """The compiled word lists; `grammar()` builds it once."""

    def __init__(self, data: dict[str, Any], regions: dict[str, Any], aliases: dict[str, list[str]]) -> None:
        self.suffixes: dict[str, _Suffix] = {}
        for entry in data["schools"]:
            self.suffixes[entry["suffix"]] = _Suffix(SCHOOL, entry.get("level"), False)
        for entry in data["bureaus"]:
            self.suffixes[entry["suffix"]] = _Suffix(BUREAU, "教育行政", bool(entry.get("bare")))
        self.abbreviations: dict[str, str] = data["abbreviations"]
        suffix_alts = "|".join(sorted(self.suffixes, key=len, reverse=True))
        abbr = "".join(self.abbreviations)
        # a suffix, or an abbreviation (一中, 三小) right after a Han character; not 中学生, not 中心
        self.suffix_re = re.compile(
            rf"(?:{suffix_alts})(?![生])|(?<=[{_HAN}])[{_NUMERALS}]{{1,3}}[{abbr}](?![学心国央型等级年班部全时组步块段批片])"
        )
        units = sorted(data["units"], key=len, reverse=True)
        prefixes = sorted(data["unit_prefixes"], key=len, reverse=True)
        self.unit_re = re.compile(rf"(?:{'|'.join(prefixes)})?(?:{'|'.join(units)})")
        self.stop_re = re.compile("|".join(sorted(data["left_stops"], key=len, reverse=True)))
        self.topic_words: list[str] = data["topic_words"]
        self.document_words: list[str] = data["document_words"]
        self.incidental_re = re.compile("|".join(sorted(data["incidental_levels"], key=len, reverse=True)))
        self.cities: list[dict[str, str]] = regions["cities"]
        self.provinces: list[dict[str, str]] = regions["provinces"]
        self.full_place: dict[str, str] = {}
        for place in self.provinces + self.cities:
            self.full_place.setdefault(place["short"], place["name"])
            self.full_place.setdefault(place["name"], place["name"])
        self.province_of = {c["name"]: c["province"] for c in self.cities}
        self.place_re = re.compile("|".join(sorted(self.full_place, key=len, reverse=True)))
        self.alias_of: dict[str, str] = {}
        self.aliases: dict[str, list[str]] = {}
        for canonical, names in aliases.items():
            self.aliases[canonical] = list(names or [])
            for name in names or []:
                self.alias_of[name] = canonical

    def find(self, text: str, *, loose: bool = True) -> list[Institution]:
        """Every institution name in `text`, left to right. Without `loose`, a name must start
        at a known place (running text, where a suffix follows many words that are no name)."""
        found: list[Institution] = []
        previous_end = 0
        for match in self.suffix_re.finditer(text):
            suffix = match.group(0)
            start = self._start(text, max(previous_end, match.start() - MAX_NAME), match.start())
            proper = text[start : match.start()]
            info = self.suffixes.get(suffix)
            if info is None:  # an abbreviation: 绍兴一中
                if len(proper) < 2 or not (loose or self.place_re.match(proper)):
                    continue
                full = self.abbreviations[suffix[-1]]
                info = _Suffix(SCHOOL, None if full == "中学" else full, False)
            elif suffix.startswith("小学") and match.start() > 0 and text[match.start() - 1] in "中幼":
                continue  # 中小学, 幼小学段: not a school's name
            if len(proper) < 2 and not (info.bare and not proper):
                continue
            if not loose and not info.bare and not self.place_re.match(proper):
                continue
            name = proper + suffix
            unit = self.unit_re.match(text, match.end())
            canonical, via_alias = self.canonical(name)
            found.append(Institution(name, canonical, info.kind, info.level, unit.group(0) if unit else None,
                                     start, match.end(), via_alias))
            previous_end = match.end()
        return found

    def _start(self, text: str, low: int, end: int) -> int:
        """Where the name ending at `end` starts: after non-Han text and sentence words, at the
        earliest known place."""
        start = end
        while start > low and ("\u4e00" <= text[start - 1] <= "\u9fff" or _numbered(text, start - 1, low)):
            start -= 1
        for stop in self.stop_re.finditer(text, start, end):
            start = stop.end()
        place = self.place_re.search(text, start, end)
        return place.start() if place else start

    def canonical(self, name: str) -> tuple[str, bool]:
        """One name per school: the aliases file, then 一中 -> 第一中学 with the place spelled out,
        then a province dropped in front of its own city."""
        if name in self.alias_of:
            return self.alias_of[name], True
        full = name
        abbreviation = re.fullmatch(rf"(.+?)([{_NUMERALS}]{{1,3}})([{''.join(self.abbreviations)}])", name)
        if abbreviation:
            place, number, kind = abbreviation.groups()
            full = f"{self._spelled_place(place)}第{number}{self.abbreviations[kind]}"
        province = self.place_re.match(full)
        if province and self.full_place[province.group(0)] not in self.province_of:
            rest = full[province.end() :]
            city = self.place_re.match(rest)
            if city and self.province_of.get(self.full_place[city.group(0)]) == self.full_place[province.group(0)]:
                full = rest  # 浙江省绍兴市第一中学 -> 绍兴市第一中学
        if full in self.alias_of:
            return self.alias_of[full], True
        return full, False

    def key(self, canonical: str) -> str:
        """What two spellings of one numbered school share: 诸暨第一中学 and 诸暨市第一中学 (a county's
        place suffix, which the gazetteer cannot supply, dropped before 第)."""
        return _COUNTY_BEFORE_NUMBER.sub(r"\1", canonical, count=1)

    def _spelled_place(self, place: str) -> str:
        head = self.place_re.match(place)
        return self.full_place[head.group(0)] + place[head.end() :] if head else place

    def _is_city(self, name: str) -> bool:
        return name in self.province_of

    def names_of(self, canonical: str) -> list[str]:
        """The aliases file's other names of a school."""
        return list(self.aliases.get(canonical, []))

    def unit_in(self, text: str, skip: tuple[int, int] | None = None) -> str | None:
        """The first sub-unit named in `text` outside the span `skip` (the institution's own name)."""
        for match in self.unit_re.finditer(text):
            if skip is None or match.end() <= skip[0] or match.start() >= skip[1]:
                return match.group(0)
        return None

    def without_incidental(self, text: str) -> str:
        """`text` with words that name a level incidentally (职业道德, 中小学) blanked out."""
        return self.incidental_re.sub(lambda m: " " * len(m.group(0)), text)


@lru_cache(maxsize=1)
def grammar() -> Grammar:
    """The grammar from the data files, loaded once per process."""
    data = load_yaml(Path(DATA_DIR / "institutions.yaml").read_text(encoding="utf-8"))
    regions = load_yaml(Path(DATA_DIR / "regions.yaml").read_text(encoding="utf-8"))
    aliases = load_yaml(Path(DATA_DIR / "school_aliases.yaml").read_text(encoding="utf-8")) or {}
    return Grammar(data, regions, aliases)


def data_fingerprint() -> str:
    """A hash of the data files names are read with: when it changes, plans are read again."""
    digest = hashlib.sha256()
    for name in ("institutions.yaml", "school_aliases.yaml", "regions.yaml"):
        digest.update((DATA_DIR / name).read_bytes())
    return digest.hexdigest()[:16]
