"""The words the compare page and its CSV / XLSX files share, so a figure has one name everywhere."""

from __future__ import annotations

LABELS = {
    "compare": "主题比较",
    "side_by_side": "并排比较",
    "matrix": "主题矩阵",
    "status": "状态",
    "mentioned": "提及",
    "not_mentioned": "未提及",
    "passages": "匹配段落数",
    "share": "字数占比",
    "mentions": "提及次数",
    "per_10k": "每万字提及",
    "in_heading": "标题中出现",
    "terms": "特色词语",
    "commitments": "量化承诺",
    "shared_terms": "共有词语",
    "best": "最相关段落",
    "school": "学校",
    "region": "地区",
    "level": "学段",
    "period": "时期",
}
