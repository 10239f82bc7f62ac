"""Leasing on PostgreSQL: how long lease_leads takes for 10 leads of a big campaign, with numbers on hold.

    .venv/bin/python benchmarks/bench_lease.py [--leads 200000] [--held 2000] [--calls 30]

A throwaway database next to the test one (trust auth, dropped afterwards): one running
campaign of ``--leads`` ready leads, and ``--held`` of their numbers abandoned in another
campaign (the 72-hour hold is the number's, so each pick checks it). Prints p50 and the
slowest of ``--calls`` lease calls; each call leases 10 leads at a later moment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_core.db import Database  # noqa: E402
from crm_core.migrate import ensure_schema  # noqa: E402
from crm_core.services import leads as leads_service  # noqa: E402

PG_ADMIN_DSN = os.environ.get("ZVONAR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NAME = "zvonar_bench_lease"


async def run(leads: int, held: int, calls: int) -> None:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f"DROP DATABASE IF EXISTS {NAME}")
    await admin.execute(f"CREATE DATABASE {NAME}")
    await admin.close()
    db = Database(f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{NAME}")
    try:
        await ensure_schema(db)
        c = await asyncpg.connect(f"{base}/{NAME}")
        await c.execute("INSERT INTO campaigns (id, name, queue, state, mode, hours, retry_rules, pacing, hot_appeals, "
                        "created_at, updated_at) VALUES (1, 'Осенняя акция', 'campaign', 'running', 'predictive', "
                        "'{}', '{}', '{}', false, now(), now()), (2, 'Зимняя распродажа', 'campaign', 'running', "
                        "'predictive', '{}', '{}', '{}', false, now(), now())")
        await c.execute("INSERT INTO clients (id, kind, name, name_search, status, created_at, updated_at) "
                        "SELECT g, 'company', 'ООО «Клиент ' || g || '»', 'ооо клиент ' || g, 'client', now(), now() "
                        "FROM generate_series(1, $1::int) g", leads)
        await c.execute("INSERT INTO leads (campaign_id, client_id, phone_e164, state, priority, attempts, created_at, "
                        "updated_at) SELECT 1, g, '+7916' || lpad(g::text, 7, '0'), 'ready', 0, 0, now(), now() "
                        "FROM generate_series(1, $1::int) g", leads)
        step = max(1, leads // max(1, held))
        await c.execute("INSERT INTO leads (campaign_id, client_id, phone_e164, state, priority, attempts, "
                        "abandon_hold_until, created_at, updated_at) SELECT 2, g, '+7916' || lpad(g::text, 7, '0'), "
                        "'ready', 0, 1, now() + interval '48 hours', now(), now() "
                        "FROM generate_series(1, $1::int, $2::int) g LIMIT $3::int", leads, step, held)
        await c.execute("ANALYZE")
        await c.close()
        now = datetime.now(timezone.utc)
        times = []
        for i in range(calls):
            started = time.perf_counter()
            await leads_service.lease_leads(db, 1, "bench", now + timedelta(seconds=i), 10, 30, {None})
            times.append((time.perf_counter() - started) * 1000)
        print(f"lease 10 of {leads:,} ready leads, {held:,} numbers on hold: "
              f"p50 {statistics.median(times):.1f} ms, slowest {max(times):.1f} ms ({calls} calls)")
    finally:
        await db.dispose()
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f"DROP DATABASE IF EXISTS {NAME}")
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--held", type=int, default=2_000)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.leads, args.held, args.calls))


if __name__ == "__main__":
    main()
