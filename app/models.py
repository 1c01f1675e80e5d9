"""Response shapes, for the OpenAPI description and for validating what the API returns."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every 4xx answer: a stable code, a message for people and, for queries, where."""

    error: str = Field(description="Stable code, e.g. unbalanced_quote, not_found, invalid_parameter.")
    message: str = Field(description="What was wrong, in Chinese, said so a user can fix it.")
    position: int | None = Field(default=None, description="0-based character of the query at fault.")


class Bucket(BaseModel):
    value: str
    count: int = Field(description="Matching plans with this value.")
    passages: int = Field(description="Matching passages in those plans.")
    selected: bool = Field(description="This value is chosen (values of one facet are ORed, facets ANDed).")
    toggle_url: str | None = Field(default=None, description="This search with the value added to or removed from the selection.")


class Facets(BaseModel):
    school: list[Bucket]
    year: list[Bucket]
    region: list[Bucket]
    level: list[Bucket]


class PassageHit(BaseModel):
    id: int = Field(description="Passage id (stable until its plan is re-indexed).")
    anchor: str = Field(description="Stable anchor from the section path and text: /documents/{id}#{anchor}.")
    ordinal: int = Field(description="Position of the passage in its plan, from 0.")
    section: list[str] = Field(description="Headings above the passage, outermost first.")
    text: str = Field(description="The passage as plain text (not HTML).")
    highlight: str = Field(description="The text HTML-escaped, each match in one <mark>…</mark>.")
    score: float | None = None


class PlanFields(BaseModel):
    document_id: int
    school: str | None
    region: str | None
    level: str | None
    period: str | None
    year: int | None
    title: str


class Group(PlanFields):
    hits: int = Field(description="Matching passages in this plan.")
    score: float
    passages: list[PassageHit]


class QueryInfo(BaseModel):
    q: str
    filters: dict[str, str]
    description: str = Field(description="The query in words, e.g. 含“劳动教育”且不含“家务”.")
    terms: list[str] = Field(description="The literal terms and phrases a match contains.")
    match: str = Field(description="exact, or loose (punctuation and spaces ignored).")


class LooseSuggestion(BaseModel):
    terms: list[str] = Field(description="Terms of 4+ characters that find nothing exactly.")
    total: int = Field(description="Passages the same search finds with match=loose.")
    documents: int = Field(description="Plans the same search finds with match=loose.")


class SearchResult(BaseModel):
    query: QueryInfo
    total: int = Field(description="Matching passages.")
    documents: int = Field(description="Plans with at least one matching passage.")
    page: int
    size: int
    per_group: int
    sort: str
    groups: list[Group]
    facets: Facets
    loose: LooseSuggestion | None = Field(default=None, description="Set on an exact search when a term of 4+ characters finds nothing.")


class MetadataSource(BaseModel):
    source: str = Field(description="title, notice, signature, portal, text, alias, manifest or edited.")
    confidence: float = Field(description="0–1; below 0.5 a school, level or year is also a warning.")


class DocumentSummary(BaseModel):
    id: int
    file: str
    title: str | None
    school: str | None
    kind: str | None
    province: str | None
    city: str | None
    district: str | None
    region: str | None
    level: str | None
    period: str | None
    year: int | None
    term: str | None
    issuer: str | None
    published: str | None
    format: str | None
    chars: int | None
    warnings: list[str] | None = Field(description="What could not be read, or only guessed (a school, level or year of low confidence).")
    passage_count: int
    unit: str | None = Field(default=None, description="A part of the school or bureau the plan is of: 德育处, 教研组 …")
    year_end: int | None = Field(default=None, description="Last calendar year the period reaches (2024—2025学年度: 2025).")
    school_aliases: list[str] | None = Field(default=None, description="Other names of the school (abbreviations, data/school_aliases.yaml); `school:` matches them.")
    sources: dict[str, MetadataSource] | None = Field(
        default=None, description="Per field, where it came from: title, notice, signature, portal, text, alias, manifest or edited.")


class UploadedDocument(DocumentSummary):
    status: str = Field(description="added (201), or unchanged (200) when these bytes were uploaded before.")


class DocumentList(BaseModel):
    total: int = Field(description="Plans that pass the filters.")
    page: int = 1
    size: int | None = Field(default=None, description="Plans per page; null: all on one page.")
    sort: str = "id"
    filters: dict[str, str] = Field(default_factory=dict)
    documents: list[DocumentSummary]


class OutlineEntry(BaseModel):
    depth: int
    title: str
    passage_id: int
    anchor: str


class DocumentPassage(BaseModel):
    id: int
    anchor: str = Field(description="Stable across re-indexing while the passage's section path and text are unchanged.")
    ordinal: int
    section: list[str]
    text: str
    highlight: str | None = None
    matches: int | None = None


class DocumentDetail(DocumentSummary):
    outline: list[OutlineEntry]
    passages: list[DocumentPassage]


class Health(BaseModel):
    status: str = Field(description="`ok`, or `degraded` when a newer index generation was refused and an older one is served")
    reason: str | None = Field(None, description="Why the index is degraded (the corrupt file), else null")
    schema_version: int
    documents: int
    passages: int
    index_generation: int
    loaded_at: float


# -- themes and comparison (app/themes.py, app/compare.py) ---------------------------------


class ThemeEntry(BaseModel):
    name: str
    description: str
    terms: list[str] = Field(description="Literal terms; a passage matches the theme when it contains any of them.")


class ThemeList(BaseModel):
    total: int
    themes: list[ThemeEntry]


class ThemeInfo(ThemeEntry):
    kind: str = Field(description="dictionary (a theme of data/themes.yaml) or query (an ad-hoc query).")


class Prominence(BaseModel):
    in_heading: bool = Field(description="A heading of the plan names the theme.")
    heading_depth: int | None = Field(description="Shallowest such heading: 0 = plan title, 1 = chapter, 2 …; null if none.")
    sections: list[list[str]] = Field(description="Section paths of the matching passages, in document order ([] = before the first heading).")


class Coverage(BaseModel):
    passages: int = Field(description="Matching passages (countable passages matching the theme's terms; see the README, \"What counts as a hit\").")
    share: float = Field(description="Characters of the matching passages / characters of the plan.")
    mentions: int = Field(description="Occurrences of the theme's terms (overlapping matches merged: one per <mark>).")
    per_10k: float = Field(description="Mentions per 10,000 characters of the plan.")


class ColumnCoverage(Coverage):
    prominence: Prominence


class ThemePassage(PassageHit):
    mentions: int = Field(description="Theme mentions in this passage.")
    most_relevant: bool = Field(description="The plan's best passage for the theme (highest score).")


class TermScore(BaseModel):
    term: str
    z: float = Field(description="z-score of the log-odds ratio (see `statistic`).")
    count: int = Field(description="Occurrences in this plan's theme passages.")
    others: int = Field(description="Occurrences in the other plans' theme passages.")


class Commitment(BaseModel):
    text: str = Field(description="A sentence with a number, frequency, duration or target.")
    passage_id: int
    anchor: str = Field(description="Its passage's stable anchor on the document page.")
    mentions_theme: bool = Field(description="The sentence itself contains a theme term.")


class Column(BaseModel):
    document: PlanFields
    status: str = Field(description="提及, or 未提及 for a selected plan with no matching passage (an explicit empty column); a theme's filters select columns, never make one 未提及.")
    coverage: ColumnCoverage
    passages: list[ThemePassage] = Field(description="Matching passages in document order (the best `per_column` when set).")
    passages_omitted: int = Field(description="Matching passages left out by `per_column` (0 when all are shown).")
    distinctive_terms: list[TermScore]
    commitments: list[Commitment]


class SharedTerm(BaseModel):
    term: str
    plans: int = Field(description="Mentioning plans whose theme passages contain the word.")
    count: int


class Comparison(BaseModel):
    theme: ThemeInfo
    filters: dict[str, str]
    documents: int = Field(description="Columns (compared plans).")
    mentioning: int = Field(description="Columns with at least one matching passage.")
    statistic: dict[str, str] = Field(description="How distinctive terms are scored.")
    shared_terms: list[SharedTerm] = Field(description="Words in the theme passages of at least half (and two) of the mentioning plans.")
    columns: list[Column]


class MatrixCell(Coverage):
    document_id: int


class MatrixRow(BaseModel):
    theme: str
    cells: list[MatrixCell] = Field(description="One per plan, in the order of `documents`; zeros explicit.")


class Matrix(BaseModel):
    themes: list[ThemeInfo]
    filters: dict[str, str]
    documents: list[PlanFields]
    rows: list[MatrixRow]


class Suggestion(BaseModel):
    text: str
    kind: str = Field(description="word (a jieba word of the index), theme (a dictionary theme) or school.")
    passages: int = Field(description="Document frequency: passages containing it (ranking key).")


class Suggestions(BaseModel):
    prefix: str
    suggestions: list[Suggestion]


class SummaryRow(Coverage):
    document: PlanFields
    status: str = Field(description="提及, or 未提及 for a selected plan with no matching passage.")
    in_heading: bool = Field(description="A heading of the plan names the theme.")
    heading_depth: int | None = Field(description="Shallowest such heading: 0 = plan title, 1 = chapter …; null if none.")


class CompareSummary(BaseModel):
    theme: ThemeInfo
    filters: dict[str, str]
    documents: int = Field(description="Selected plans (all pages).")
    mentioning: int = Field(description="Selected plans with at least one matching passage.")
    chars: int = Field(description="Characters of all the selected plans.")
    matched_chars: int = Field(description="Characters of their matching passages.")
    share: float = Field(description="The theme's share of the selection: matched_chars / chars.")
    mentions: int = Field(description="Mentions over the whole selection.")
    sort: str
    order: str
    page: int
    size: int
    pages: int
    rows: list[SummaryRow] = Field(description="One per selected plan, this page only.")
    order_ids: list[int] = Field(description="Every selected plan's id in the table's order (all pages).")
