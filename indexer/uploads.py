"""The uploads folder: PLANS_HOME/uploads/<sha256>/<name>, one folder per content hash (that
path is the plan's source), staged under uploads/.incoming/ while being written.

Imported by the server too: it needs nothing of the readers.
"""

from __future__ import annotations

import shutil
from pathlib import Path



def remove_upload(source: Path, uploads: Path) -> None:
    """Delete our own copy of an uploaded file (uploads/<sha256>/<name>); other sources are the user's."""
    if uploads.resolve() in source.parents and source.parent != uploads.resolve():
        shutil.rmtree(source.parent, ignore_errors=True)


def sweep_uploads(uploads: Path, catalog_url: str) -> list[Path]:
    """Remove what a killed or failed upload left under uploads/: staging folders (.incoming/)
    and folders whose file no catalog plan has as its source. Run before uploads are served;
    the folders removed. A catalog that cannot be read leaves the folders of saved files alone."""
    removed: list[Path] = []
    if not uploads.is_dir():
        return removed
    incoming = uploads / ".incoming"
    for entry in sorted(incoming.iterdir()) if incoming.is_dir() else []:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    sources = catalogued_folders(catalog_url)
    if sources is None:
        return removed
    for folder in sorted(uploads.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        if folder.resolve() not in sources:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def catalogued_folders(catalog_url: str) -> set[Path] | None:
    """The folders of every catalog plan's source; None when the catalog cannot be read (or is not there yet)."""
    from sqlalchemy import make_url, select  # only servers with uploads on pay for SQLAlchemy's import

    url = make_url(catalog_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return None  # no catalog yet (and connecting would create one)

    from indexer.catalog import Plan, create_catalog_engine, session_scope

    engine = create_catalog_engine(catalog_url)
    try:
        with session_scope(engine) as session:
            return {Path(s).parent.resolve() for s in session.scalars(select(Plan.source))}
    except Exception:  # not readable: nothing is known to be an orphan
        return None
    finally:
        engine.dispose()


def drop_if_orphan(folder: Path, catalog_url: str) -> bool:
    """Remove one upload folder unless a catalog plan has its file (or the catalog cannot say); whether it went."""
    sources = catalogued_folders(catalog_url)
    if sources is None or folder.resolve() in sources:
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True
