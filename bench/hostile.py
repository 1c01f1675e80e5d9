"""Issue 21's hostile-upload target: every hostile file answers within 20 s, with the indexer
child (and the processes it starts) under 700 MB, against one `plans serve` on loopback.

    .venv/bin/python -m bench.hostile [--home bench/var/home-2000] [--scale 1]

The files are generated here (zip bombs, a PDF line of spaces, HTML of U+3000 or nested
elements, files of short lines or one long line, a PDF of many pages), each at the size the
issue reported and at `--scale` × 10 of it where that still fits the upload limit. Each is
uploaded once; the table gives the answer (status, error), its time, and the highest resident
memory of the child's process tree while it was handled (sampled every 20 ms from /proc).
The home is copied to a temporary folder first, so the one given is never changed. Without
`--home`, a home of the five sample plans is built. Not run in CI.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bench.loadgen import PLANS, Server
from indexer.settings import DATA_DIR

TOKEN = "bench-hostile-token"
PLAN_HEAD = "某市实验中学2025学年第一学期工作计划\n一、指导思想\n坚持立德树人。\n"


def docx_bomb(xml_bytes: int) -> bytes:
    """A .docx whose document.xml inflates to `xml_bytes` (one run of spaces, deflated ~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')
            chunk = b" " * (1 << 20)
            for _ in range(xml_bytes >> 20):
                member.write(chunk)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return buffer.getvalue()


def zip_of_many_entries(entries: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for k in range(entries):
            archive.writestr(f"customXml/item{k}.xml", "<a/>")
    return buffer.getvalue()


def pdf(pages: list[bytes]) -> bytes:
    """A minimal PDF: one deflated content stream per page, Helvetica (a standard font, not embedded)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for stream in pages:
        data = zlib.compress(stream, 9)
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>" % (len(objects)))
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(kids)
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def pdf_line(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
    return b"BT /F1 12 Tf 72 720 Td (" + escaped + b") Tj ET"


def cases(scale: int) -> Iterator[tuple[str, str, Callable[[], bytes]]]:
    """(label, file name, payload maker): the issue's sizes, then `scale` × 10 of them."""
    for factor in dict.fromkeys((1, 10 * scale)):
        yield f"docx inflating to {60 * factor} MB", "bomb.docx", lambda f=factor: docx_bomb(60 * f << 20)
        yield f"PDF line '1' + {100_000 * factor:,} spaces + 'x'", "spaces.pdf", lambda f=factor: pdf([pdf_line("1" + " " * (100_000 * f) + "x")])
        yield f"HTML of {200_000 * factor:,} U+3000", "ideographic.html", lambda f=factor: (
            "<html><body><p>" + PLAN_HEAD + "　" * (200_000 * f) + "</p></body></html>").encode()
        yield f"HTML of {10_000 * factor:,} nested div", "nested.html", lambda f=factor: (
            "<html><body>" + "<div>" * (10_000 * f) + PLAN_HEAD + "</div>" * (10_000 * f) + "</body></html>").encode()
        yield f"txt of {40_000 * factor:,} short lines", "lines.txt", lambda f=factor: (
            PLAN_HEAD + "\n".join(f"第{k}项短行" for k in range(40_000 * f))).encode()
    yield "zip of 100,000 entries", "entries.docx", lambda: zip_of_many_entries(100_000)
    yield "HTML of 1,000,000 sibling elements", "wide.html", lambda: ("<html><body>" + "<b>计划</b>" * 1_000_000 + "</body></html>").encode()
    yield "HTML of 59,000 elements (under the cap)", "elements.html", lambda: (
        "<html><body>" + "".join("<p>计划</p>" if k % 20 == 0 else "<b>计</b>" for k in range(59_000)) + "</body></html>").encode()
    yield "PDF of 3,000 pages", "pages.pdf", lambda: pdf([pdf_line(f"page {k} plan") for k in range(3000)])
    rng = random.Random(1)
    yield "txt of 499,000 random 汉字 (under the cap)", "random.txt", lambda: (
        PLAN_HEAD + "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(499_000))).encode()
    yield "txt of 55,000 numbered lines (under it)", "numbered.txt", lambda: (
        PLAN_HEAD + "\n".join(f"第{k}项短行" for k in range(55_000))).encode()
    yield "txt of 8 MB short lines", "short8mb.txt", lambda: (PLAN_HEAD + "\n".join("短行" for _ in range(1_100_000))).encode()
    yield "txt of one 19 MB line", "oneline.txt", lambda: (PLAN_HEAD + "推进课堂教学改革" * 800_000).encode()


def tree_rss_mb(root: int) -> float:
    """Memory of every process below `root` (its indexer child, the child's workers and reading
    helper), in MB: the sum of their proportional set sizes (Pss), so the pages a forked worker
    shares with the child count once, not once per process as a sum of RSS would."""
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            children = " ".join(p.read_text() for p in Path(f"/proc/{pid}/task").glob("*/children"))
            if pid != root:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                total += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0) / 1024
        except (FileNotFoundError, ProcessLookupError):
            continue
        pending.extend(map(int, children.split()))
    return total


def sample_tree(root: int, stop: threading.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], tree_rss_mb(root))
        time.sleep(0.02)


def build_sample_home(where: Path) -> Path:
    env = {"PLANS_HOME": str(where), "PATH": str(PLANS.parent)}
    subprocess.run([str(PLANS), "index", str(DATA_DIR / "corpus")], check=True, env=env, capture_output=True)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="a built PLANS_HOME to copy (default: the five sample plans)")
    parser.add_argument("--scale", type=int, default=1, help="the larger payloads are scale × 10 of the issue's sizes")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    home = scratch / "home"
    if args.home:
        shutil.copytree(args.home, home)
    else:
        build_sample_home(home)
    server = Server(home, scratch / "serve.log", token=TOKEN, warm=True)
    worst_seconds, worst_mb = 0.0, 0.0
    try:
        with httpx.Client(base_url=server.base, timeout=600, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            plans = client.get("/healthz").json().get("documents")
            print(f"home: {args.home or 'the sample plans'} ({plans} plans); server ready in {server.ready_seconds:.1f} s")
            print(f"{'file':<40} {'bytes':>11} {'answer':<34} {'seconds':>8} {'child MB':>9}")
            for label, name, make in cases(args.scale):
                data = make()
                stop, peak = threading.Event(), [tree_rss_mb(server.process.pid)]
                sampler = threading.Thread(target=sample_tree, args=(server.process.pid, stop, peak))
                sampler.start()
                started = time.perf_counter()
                response = client.post("/api/documents", files={"file": (name, data)})
                seconds = time.perf_counter() - started
                stop.set()
                sampler.join()
                answer = str(response.status_code)
                if response.status_code >= 400:
                    answer += " " + response.json().get("error", "")
                elif response.status_code in (200, 201):
                    client.delete(f"/api/documents/{response.json()['id']}")  # the next case starts from the same corpus
                worst_seconds, worst_mb = max(worst_seconds, seconds), max(worst_mb, peak[0])
                print(f"{label:<40} {len(data):>11,} {answer:<34} {seconds:>8.2f} {peak[0]:>9.0f}", flush=True)
        print(f"slowest answer {worst_seconds:.2f} s (target ≤ 20 s); child tree peak {worst_mb:.0f} MB (target < 700 MB)")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
