"""The `plans` command: the indexer's commands plus serve, search, compare and matrix."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from indexer.cli import cli as indexer_cli
from indexer.cli import current_settings, fail
from indexer.errors import PlansError

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Search and compare Chinese school work plans.")
cli.registered_commands.extend(indexer_cli.registered_commands)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API and the web page; with the embedded backend, builds the index from the sample corpus when there is none."""
    import uvicorn

    from app.main import create_app
    from app.memory import limit_arenas
    from indexer.index import reader

    settings = current_settings()
    try:
        if settings.plans_search_backend == "embedded":  # a postgres server reads the database alone
            reader.open_commit(settings.index_dir)  # a corrupt newest generation: the previous one is served
    except PlansError:
        from indexer.pipeline import Pipeline  # 0.5 s of imports (readers, jieba): only when indexing

        typer.echo(f"no usable index in {settings.index_dir}: indexing {settings.plans_corpus} first")
        try:
            Pipeline(settings, progress=sys.stderr.isatty(), lock_wait=60).index([])
            reader.open_commit(settings.index_dir)
        except PlansError as exc:
            fail(str(exc))
    limit_arenas()
    typer.echo(f"serving on http://{host}:{port}/")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@cli.command()
def search(
    query: Annotated[str, typer.Argument(help="A query in the query language (see the README).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    size: Annotated[int, typer.Option(help="Plans to show.")] = 10,
    per_group: Annotated[int, typer.Option(help="Passages per plan (0: all).")] = 3,
    fmt: Annotated[Optional[str], typer.Option("--format", help="Every matching passage as table, csv, xlsx or json (the API's export renderers).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="With --format: write to this file (xlsx default: its download name).")] = None,
    match: Annotated[str, typer.Option(help="exact, or loose (punctuation and spaces ignored).")] = "exact",
) -> None:
    """Search from the command line, grouped by plan."""
    from app.search import SearchRequest
    from app.search import search as run_search

    if match not in ("exact", "loose"):
        fail("--match must be exact or loose")
    request = SearchRequest(q=query, size=size, per_group=per_group, match=match)
    with _searcher() as searcher:
        if fmt is not None:
            _export_search(searcher, request, fmt, output)
            return
        result = run_search(searcher, request)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{result['query']['description']}: {result['total']} passages in {result['documents']} plans")
    for group in result["groups"]:
        typer.secho(f"\n{group['title']}  ({group['region'] or '—'}, {group['hits']} hits)", bold=True)
        for passage in group["passages"]:
            section = " > ".join(passage["section"])
            text = passage["text"].replace("\n", " ")
            typer.echo(f"  [{section}] {text[:120]}{'…' if len(text) > 120 else ''}")


def _export_search(snapshot: Any, request: Any, fmt: str, output: Path | None) -> None:
    """Every matching passage through the renderer called `fmt` (see app/render.py)."""
    from app.export import file_names
    from app.render import RENDERERS
    from app.search_export import search_table

    if fmt not in RENDERERS:
        fail(f"--format must be one of {', '.join(RENDERERS)}")
    chosen = RENDERERS[fmt]
    table = search_table(snapshot, request)
    if fmt == "xlsx":
        output = output or Path(file_names("search", request.q, "xlsx")[1])
    if output is None:
        for chunk in chosen.render(table):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        return
    with output.open("wb") as sink:
        for chunk in chosen.render(table):
            sink.write(chunk)
    typer.echo(f"wrote {output}", err=True)


def _write_export(kind: str, label: str, fmt: str, result: dict[str, Any], output: Path | None) -> None:
    """JSON or a table to stdout; CSV to stdout or --output; XLSX to --output or its download name."""
    from app import export

    if fmt == "json":
        data = json.dumps(result, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    elif fmt == "table":
        data = (export.compare_table(result) if kind == "compare" else export.matrix_table(result)).encode("utf-8")
    elif fmt == "csv":
        rows = export.compare_rows(result) if kind == "compare" else export.matrix_rows(result)
        data = export.to_csv(export.COMPARE_HEADER if kind == "compare" else export.MATRIX_HEADER, rows)
    else:
        from app.compare_export import compare_workbook, matrix_workbook

        data = compare_workbook(result) if kind == "compare" else matrix_workbook(result)
        output = output or Path(export.file_names(kind, label, "xlsx")[1])
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    typer.echo(f"wrote {output}", err=True)


Formats = Annotated[str, typer.Option("--format", help="table, csv, xlsx or json.")]
Output = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file (xlsx default: its download name).")]
DocumentIds = Annotated[Optional[str], typer.Option("--documents", help="Plan ids, comma-separated, in column order.")]


@cli.command()
def compare(
    theme: Annotated[str, typer.Argument(help="A theme of the dictionary (plans themes) or a query.")],
    documents: DocumentIds = None,
    fmt: Formats = "table",
    output: Output = None,
) -> None:
    """How each plan treats one theme: coverage, passages, distinctive terms, commitments."""
    from app.compare import compare as run_compare

    _check_format(fmt)
    chosen, result = _theme_result(lambda book: book.resolve(theme), run_compare, documents)
    _write_export("compare", chosen.name, fmt, result, output)


@cli.command()
def matrix(
    themes: Annotated[Optional[str], typer.Option("--themes", help="Themes or queries, comma-separated; default: all.")] = None,
    documents: DocumentIds = None,
    fmt: Formats = "table",
    output: Output = None,
) -> None:
    """Mentions of every theme (rows) in every plan (columns)."""
    from app.compare import matrix as run_matrix

    _check_format(fmt)
    chosen, result = _theme_result(lambda book: book.resolve_list(themes), run_matrix, documents)
    _write_export("matrix", "_".join(t.name for t in chosen) if themes else "", fmt, result, output)


def _theme_result(choose: Any, run: Any, documents: str | None) -> tuple[Any, dict[str, Any]]:
    """Resolve the theme(s) in the dictionary and run compare or matrix on the current index."""
    from app.selection import parse_documents
    from app.themes import load_themes

    settings = current_settings()
    with _searcher() as searcher:
        chosen = choose(load_themes(settings.plans_themes))
        return chosen, run(searcher, chosen, parse_documents(documents))


@contextmanager
def _searcher() -> Iterator[Any]:
    """The current searcher of the backend PLANS_SEARCH_BACKEND names, as the server opens it
    (without its reopen thread); a plans error or an unreachable database is a one-line error."""
    from app.main import searcher_holder
    from app.pg_search import DatabaseUnavailable

    holder = None
    try:
        holder = searcher_holder(current_settings().model_copy(update={"plans_reload_interval": -1}))
        yield holder.current()
    except (PlansError, DatabaseUnavailable) as exc:
        fail(str(exc))
    finally:
        if holder is not None:
            holder.close()


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "csv", "xlsx", "json"):
        fail(f"--format must be table, csv, xlsx or json, not {fmt!r}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
