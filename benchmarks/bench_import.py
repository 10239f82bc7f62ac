"""Client import into PostgreSQL, end to end: rows per second for a big generated export.

    .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--encoding cp1251] [--profile]

Writes --rows demo clients (zvonar.demo_data: RU/UA/BY companies and people, numbers in
the formats people type) as a 1C-style CSV to a temporary file (not timed), creates a
fresh PostgreSQL database (dropped afterwards), then times crm_core.importer.import_clients
from reading the file to the last commit, and prints rows/s and the summary.

It also prints the CPU time each part used (this process, the pool workers, the
PostgreSQL backends serving the import) per row, and the rows/s those costs allow on
this machine's cores when nothing else runs: on a shared machine the wall-clock figure
alone says little. --profile adds a cProfile of the main process (not the workers).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import os
import pstats
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_core.db import Database  # noqa: E402
from crm_core.importer import import_clients  # noqa: E402
from crm_core.migrate import upgrade  # noqa: E402
from crm_core.models import Role  # noqa: E402
from crm_core.rights import Actor  # noqa: E402
from crm_core.services import users  # noqa: E402
from zvonar.demo_data import CSV_HEADER, csv_row, generate_clients  # noqa: E402

PG_ADMIN_DSN = os.environ.get("ZVONAR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving ``database`` (from /proc, same host)."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        pids = [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)]
    finally:
        await conn.close()
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return used


def write_csv(path: Path, rows: int, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for client in generate_clients(rows, seed=7):
            writer.writerow(csv_row(client))


async def run(path: Path, workers: int, profile: bool) -> None:
    name = f"zvonar_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    db = Database(url)
    try:
        await upgrade(db)
        team = await users.ensure_team(db, "Отдел продаж")
        boss = await users.create_user(db, login="admin", full_name="Соколова Анна Павловна", role=Role.admin,
                                       password="bench-password", team_id=team)
        actor = Actor.of(boss)
        backends_before = await backend_cpu(name)
        profiler = cProfile.Profile() if profile else None
        self_before, children_before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        data = path.read_bytes()
        summary = await import_clients(db, actor, data, path.name, default_region="RU", on_duplicate="report",
                                       workers=workers)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        main_cpu = cpu(resource.RUSAGE_SELF) - self_before
        pool_cpu = cpu(resource.RUSAGE_CHILDREN) - children_before  # the pool workers, waited for at its shutdown
        pg_cpu = sum(sec - backends_before.get(pid, 0.0) for pid, sec in (await backend_cpu(name)).items())
        rows = summary.inserted + summary.updated + len(summary.rejected)  # duplicates are among the rejected
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            counts = {t: await raw.fetchval(f"SELECT count(*) FROM {t}") for t in ("clients", "contacts", "phones")}
        print(f"file: {len(data) / 1e6:.1f} MB, {rows} data rows; fast path: {summary.fast_path}; workers: {workers}")
        print(f"import: {seconds:.2f} s  ->  {rows / seconds:,.0f} rows/s end to end")
        print(f"summary: inserted={summary.inserted} updated={summary.updated} duplicates={summary.duplicates} "
              f"rejected={len(summary.rejected)}")
        for r in summary.rejected[:5]:
            print(f"  rejected line {r.line}: {r.reason}")
        print(f"stored: {counts}")
        total = main_cpu + pool_cpu + pg_cpu
        print("CPU time (not wall): " + ", ".join(
            f"{label} {sec:.1f} s = {sec / rows * 1e6:.1f} us/row"
            for label, sec in (("main process", main_cpu), ("pool workers", pool_cpu), ("PostgreSQL backends", pg_cpu))))
        print(f"  total {total / rows * 1e6:.1f} us/row: at most {rows / (total / os.cpu_count()):,.0f} rows/s "
              f"on {os.cpu_count()} fully free cores; load average now {os.getloadavg()[0]:.1f}")
        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        await db.dispose()
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--encoding", choices=["cp1251", "utf-8"], default="cp1251")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"clients_{args.rows}.csv"
        started = time.perf_counter()
        write_csv(path, args.rows, args.encoding)
        print(f"generated {args.rows} rows in {time.perf_counter() - started:.1f} s (not timed)")
        asyncio.run(run(path, args.workers, args.profile))


if __name__ == "__main__":
    main()
