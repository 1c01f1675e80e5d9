"""The indexer's commands (index, remove, edit, reindex, worker): thin wrappers over the pipeline.

`python -m indexer` runs just these (the server keeps a `worker` running for uploads and
deletes). The `plans` console script is app/cli.py, which adds the serving commands; indexer
never imports app.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from indexer.errors import PlansError
from indexer.settings import Settings, get_settings

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Search and compare Chinese school work plans.")


def current_settings() -> Settings:
    return get_settings()


def fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@cli.command()
def index(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders; default: the sample corpus.")] = None,
    prune: Annotated[bool, typer.Option(help="Remove plans whose files under PATHS are gone.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another running indexer.")] = 0.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (for programs).")] = False,
) -> None:
    """Add new plans, replace changed ones (by content hash), skip unchanged ones."""
    from indexer.pipeline import Pipeline

    try:
        report = Pipeline(current_settings(), progress=progress and sys.stderr.isatty(), lock_wait=wait).index(paths or [], prune=prune)
    except PlansError as exc:
        fail(str(exc))
    for outcome in report.outcomes:
        if outcome.status == "failed":
            typer.secho(f"failed: {outcome.source}: {outcome.reason}", err=True, fg=typer.colors.RED)
        for warning in outcome.warnings:
            typer.secho(f"warning: {outcome.source}: {warning}", err=True, fg=typer.colors.YELLOW)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


@cli.command()
def remove(
    plan_id: Annotated[int, typer.Argument(metavar="ID", help="The plan's id (as /api/documents shows it).")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for another running indexer.")] = 0.0,
) -> None:
    """Delete one plan from the catalog and the index; exit code 1 when there is no such plan.

    An uploaded plan's file goes too; a plan from a folder comes back at the next `plans index`
    of that folder unless its file is removed (then `--prune` is the way).
    """
    from indexer.pipeline import Pipeline

    try:
        source = Pipeline(current_settings(), lock_wait=wait).remove(plan_id)
    except PlansError as exc:
        fail(str(exc))
    if source is None:
        fail(f"no plan with id {plan_id}", code=1)
    typer.echo(f"removed plan {plan_id} ({source})")


@cli.command()
def edit(
    plan_id: Annotated[int, typer.Argument(metavar="ID", help="The plan's id (as /api/documents shows it).")],
    assignments: Annotated[list[str], typer.Argument(metavar="FIELD=VALUE…", help="school, unit, level, period, year or region.")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for another running indexer.")] = 0.0,
) -> None:
    """Correct a plan's metadata where the text cannot decide (like PATCH /api/documents/ID).

    The edit is kept in the catalog: it survives re-indexing and a new file at the same path,
    and shows as source `edited`. A running server picks it up like any commit.
    """
    from indexer.pipeline import Pipeline

    fields = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals or not name.strip():
            fail(f"expected FIELD=VALUE, not {assignment!r}")
        fields[name.strip()] = value
    try:
        document = Pipeline(current_settings(), lock_wait=wait).edit(plan_id, fields)
    except PlansError as exc:
        fail(str(exc))
    if document is None:
        fail(f"no plan with id {plan_id}", code=1)
        return
    shown = ", ".join(f"{name}={document.get(name)}" for name in fields)
    typer.echo(f"edited plan {plan_id}: {shown}")


@cli.command()
def reindex(
    wait: Annotated[float, typer.Option(help="Seconds to wait for another running indexer.")] = 0.0,
) -> None:
    """Rebuild the whole index from the catalog (after a schema change)."""
    from indexer.pipeline import Pipeline

    try:
        report = Pipeline(current_settings(), progress=sys.stderr.isatty(), lock_wait=wait).reindex()
    except PlansError as exc:
        fail(str(exc))
    typer.echo(f"reindexed {len(report.outcomes)} plans")


@cli.command()
def worker() -> None:
    """Index and remove plans on request, one JSON line each on stdin and stdout, until stdin ends.

    What the server runs for uploads and deletes (see indexer/worker.py for the requests and
    answers): one process that keeps its code and jieba loaded, and reads the newest committed
    state back at each request. It takes the indexer lock per request only.
    """
    from indexer.worker import run

    raise typer.Exit(run(current_settings()))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
