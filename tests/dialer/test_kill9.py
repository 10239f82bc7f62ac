"""kill -9 of the dialer mid-campaign, on PostgreSQL: no lead lost, none dialled twice, lost calls not redialled at once.

The dialer runs as it does in production, a ``zvonar serve`` process (API, bridge and
dialer) against Asterisk's AMI, here the PBX simulator of this test. The first process is
killed with SIGKILL while calls are in flight; a second one starts, recovers what the
first left ``dialing`` (its process is gone: recovered at once, outcome ``lost``, the lead
rescheduled an hour later) and finishes the campaign. The simulator's own record of the
client legs it rang is checked against the attempts table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour
from crm_core.db import Database
from crm_core.models import Attempt
from tests.dialer.runner_rig import (
    attempts_of,
    campaign_queue,
    leads_of,
    make_campaign,
    settled,
    sim_config,
    start_sim,
    utcnow,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
ALL_DAY = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}


def _clients() -> dict[str, ClientBehaviour]:
    out = {}
    for i in range(24):
        number = f"7916333{i:04d}"
        kind = i % 6
        if kind in (0, 1, 2):
            out[number] = ClientBehaviour("answer", ring_seconds=1.0 + kind, talk_seconds=10.0)
        elif kind == 3:
            out[number] = ClientBehaviour("busy", ring_seconds=2.0)
        else:
            out[number] = ClientBehaviour("no_answer")
    return out


def _dialer_process(db: Database, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(log.parent),
        "ZVONAR_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "ZVONAR_AMI__HOST": "127.0.0.1", "ZVONAR_AMI__PORT": str(port),
        "ZVONAR_AMI__USERNAME": "zvonar", "ZVONAR_AMI__SECRET": "zvonar",
        "ZVONAR_HTTP__HOST": "127.0.0.1", "ZVONAR_HTTP__PORT": "0",
        "ZVONAR_DIALER__TICK_SECONDS": "0.1", "ZVONAR_DIALER__LEASE_SECONDS": "5",
        "ZVONAR_VAR_DIR": str(log.parent),
    }
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "zvonar.cli", "serve"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


async def _open_attempts(db: Database) -> tuple[int, int]:
    async with db.reading() as s:
        rows = list((await s.execute(select(Attempt.outcome))).scalars())
    return len(rows), sum(1 for o in rows if o is None)


async def test_kill_9_mid_campaign_loses_no_lead_and_dials_none_twice(pg_db: Database, tmp_path: Path) -> None:
    db = pg_db
    clients = _clients()
    agents = {ext: AgentBehaviour(answer_after=0.3, talk_seconds=None) for ext in ("101", "102", "103")}
    config = sim_config(clients, agents, time_scale=0.1)
    # A one-second wrap-up the bridge reads from the member's Wrapuptime (wall-clock there).
    sim, record = await start_sim(replace(config, queues=campaign_queue(wrapup=1.0)))
    first = second = None
    try:
        setup = await make_campaign(db, mode="predictive", hours=ALL_DAY, endpoints=("101", "102", "103"), script=False,
                                    clients=[(f"ООО «Абонент {n[-2:]}»", "+" + n, None) for n in clients])
        port = sim.address[1]  # type: ignore[index]
        first = _dialer_process(db, port, tmp_path / "first.log")

        async def busy_enough() -> bool:
            total, open_ = await _open_attempts(db)
            return total >= 8 and open_ >= 2

        await wait_for(busy_enough, 60.0, "the first dialer to have calls in flight", poll=0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = utcnow()
        assert first.returncode == -signal.SIGKILL
        _, in_flight = await _open_attempts(db)

        second = _dialer_process(db, port, tmp_path / "second.log")

        async def finished() -> bool:
            leads = await leads_of(db, setup.campaign_id)
            _, open_ = await _open_attempts(db)
            return open_ == 0 and settled(leads.values(), utcnow())

        await wait_for(finished, 120.0, "the second dialer to finish the campaign", poll=0.2)
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0, (tmp_path / "second.log").read_text()[-3000:]
        await sim.wait_until_idle()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await sim.stop()

    leads = await leads_of(db, setup.campaign_id)
    attempts = await attempts_of(db, setup.campaign_id)
    owners = Counter(a.dialer_id for a in attempts)
    pids = {owner: int(owner.split(":")[1]) for owner in owners}
    assert sorted(pids.values()) == sorted([first.pid, second.pid]), owners
    first_owner = next(o for o, pid in pids.items() if pid == first.pid)

    # No lead lost: each is final, or waits for a later try; none is stuck leased or dialling.
    assert len(leads) == len(clients)
    assert settled(leads.values(), utcnow()), Counter(lead.state for lead in leads.values())
    # Every attempt ended; those the killed dialer left open are "lost", and only those.
    lost = [a for a in attempts if a.outcome == "lost"]
    assert len(lost) == in_flight >= 2 and {a.dialer_id for a in lost} == {first_owner}
    assert all(a.outcome in ("answered", "busy", "no_answer", "abandoned") for a in attempts if a not in lost)
    # Lost calls are rescheduled an hour on, never redialled at once (the client may have talked).
    for a in lost:
        lead = next(x for x in leads.values() if x.id == a.lead_id)
        assert lead.state == "ready" and lead.last_outcome == "lost"
        assert lead.next_try_at >= killed_at + timedelta(minutes=55)
    # None dialled twice: one attempt per lead (every retry is minutes away), and the simulator
    # rang each number at most once, only numbers with an attempt, never two legs at a time.
    per_lead = Counter(a.lead_id for a in attempts)
    assert set(per_lead) == {lead.id for lead in leads.values()} and max(per_lead.values()) == 1
    rung = Counter("+" + n for n in record.numbers())
    assert max(rung.values()) == 1 and set(rung) <= {a.phone_e164 for a in attempts}
    assert {a.phone_e164 for a in attempts if a not in lost} <= set(rung), "every finished attempt was a real call"
    assert not record.overlaps()
