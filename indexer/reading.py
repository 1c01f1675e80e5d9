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
# Budgets of the readers: a file past one is refused (ReadError, a 422 on upload) naming the limit.
MAX_ZIP_ENTRIES = 2000
MAX_ZIP_BYTES = 200 * 1024 * 1024  # all members, decompressed
MAX_DOCX_XML_BYTES = 32 * 1024 * 1024  # the XML parts python-docx parses, decompressed
MAX_HTML_ELEMENTS = 60_000  # reading time grows with the elements; a long plan's page has a few thousand
MAX_HTML_DEPTH = 512
MAX_PDF_PAGES = 2000
MAX_PDF_PAGE_CHARS = 200_000
MAX_TEXT_CHARS = 500_000  # characters of text (spaces apart) one file may hold: ~250 dense pages, 50x a long plan
# a file with at most this share of undecodable bytes is read with them replaced (and a warning)
_MAX_BAD_BYTE_SHARE = 0.001

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
    warnings: tuple[str, ...] = ()


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
    warned: tuple[str, ...] = ()
    if fmt == "pdf":
        text = _read_pdf(data, path)
    elif fmt == "docx":
        text = _read_docx(data, path)
    else:
        markup, encoding, bad = _decode(data, path, html=fmt == "html")
        if bad:
            warned = (f"{bad} undecodable byte sequence(s) replaced by \ufffd ({encoding})",)
        text = _html_text(markup, path) if fmt == "html" else markup
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    _check_text_budget(sum(map(len, text.split())), path)
    if not any(ch.isalpha() for ch in text):
        raise ReadError(path, _NO_TEXT)
    return RawDocument(path, text, fmt, encoding, hashlib.sha256(data).hexdigest(), warned)


def _check_text_budget(chars: int, path: Path) -> None:
    """Refuse a file past MAX_TEXT_CHARS characters of text: what indexing costs grows with them."""
    if chars > MAX_TEXT_CHARS:
        raise ReadError(path, f"file holds over {MAX_TEXT_CHARS:,} characters of text (MAX_TEXT_CHARS): "
                              "split it into several files")


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


def _decode(data: bytes, path: Path, html: bool) -> tuple[str, str, int]:
    """(text, encoding, bad sequences): BOM, strict UTF-8, a <meta> charset, UTF-8 with a few bad
    bytes, strict GB18030, GB18030 with a few bad bytes, then a guess."""
    boms = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    candidates = [enc for bom, enc in boms if data.startswith(bom)] + ["utf-8"]
    meta = re.search(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", data[:4096], re.I) if html else None
    if meta:
        declared = meta.group(1).decode("ascii").lower()
        candidates.append("gb18030" if declared in {"gb2312", "gbk", "x-gbk"} else declared)
    for encoding in [*candidates, "utf-8~", "gb18030", "gb18030~"]:
        if encoding.endswith("~"):
            lenient = _decode_lenient(data, encoding[:-1])
            if lenient is not None:
                return lenient
            continue
        try:
            return data.decode(encoding), encoding, 0
        except (UnicodeDecodeError, LookupError):
            continue
    best = from_bytes(data, cp_isolation=list(_GUESSABLE)).best()
    if best is None or best.encoding is None:
        raise ReadError(path, "cannot decode the text (unknown encoding)")
    return str(best), best.encoding, 0


def _decode_lenient(data: bytes, encoding: str) -> tuple[str, str, int] | None:
    """The text with its few bad sequences replaced, or None when they are more than a few."""
    text = data.decode(encoding, errors="replace")
    bad = text.count("\ufffd") - data.decode(encoding, errors="ignore").count("\ufffd")
    decoded = sum(not ch.isascii() for ch in text) - bad  # a few bad bytes among many good characters
    few = bad <= max(8, int(len(text) * _MAX_BAD_BYTE_SHARE)) and decoded >= 20 * bad
    return (text, encoding, bad) if few else None


def _read_docx(data: bytes, path: Path) -> str:
    """Paragraphs and table rows in document order, one per line."""
    _check_zip_budget(data, path)
    try:
        document = docx.Document(io.BytesIO(data))
        lines = list(_block_lines(document.iter_inner_content()))
    except Exception as exc:  # untrusted file: python-docx/lxml/zipfile raise many types
        raise ReadError(path, f"broken Word file ({_describe(exc)})") from exc
    return "\n".join(lines)


def _check_zip_budget(data: bytes, path: Path) -> None:
    """Refuse a zip bomb before anything inflates it (zipfile enforces the declared sizes)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReadError(path, f"broken Word file ({_describe(exc)})") from exc
    if len(members) > MAX_ZIP_ENTRIES:
        raise ReadError(path, f"Word file has {len(members)} parts, over the limit of {MAX_ZIP_ENTRIES} (MAX_ZIP_ENTRIES)")
    total = sum(member.file_size for member in members)
    if total > MAX_ZIP_BYTES:
        raise ReadError(path, f"Word file inflates to {_too_big(total, MAX_ZIP_BYTES).removeprefix('file is ')} "
                              "decompressed (MAX_ZIP_BYTES)")
    xml = sum(m.file_size for m in members if m.filename.lower().endswith((".xml", ".rels")))
    if xml > MAX_DOCX_XML_BYTES:
        raise ReadError(path, f"Word file holds {_too_big(xml, MAX_DOCX_XML_BYTES).removeprefix('file is ')} "
                              "of XML decompressed (MAX_DOCX_XML_BYTES)")


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
            if len(reader.pages) > MAX_PDF_PAGES:
                raise ReadError(path, f"PDF has {len(reader.pages)} pages, over the limit of {MAX_PDF_PAGES} (MAX_PDF_PAGES)")
            pages, chars = [], 0
            for number, page in enumerate(reader.pages, 1):
                pages.append(page.extract_text() or "")
                if len(pages[-1]) > MAX_PDF_PAGE_CHARS:
                    raise ReadError(path, f"PDF page {number} holds {len(pages[-1]):,} characters, over the limit "
                                          f"of {MAX_PDF_PAGE_CHARS:,} per page (MAX_PDF_PAGE_CHARS)")
                chars += sum(map(len, pages[-1].split()))
                _check_text_budget(chars, path)  # before reading the pages that follow
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
# applied to a line stripped of _PAGE_DASHES: no two adjacent quantifiers share characters (linear)
_PAGE_NUMBER = re.compile(r"第\s*\d+\s*页.*|\d+(?:\s*/\s*\d+)?")
_PAGE_DASHES = "-—–" + "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_FULL_RATIO = 0.85
_MIN_FULL_WIDTH = 30  # in half-width units: pages of short lines are left alone


def _rejoin_wrapped_lines(lines: list[str], running: frozenset[str] = frozenset()) -> list[str]:
    """Re-join lines the PDF wrapped mid-sentence: a near-full-width line without final punctuation."""
    # display width: CJK and full-width characters count 2; gapped (table-like) lines don't set "full"
    widths = [sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line.strip()) for line in lines]
    full = max((w for w, line in zip(widths, lines) if "   " not in line.strip()), default=0)
    out: list[list[str]] = []  # each output line as its glued pieces: no re-copy of a growing line
    wrapped = False
    for line, width in zip(lines, widths):
        stripped = line.strip()
        if stripped and out and wrapped and not _starts_block(line) and stripped not in running:
            out[-1].append(_glue(out[-1][-1], stripped))
        else:
            out.append([line.rstrip()])
        ends_sentence = not stripped.rstrip(_CLOSERS) or stripped.rstrip(_CLOSERS)[-1] in _SENTENCE_END
        wrapped = full >= _MIN_FULL_WIDTH and width >= _FULL_RATIO * full and not ends_sentence
        wrapped = wrapped and stripped not in running
    return ["".join(pieces) for pieces in out]


def _starts_block(line: str) -> bool:
    """An indented line, a numbered or bulleted item, or a page number: never a continuation."""
    stripped = line.strip()
    indented = line.startswith(("\u3000", "  ", "\t"))
    return indented or bool(_ITEM_START.match(stripped) or _PAGE_NUMBER.fullmatch(stripped.strip(_PAGE_DASHES)))


def _glue(left: str, right: str) -> str:
    """The piece to append after `left` for a wrapped line: a space only between Latin words."""
    if left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum():
        return f" {right}"
    return right


def _describe(exc: BaseException) -> str:
    """A short, one-line description of a third-party exception."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]


_DROP_TAGS = ["script", "style", "noscript", "iframe", "template", "svg", "object", "embed"]
_CHROME_WORDS = re.compile(r"nav|menu|header|footer|breadcrumb|sidebar|share|print|related|recommend|pager|prevnext", re.I)
_RELATED_CAPTION = re.compile(r"^\s*[【\[]?(?:相关文章|相关阅读|推荐阅读|相关链接|相关新闻|热门文章|猜你喜欢)[】\]]?\s*[:：]?\s*$")
_TABS = re.compile(r"\t+")
_OWN_PARTS = re.compile(r"header|footer", re.I)  # an article's own header/footer holds its title, date
_BLOCK_TAGS = frozenset(
    "p div li h1 h2 h3 h4 h5 h6 tr table ul ol dl dt dd section article main header footer "
    "blockquote pre address figure figcaption hr center caption".split()
)
_SKIPPED_STRINGS = (PreformattedString, Script, Stylesheet, TemplateString)  # comments, doctype, code
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_BLOCK_END = object()


def _html_text(markup: str, path: Path) -> str:
    """The main content of a page as lines, without scripts and site chrome."""
    if markup.count("<") > 2 * MAX_HTML_ELEMENTS:  # before parsing: a tag opens and closes
        raise ReadError(path, f"page has over {MAX_HTML_ELEMENTS:,} elements (MAX_HTML_ELEMENTS)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "html.parser")
    _check_tree_budget(soup, path)
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    root = soup.body or soup
    weights = _weights(root)
    total = weights[id(root)]
    for tag in _chrome_tags(root):
        if weights.get(id(tag), 0) * 2 <= total:  # heavier: a wrapper around the content
            tag.decompose()
    _drop_related_lists(root, total)
    main = _main_content(root, _weights(root))
    lines = (_tidy_cells(line) for line in "".join(_html_pieces(main)).split("\n"))
    return "\n".join(line for line in lines if line)


def _tidy_cells(line: str) -> str:
    """Spaces around table-cell tabs out, runs of tabs as one (split and strip: linear)."""
    return _TABS.sub("\t", "\t".join(part.strip() for part in line.split("\t"))).strip()


def _check_tree_budget(soup: BeautifulSoup, path: Path) -> None:
    """Refuse pages past MAX_HTML_ELEMENTS elements or MAX_HTML_DEPTH levels of nesting."""
    count = 0
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        tag, depth = stack.pop()
        count += 1
        if count > MAX_HTML_ELEMENTS:
            raise ReadError(path, f"page has over {MAX_HTML_ELEMENTS:,} elements (MAX_HTML_ELEMENTS)")
        if depth > MAX_HTML_DEPTH:
            raise ReadError(path, f"page nests elements over {MAX_HTML_DEPTH} deep (MAX_HTML_DEPTH)")
        stack.extend((child, depth + 1) for child in tag.children if isinstance(child, Tag))


def _weights(root: Tag | BeautifulSoup) -> dict[int, int]:
    """{id(tag): how much Chinese text it holds (letters when the page has none)}, in one pass."""
    order: list[Tag] = []
    stack: list[Tag] = [root]
    while stack:
        tag = stack.pop()
        order.append(tag)
        stack.extend(child for child in tag.children if isinstance(child, Tag))
    cjk: dict[int, int] = {}
    alpha: dict[int, int] = {}
    for tag in reversed(order):  # children before their parents
        own = [child for child in tag.children if isinstance(child, str) and not isinstance(child, _SKIPPED_STRINGS)]
        kids = [child for child in tag.children if isinstance(child, Tag)]
        cjk[id(tag)] = sum(len(_CJK.findall(text)) for text in own) + sum(cjk[id(kid)] for kid in kids)
        alpha[id(tag)] = sum(sum(ch.isalpha() for ch in text) for text in own) + sum(alpha[id(kid)] for kid in kids)
    use_cjk = cjk[id(root)] > 0
    return cjk if use_cjk else alpha


def _chrome_tags(root: Tag | BeautifulSoup) -> Iterator[Tag]:
    """Navigation, headers, footers, forms, share/print bars, outermost first (a top-down walk)."""
    stack: list[tuple[Tag, bool]] = [(child, False) for child in reversed(list(root.children)) if isinstance(child, Tag)]
    while stack:
        tag, own_part = stack.pop()
        if _is_chrome(tag, own_part):
            yield tag
            if tag.decomposed:
                continue
        inside = own_part or tag.name in {"article", "main"}
        stack.extend((child, inside) for child in reversed(list(tag.children)) if isinstance(child, Tag))


def _is_chrome(tag: Tag, own_part: bool) -> bool:
    """By tag name, id, class or role; `own_part`: inside an <article> or <main>."""
    if tag.name in {"nav", "aside", "form"} or (tag.name in {"header", "footer"} and not own_part):
        return True
    label = " ".join(str(value) for key in ("id", "class", "role") for value in tag.get_attribute_list(key) if value)
    return bool(_CHROME_WORDS.search(_OWN_PARTS.sub("", label) if own_part else label))


def _drop_related_lists(root: Tag | BeautifulSoup, total: int) -> None:
    """A 相关文章 / 推荐阅读 box: the largest light element around its caption, or the caption and its list."""
    weights = _weights(root)
    for caption in list(root.find_all(string=_RELATED_CAPTION)):
        node = getattr(caption, "parent", None)  # None once an earlier box took it along
        if node is None or node.decomposed:
            continue
        while node.parent is not None and node.parent is not root and weights.get(id(node.parent), 0) * 10 <= total * 3:
            node = node.parent
        for sibling in list(node.find_next_siblings(["ul", "ol", "dl"]))[:1]:
            if weights.get(id(sibling), 0) * 10 <= total * 3:
                sibling.decompose()
        node.decompose()


def _main_content(root: Tag | BeautifulSoup, weights: dict[int, int]) -> Tag | BeautifulSoup:
    """<article>, <main>, or the deepest element holding most of the text (not past a title)."""
    total = weights[id(root)]
    for name in ("article", "main"):
        candidates = [tag for tag in root.find_all(name) if weights[id(tag)] * 2 >= total]
        if candidates:
            return max(candidates, key=lambda tag: weights[id(tag)])
    node = root
    while True:
        children = [child for child in node.children if isinstance(child, Tag)]
        heavy = [child for child in children if weights[id(child)] >= 0.8 * total]
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
