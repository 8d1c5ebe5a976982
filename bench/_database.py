"""The benches' own database: settings as in production and a fresh, migrated database beside
DATABASE_URL's, so that a bench never writes into the database it was pointed at.

Used by the benches run as scripts (``python bench/x_bench.py``: bench/ is on ``sys.path``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def bench_environment(database: str, *, sqlite: str | None = None) -> dict | None:
    """The environment a bench runs Django in: DEBUG off (it keeps every SQL query in memory),
    plain HTTP, keys generated unless given, and DATABASE_URL naming ``database`` on the
    PostgreSQL server DATABASE_URL points at. Without a PostgreSQL DATABASE_URL: the SQLite
    file ``var/bench/<sqlite>`` when the bench runs on SQLite too, else None."""
    env = dict(os.environ)
    env["VAR_DIR"] = str(ROOT / "var" / "bench")
    env["DEBUG"] = "false"
    env["SECURE_SSL_REDIRECT"] = "false"  # plain HTTP on loopback
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    env.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    env["LOG_LEVEL"] = "WARNING"
    env["DJANGO_SETTINGS_MODULE"] = "phoneprovider.settings"
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        env["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + database
    elif sqlite:
        env["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / sqlite}"
    else:
        return None
    return env


def reset_database(env: dict) -> None:
    """Drop and create the database ``env`` names (PostgreSQL) or delete its file (SQLite),
    then migrate it."""
    url = env["DATABASE_URL"]
    if url.startswith("postgres"):
        import psycopg

        server, database = url.rsplit("/", 1)
        with psycopg.connect(server + "/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {database}")
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def django_setup(env: dict) -> None:
    """Run Django in this process on the bench's database (after ``reset_database``)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
