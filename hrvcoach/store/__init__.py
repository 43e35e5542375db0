"""The session store: one SQLite file per data folder (the only package that imports sqlite3)."""
