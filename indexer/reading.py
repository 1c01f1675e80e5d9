"""Files -> raw text: one reader per format, chosen by the content (the extension is only a hint)."""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docx
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import PreformattedString, Script, Stylesheet, Tag, TemplateString
from charset_normalizer import from_bytes
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadWarning

from indexer.errors import ReadError

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".docx", ".pdf", ".html", ".htm"})
MAX_BYTES_DEFAULT = 20 * 1024 * 1024

_NOT_SUPPORTED = "not a text, Word, PDF or HTML file"
_NO_TEXT = "no readable text (no letters or Chinese characters)"
_HTML_MARKERS = (b"<html", b"<!doctype html", b"<body")
# last-resort guesses; without a list, charset-normalizer happily "decodes" junk as EBCDIC
_GUESSABLE = ("big5", "big5hkscs", "utf_16", "utf_32", "cp1252", "latin_1", "shift_jis", "euc_jp", "cp949")
_CONTROL_BYTES = frozenset(range(0x20)) - frozenset(b"\t\n\r\f\v\x1a\x1b") | {0x7F}


@dataclass(frozen=True)
class RawDocument:
    """The text of one file, before cleaning; `format` is "text" | "docx" | "pdf" | "html"."""

    path: Path
    text: str
    format: str
    encoding: str | None
    sha256: str


def read_document(path: Path, *, max_bytes: int = MAX_BYTES_DEFAULT) -> RawDocument:
    """Read a file from disk; every failure is a ReadError with a short reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ReadError(path, _too_big(size, max_bytes))
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(path, f"cannot open the file ({exc.strerror or type(exc).__name__})") from exc
    return _read(data, path, max_bytes)


def read_bytes(data: bytes, *, name: str, max_bytes: int = MAX_BYTES_DEFAULT) -> RawDocument:
    """Read an upload held in memory; `name` is only used as the path and the extension hint."""
    return _read(data, Path(name), max_bytes)


def _read(data: bytes, path: Path, max_bytes: int) -> RawDocument:
    """Check size, sniff the format, dispatch to its reader."""
    if not data:
        raise ReadError(path, "file is empty")
    if len(data) > max_bytes:
        raise ReadError(path, _too_big(len(data), max_bytes))
    fmt = _sniff(data, path)
    encoding: str | None = None
    if fmt == "pdf":
        text = _read_pdf(data, path)
    elif fmt == "docx":
        text = _read_docx(data, path)
    else:
        markup, encoding = _decode(data, path, html=fmt == "html")
        text = _html_text(markup) if fmt == "html" else markup
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if not any(ch.isalpha() for ch in text):
        raise ReadError(path, _NO_TEXT)
    return RawDocument(path, text, fmt, encoding, hashlib.sha256(data).hexdigest())


def _too_big(size: int, limit: int) -> str:
    """'file is 52.4 MB, over the 20 MB limit' (binary units, at most one decimal)."""

    def human(n: int) -> str:
        for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
            if n >= scale:
                return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
        return f"{n} bytes"

    return f"file is {human(size)}, over the {human(limit)} limit"


def _sniff(data: bytes, path: Path) -> str:
    """The format from magic bytes; a .docx/.pdf name whose content disagrees is an error."""
    suffix = path.suffix.lower()
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except (zipfile.BadZipFile, OSError, ValueError):
            pass
        detail = "a ZIP archive without word/document.xml"
    elif data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        detail = "legacy Office .doc/.xls format; save it as .docx"
    elif data.lstrip().startswith(b"{\\rtf"):
        detail = "RTF format; save it as .docx"
    elif not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and (
        b"\x00" in data or sum(byte in _CONTROL_BYTES for byte in data[:8192]) > len(data[:8192]) // 200
    ):
        detail = "binary data"  # NULs or many control bytes (UTF-16 with a BOM may hold NULs)
    else:
        detail = ""
    if suffix == ".docx":
        raise ReadError(path, f"not a Word .docx file ({detail or 'it looks like plain text'})")
    if suffix == ".pdf":
        raise ReadError(path, f"not a PDF file ({detail or 'no %PDF- signature'})")
    if detail:
        raise ReadError(path, f"{_NOT_SUPPORTED} ({detail})")
    head = data[:2048].lower()
    if any(marker in head for marker in _HTML_MARKERS):
        return "html"
    if suffix in {".html", ".htm"} and data.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"<"):
        return "html"
    return "text"


def _decode(data: bytes, path: Path, html: bool) -> tuple[str, str]:
    """(text, encoding): BOM, strict UTF-8, a <meta> charset, strict GB18030, then a guess."""
    boms = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    candidates = [enc for bom, enc in boms if data.startswith(bom)] + ["utf-8"]
    meta = re.search(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", data[:4096], re.I) if html else None
    if meta:
        declared = meta.group(1).decode("ascii").lower()
        candidates.append("gb18030" if declared in {"gb2312", "gbk", "x-gbk"} else declared)
    candidates.append("gb18030")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    best = from_bytes(data, cp_isolation=list(_GUESSABLE)).best()
    if best is None or best.encoding is None:
        raise ReadError(path, "cannot decode the text (unknown encoding)")
    return str(best), best.encoding


def _read_docx(data: bytes, path: Path) -> str:
    """Paragraphs and table rows in document order, one per line."""
    try:
        document = docx.Document(io.BytesIO(data))
        lines = list(_block_lines(document.iter_inner_content()))
    except Exception as exc:  # untrusted file: python-docx/lxml/zipfile raise many types
        raise ReadError(path, f"broken Word file ({_describe(exc)})") from exc
    return "\n".join(lines)


def _block_lines(blocks: Iterator[Paragraph | Table]) -> Iterator[str]:
    """A paragraph is a line; a table row is a line with its cells joined by a tab."""
    for block in blocks:
        if isinstance(block, Paragraph):
            yield block.text
            continue
        seen: set[object] = set()  # merged cells repeat the same <w:tc>: emit each once
        for row in block.rows:
            cells = []
            for cell in row.cells:
                if cell._tc not in seen:  # holding the lxml proxies keeps their identity stable
                    seen.add(cell._tc)
                    cells.append(_cell_text(cell))
            if any(cells):
                yield "\t".join(cells)


def _cell_text(cell: _Cell) -> str:
    """A cell's paragraphs and nested tables on one line."""
    return " ".join(" ".join(line.split()) for line in _block_lines(cell.iter_inner_content()) if line.strip())


def _read_pdf(data: bytes, path: Path) -> str:
    """The text layer of every page, with line-wrapping breaks re-joined."""
    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise ReadError(path, "PDF is encrypted with a password")
            pages = [page.extract_text() or "" for page in reader.pages]
        except ReadError:
            raise
        except (FileNotDecryptedError, DependencyError) as exc:
            raise ReadError(path, f"PDF is encrypted ({_describe(exc)})") from exc
        except Exception as exc:  # untrusted file: pypdf raises many types on broken input
            raise ReadError(path, f"broken PDF ({_describe(exc)})") from exc
    if not pages:
        raise ReadError(path, "broken PDF (no pages)")
    if not any(ch.isalpha() for page in pages for ch in page):
        raise ReadError(path, "PDF has no text layer (scanned image?); OCR it first")
    filled = [[line.strip() for line in page.splitlines() if line.strip()] for page in pages]
    # a line that opens or closes several pages is a running header/footer: never glue onto it
    edges = Counter(line for lines in filled if lines for line in {lines[0], lines[-1]})
    running = frozenset(line for line, count in edges.items() if count > 1)
    return "\n".join(_rejoin_wrapped_lines("\n".join(pages).replace("\x00", "").splitlines(), running))


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's warnings and log chatter about malformed files."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PdfReadWarning)
            yield
    finally:
        logger.setLevel(previous)


_SENTENCE_END = "。！？；：!?;:…"
_CLOSERS = "”’」』）)】》〉\"'"
_CN_NUM = "一二三四五六七八九十百零〇"
_ITEM_START = re.compile(
    "|".join(
        [
            rf"[{_CN_NUM}]+\s*[、.．]",  # 一、
            rf"[（(]\s*[{_CN_NUM}\d]+\s*[）)]",  # （一） (1)
            r"\d{1,3}\s*(?:[.．](?![\d.．])|[、）)])",  # 1.  1、  1)
            r"\d{1,2}(?:[.．]\d{1,2})+(?![\d%])",  # 1.1 (and 1.5亿: a kept break beats a wrong join)
            r"[①-⒛❶-❿•●○■□◆◇▪►▶]",  # ① ⑴ ⒈ and bullets
            rf"第[{_CN_NUM}\d]+[章节条部分篇、]|[{_CN_NUM}]+是",  # 第一章  一是
        ]
    )
)
_PAGE_NUMBER = re.compile(r"[-—–\s]*(?:第\s*\d+\s*页.*|\d+\s*(?:/\s*\d+)?)[-—–\s]*")
_FULL_RATIO = 0.85
_MIN_FULL_WIDTH = 30  # in half-width units: pages of short lines are left alone


def _rejoin_wrapped_lines(lines: list[str], running: frozenset[str] = frozenset()) -> list[str]:
    """Re-join lines the PDF wrapped mid-sentence: a near-full-width line without final punctuation."""
    # display width: CJK and full-width characters count 2; gapped (table-like) lines don't set "full"
    widths = [sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line.strip()) for line in lines]
    full = max((w for w, line in zip(widths, lines) if "   " not in line.strip()), default=0)
    out: list[str] = []
    wrapped = False
    for line, width in zip(lines, widths):
        stripped = line.strip()
        if stripped and out and wrapped and not _starts_block(line) and stripped not in running:
            out[-1] = _glue(out[-1], stripped)
        else:
            out.append(line.rstrip())
        ends_sentence = not stripped.rstrip(_CLOSERS) or stripped.rstrip(_CLOSERS)[-1] in _SENTENCE_END
        wrapped = full >= _MIN_FULL_WIDTH and width >= _FULL_RATIO * full and not ends_sentence
        wrapped = wrapped and stripped not in running
    return out


def _starts_block(line: str) -> bool:
    """An indented line, a numbered or bulleted item, or a page number: never a continuation."""
    stripped = line.strip()
    indented = line.startswith(("\u3000", "  ", "\t"))
    return indented or bool(_ITEM_START.match(stripped) or _PAGE_NUMBER.fullmatch(stripped))


def _glue(left: str, right: str) -> str:
    """Join a wrapped line: no space between CJK, one space between Latin words."""
    if left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum():
        return f"{left} {right}"
    return left + right


def _describe(exc: BaseException) -> str:
    """A short, one-line description of a third-party exception."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]


_DROP_TAGS = ["script", "style", "noscript", "iframe", "template", "svg", "object", "embed"]
_CHROME_WORDS = re.compile(r"nav|menu|header|footer|breadcrumb|sidebar|share|print", re.I)
_OWN_PARTS = re.compile(r"header|footer", re.I)  # an article's own header/footer holds its title, date
_BLOCK_TAGS = frozenset(
    "p div li h1 h2 h3 h4 h5 h6 tr table ul ol dl dt dd section article main header footer "
    "blockquote pre address figure figcaption hr center caption".split()
)
_SKIPPED_STRINGS = (PreformattedString, Script, Stylesheet, TemplateString)  # comments, doctype, code
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_BLOCK_END = object()


def _html_text(markup: str) -> str:
    """The main content of a page as lines, without scripts and site chrome."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    root = soup.body or soup
    total = _weight(root)
    for tag in root.find_all(_is_chrome):
        if not tag.decomposed and _weight(tag) * 2 <= total:  # heavier: a wrapper around the content
            tag.decompose()
    main = _main_content(root)
    lines = (re.sub(r"\s*\t\s*", "\t", line).strip() for line in "".join(_html_pieces(main)).split("\n"))
    return "\n".join(line for line in lines if line)


def _is_chrome(tag: Tag) -> bool:
    """Navigation, headers, footers, forms, share/print bars: by tag name, id, class or role."""
    own_part = tag.find_parent(["article", "main"]) is not None
    if tag.name in {"nav", "aside", "form"} or (tag.name in {"header", "footer"} and not own_part):
        return True
    label = " ".join(str(value) for key in ("id", "class", "role") for value in tag.get_attribute_list(key) if value)
    return bool(_CHROME_WORDS.search(_OWN_PARTS.sub("", label) if own_part else label))


def _weight(tag: Tag | BeautifulSoup) -> int:
    """How much Chinese text an element holds (letters when the page has none)."""
    text = tag.get_text()
    return len(_CJK.findall(text)) or sum(ch.isalpha() for ch in text)


def _main_content(root: Tag | BeautifulSoup) -> Tag | BeautifulSoup:
    """<article>, <main>, or the deepest element holding most of the text (not past a title)."""
    total = _weight(root)
    for name in ("article", "main"):
        candidates = [tag for tag in root.find_all(name) if _weight(tag) * 2 >= total]
        if candidates:
            return max(candidates, key=_weight)
    node = root
    while True:
        children = [child for child in node.children if isinstance(child, Tag)]
        heavy = [child for child in children if _weight(child) >= 0.8 * total]
        if len(heavy) != 1 or any(
            child is not heavy[0] and (child.name in {"h1", "h2"} or child.find(["h1", "h2"]))
            for child in children
        ):
            return node
        node = heavy[0]


def _html_pieces(node: Tag | BeautifulSoup) -> Iterator[str]:
    """Text pieces in order: block elements and <br> become newlines, table cells tabs."""
    stack: list[object] = list(reversed(list(node.children)))
    while stack:
        item = stack.pop()
        if item is _BLOCK_END or (isinstance(item, Tag) and item.name == "br"):
            yield "\n"
        elif isinstance(item, Tag):
            if item.name in _BLOCK_TAGS:
                yield "\n"
                stack.append(_BLOCK_END)
            elif item.name in {"td", "th"}:
                yield "\t"
            stack.extend(reversed(list(item.children)))
        elif isinstance(item, str) and not isinstance(item, _SKIPPED_STRINGS):
            yield re.sub(r"[ \t\n\r\f]+", " ", item)
