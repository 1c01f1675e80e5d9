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
    count: int = Field(description="Matching passages in plans with this value.")


class Facets(BaseModel):
    school: list[Bucket]
    year: list[Bucket]
    region: list[Bucket]
    level: list[Bucket]


class PassageHit(BaseModel):
    id: int = Field(description="Passage id (stable until its plan is re-indexed).")
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
    warnings: list[str] | None
    passage_count: int


class DocumentList(BaseModel):
    total: int
    documents: list[DocumentSummary]


class OutlineEntry(BaseModel):
    depth: int
    title: str
    passage_id: int


class DocumentPassage(BaseModel):
    id: int
    ordinal: int
    section: list[str]
    text: str
    highlight: str | None = None
    matches: int | None = None


class DocumentDetail(DocumentSummary):
    outline: list[OutlineEntry]
    passages: list[DocumentPassage]


class Health(BaseModel):
    status: str
    schema_version: int
    documents: int
    passages: int
    index_generation: int
    loaded_at: float
