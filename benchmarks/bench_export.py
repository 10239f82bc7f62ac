"""The attempts export on PostgreSQL: time and peak Python memory for a big campaign.

    .venv/bin/python benchmarks/bench_export.py [--attempts 100000]

A throwaway database next to the test one (trust auth, dropped afterwards): one campaign
with ``--attempts`` dials (one per lead, half answered with a comment, a tenth abandoned),
exported the way GET /api/campaigns/{id}/attempts.csv does, chunk by chunk. Prints the
time, the size of the file and tracemalloc's peak while exporting: with the export read a
page at a time, the peak should not grow with the campaign.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_core.db import Database  # noqa: E402
from crm_core.migrate import ensure_schema  # noqa: E402
from crm_core.models import Role  # noqa: E402
from crm_core.rights import Actor  # noqa: E402
from crm_core.services import campaigns as campaigns_service  # noqa: E402
from fresh_store import create_pg_database, drop_pg_database, pg_dsn, pg_url  # noqa: E402


async def run(attempts: int) -> None:
    name = await create_pg_database("zvonar_bench_export")
    db = Database(pg_url(name))
    try:
        await ensure_schema(db)
        c = await asyncpg.connect(pg_dsn(name))
        await c.execute("INSERT INTO campaigns (id, name, queue, state, mode, hours, retry_rules, pacing, hot_appeals, "
                        "created_at, updated_at) VALUES (1, 'Осенняя акция', 'campaign', 'stopped', 'predictive', "
                        "'{}', '{}', '{}', false, now(), now())")
        await c.execute("INSERT INTO clients (id, kind, name, name_search, status, created_at, updated_at) "
                        "SELECT g, 'company', 'ООО «Клиент ' || g || '»', 'ооо клиент ' || g, 'client', now(), now() "
                        "FROM generate_series(1, $1::int) g", attempts)
        await c.execute("INSERT INTO leads (id, campaign_id, client_id, phone_e164, state, priority, attempts, created_at, "
                        "updated_at) SELECT g, 1, g, '+7916' || lpad(g::text, 7, '0'), 'done', 0, 1, now(), now() "
                        "FROM generate_series(1, $1::int) g", attempts)
        await c.execute(
            "INSERT INTO attempts (campaign_id, lead_id, action_id, phone_e164, mode, started_at, ended_at, outcome, "
            "ring_seconds, talk_seconds, disposition_code, comment) "
            "SELECT 1, g, 'zv-bench-' || g, '+7916' || lpad(g::text, 7, '0'), 'predictive', "
            "now() - (($1::int - g) || ' seconds')::interval, now() - (($1::int - g - 60) || ' seconds')::interval, "
            "CASE WHEN g % 10 = 0 THEN 'abandoned' WHEN g % 2 = 0 THEN 'answered' ELSE 'no_answer' END, 11.5, "
            "CASE WHEN g % 2 = 0 THEN 95 END, CASE WHEN g % 2 = 0 THEN 'callback' END, "
            "CASE WHEN g % 2 = 0 THEN 'Перезвонить после обеда; ЛПР в отпуске до 15.12' END "
            "FROM generate_series(1, $1::int) g", attempts)
        await c.execute("ANALYZE")
        await c.close()
        actor = Actor(user_id=1, role=Role.admin, team_id=None, login="bench")
        tracemalloc.start()
        started = time.perf_counter()
        size = 0
        async for chunk in await campaigns_service.export_attempts_csv(db, actor, 1):
            size += len(chunk)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"export of {attempts:,} attempts: {seconds:.1f} s, {size / 1e6:.1f} MB of CSV, "
              f"peak Python memory {peak / 1e6:.1f} MB")
    finally:
        await db.dispose()
        await drop_pg_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(run(args.attempts))


if __name__ == "__main__":
    main()
