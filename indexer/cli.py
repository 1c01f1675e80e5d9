"""The `plans` command: thin wrappers over the pipeline, the search functions and the server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from indexer.errors import PlansError
from indexer.settings import Settings, get_settings

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Search and compare Chinese school work plans.")


def _settings() -> Settings:
    return get_settings()


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@cli.command()
def index(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders; default: the sample corpus.")] = None,
    prune: Annotated[bool, typer.Option(help="Remove plans whose files under PATHS are gone.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another running indexer.")] = 0.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Add new plans, replace changed ones (by content hash), skip unchanged ones."""
    from indexer.pipeline import Pipeline

    try:
        report = Pipeline(_settings(), progress=progress and sys.stderr.isatty(), lock_wait=wait).index(paths or [], prune=prune)
    except PlansError as exc:
        _fail(str(exc))
    for outcome in report.outcomes:
        if outcome.status == "failed":
            typer.secho(f"failed: {outcome.source}: {outcome.reason}", err=True, fg=typer.colors.RED)
        for warning in outcome.warnings:
            typer.secho(f"warning: {outcome.source}: {warning}", err=True, fg=typer.colors.YELLOW)
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


@cli.command()
def reindex(
    wait: Annotated[float, typer.Option(help="Seconds to wait for another running indexer.")] = 0.0,
) -> None:
    """Rebuild the whole index from the catalog (after a schema change)."""
    from indexer.pipeline import Pipeline

    try:
        report = Pipeline(_settings(), progress=sys.stderr.isatty(), lock_wait=wait).reindex()
    except PlansError as exc:
        _fail(str(exc))
    typer.echo(f"reindexed {len(report.outcomes)} plans")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API and the web page; builds the index from the sample corpus when there is none."""
    import uvicorn

    from app.main import create_app
    from indexer import store
    from indexer.pipeline import Pipeline

    settings = _settings()
    try:
        store.open_index(settings.index_dir)
    except PlansError:
        typer.echo(f"no usable index in {settings.index_dir}: indexing {settings.plans_corpus} first")
        try:
            Pipeline(settings, progress=sys.stderr.isatty(), lock_wait=60).index([])
            store.open_index(settings.index_dir)
        except PlansError as exc:
            _fail(str(exc))
    typer.echo(f"serving on http://{host}:{port}/")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@cli.command()
def search(
    query: Annotated[str, typer.Argument(help="A query in the query language (see the README).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    size: Annotated[int, typer.Option(help="Plans to show.")] = 10,
    per_group: Annotated[int, typer.Option(help="Passages per plan (0: all).")] = 3,
) -> None:
    """Search from the command line, grouped by plan."""
    from app.search import SearchRequest
    from app.search import search as run_search
    from app.snapshot import Snapshot

    try:
        result = run_search(Snapshot(_settings().index_dir), SearchRequest(q=query, size=size, per_group=per_group))
    except PlansError as exc:
        _fail(str(exc))
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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
