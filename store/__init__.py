"""The SQLite store of zgcwatch: opening, migrations, reads and writes."""

from store.db import DEFAULT_DB, StoreError, check_writable, db_path, open_store

__all__ = ["DEFAULT_DB", "StoreError", "check_writable", "db_path", "open_store"]
