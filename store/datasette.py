"""Serve the store with Datasette: metadata for the served file, canned queries, a month facet.

`python -m store serve` (and `make serve`) opens and migrates the store, indexes any rows
still queued for search, writes the repo's metadata (store/metadata.yml) re-keyed to the
served file's name, and runs, for data/zgcwatch.db on the default port::

    datasette serve data/zgcwatch.db --host 127.0.0.1 --port 8001 \\
        --metadata store/metadata.yml --template-dir store/templates \\
        --static zgcwatch-assets:store/static --setting sql_time_limit_ms 3000 \\
        --setting facet_time_limit_ms 1000 --setting truncate_cells_html 400

That plain command works as is for a file named zgcwatch.db. Datasette keys metadata by
database name (the file's stem), so for any other file generate the metadata first::

    python -m store metadata --db data/demo.db > demo-metadata.json
    datasette serve data/demo.db --metadata demo-metadata.json ...

Never add `-i` (immutable): the crawler keeps writing, and WAL lets Datasette read
meanwhile. Datasette opens the file read-only and no canned query writes.

This module is also a Datasette plugin (entry point `zgcwatch`): it adds a `month` facet
(`?_facet_month=published`), which groups ISO dates by their first seven characters, and
gives the templates of store/templates/ (the stories list, the article page) what they show
of each story (store/pages.py) and the style sheet of store/static/.
"""

import json
import logging
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from store import pages

logger = logging.getLogger(__name__)

METADATA_FILE = Path(__file__).with_name("metadata.yml")
METADATA_KEY = "zgcwatch"  # the database name metadata.yml is written for
SETTINGS = {"sql_time_limit_ms": 3000, "facet_time_limit_ms": 1000, "truncate_cells_html": 400}
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001


def load_metadata(path=METADATA_FILE):
    """The repo's Datasette metadata as a dict, keyed by the name "zgcwatch"."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def database_name(db_file):
    """The name Datasette gives the database in `db_file`: the file's stem."""
    return Path(db_file).stem


def metadata_for(db_file, path=METADATA_FILE):
    """The metadata with its database section keyed by the name of `db_file`."""
    metadata = load_metadata(path)
    section = metadata["databases"].pop(METADATA_KEY)
    metadata["databases"][database_name(db_file)] = section
    return metadata


def canned_queries(path=METADATA_FILE):
    """The canned queries, {name: sql}, in the order the metadata lists them."""
    queries = load_metadata(path)["databases"][METADATA_KEY]["queries"]
    return {name: query["sql"] for name, query in queries.items()}


def run_query(db, name, params=None):
    """Run one canned query on an open sqlite_utils Database; return its rows as dicts."""
    return list(db.query(canned_queries()[name], params or {}))


def make_datasette(db_file, **kwargs):
    """A Datasette instance on `db_file` configured as `serve` runs it (for tests)."""
    from datasette.app import Datasette

    return Datasette(
        [str(db_file)],
        metadata=metadata_for(db_file),
        settings={**SETTINGS, **kwargs.pop("settings", {})},
        template_dir=str(pages.TEMPLATES),
        static_mounts=[(pages.STATIC_MOUNT, str(pages.STATIC))],
        **kwargs,
    )


def datasette_command(db_file, metadata_file, host=DEFAULT_HOST, port=DEFAULT_PORT):
    """The `datasette serve` command line for the store (without `-i`: it keeps changing)."""
    command = [sys.executable, "-m", "datasette", "serve", str(db_file),
               "--host", host, "--port", str(port), "--metadata", str(metadata_file),
               "--template-dir", str(pages.TEMPLATES),
               "--static", f"{pages.STATIC_MOUNT}:{pages.STATIC}"]
    for name, value in SETTINGS.items():
        command += ["--setting", name, str(value)]
    return command


def serve(db_file, host=DEFAULT_HOST, port=DEFAULT_PORT, extra_args=()):
    """Run Datasette on the (already migrated) store until it stops; return its exit code."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("serving %s on %s: reachable from other machines", db_file, host)
    with tempfile.TemporaryDirectory(prefix="zgcwatch-") as tmp:
        metadata_file = Path(tmp) / f"{database_name(db_file)}-metadata.json"
        metadata_file.write_text(json.dumps(metadata_for(db_file), ensure_ascii=False),
                                 encoding="utf-8")
        command = datasette_command(db_file, metadata_file, host, port) + list(extra_args)
        base = f"http://{host}:{port}/{database_name(db_file)}"
        print(f"zgcwatch: serving {db_file}: stories at {base}/stories, "
              f"Atom feed at {base}/feed.atom", file=sys.stderr, flush=True)
        child = subprocess.Popen(command)
        stopped = []

        def stop(signum, frame):
            stopped.append(signum)  # a stopped `serve` must not leave Datasette running
            child.terminate()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            code = child.wait()
        except KeyboardInterrupt:  # Ctrl-C reached Datasette too: let it shut down
            stopped.append(signal.SIGINT)
            try:
                code = child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.terminate()
                code = child.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
    # uvicorn ends by re-raising the signal it was stopped with: a stop asked for is no error
    return 0 if stopped and code in (0, -signal.SIGTERM, -signal.SIGINT) else code


class MonthFacet(Facet):
    """Facet an ISO 8601 date column by month: `?_facet_month=published` or `month: col`."""

    type = "month"

    async def suggest(self):
        return []

    async def facet_results(self):
        results, timed_out = [], []
        args = dict(self.get_querystring_pairs())
        facet_size = self.get_facet_size()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            sql = f"""
                select substr({escape_sqlite(column)}, 1, 7) as value, count(*) as count
                from ({self.sql})
                where {escape_sqlite(column)} glob '[0-9][0-9][0-9][0-9]-[0-1][0-9]*'
                group by value order by value desc limit {facet_size + 1}
            """
            try:
                rows = await self.ds.execute(
                    self.database, sql, self.params, truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )
            except QueryInterrupted:
                timed_out.append(column)
                continue
            key = f"{column}__startswith"
            values = []
            for row in rows.rows[:facet_size]:
                selected = args.get(key) == row["value"]
                toggle = (path_with_removed_args(self.request, {key: row["value"]}) if selected
                          else path_with_added_args(self.request, {key: row["value"]}))
                values.append({
                    "value": row["value"],
                    "label": row["value"],
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, toggle),
                    "selected": selected,
                })
            results.append({
                "name": column,
                "type": self.type,
                "results": values,
                "hideable": source_and_config["source"] != "metadata",
                "toggle_url": path_with_removed_args(self.request, {"_facet_month": column}),
                "truncated": len(rows) > facet_size,
            })
        return results, timed_out


@hookimpl
def register_facet_classes():
    """Datasette hook: the month facet."""
    return [MonthFacet]


@hookimpl
def extra_css_urls(datasette):
    """Datasette hook: the reader pages' style sheet, when its folder is mounted."""
    if any(mount == pages.STATIC_MOUNT for mount, _ in datasette.static_mounts):
        return [datasette.urls.path(f"/{pages.STATIC_MOUNT}/zgcwatch.css")]
    return []


@hookimpl
def extra_template_vars(view_name, database, table, datasette):
    """Datasette hook: `zgc_story(row)` for the stories list and the article page."""
    if view_name not in ("table", "row") or table not in ("stories", "articles"):
        return {}

    async def story_vars():
        try:
            result = await datasette.execute(database, pages.COPIES_SQL)
        except (QueryInterrupted, sqlite3.Error):  # not a zgcwatch store: pages stay plain
            return {}
        copies = {row[0]: row[1] for row in result.rows}
        return {"zgc_story": lambda row: pages.story(row, copies)}

    return story_vars


def register_plugin():
    """Register this module with Datasette when its entry point was not installed."""
    from datasette.plugins import pm

    module = sys.modules[__name__]
    if not pm.is_registered(module):
        pm.register(module, name="zgcwatch")
