"""Writing a batch plan into PostgreSQL with COPY: the fast path of big imports.

Ids for the new clients and contacts are taken from their sequences in one query each,
so the three tables are filled by three binary COPYs with no round trip per row. The
batch's duplicates were settled by the plan (its keys looked up first); a number that
another writer added meanwhile makes the COPY fail on the unique index, and the caller
then writes the batch again one client at a time to find the row concerned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.import_plan import ClientUnit
from crm_core.import_writer_sql import (
    Assigned,
    WriteRefused,
    emails_json,
    new_contacts,
    phone_rows,
    write_updates,
)

CLIENT_COLUMNS = (
    "id", "kind", "name", "name_search", "tax_id", "region", "industry", "status", "timezone", "comment",
    "source_channel", "responsible_id", "created_at", "updated_at",
)
_client_values = itemgetter(*CLIENT_COLUMNS[1:-2])
CONTACT_COLUMNS = ("id", "client_id", "last_name", "first_name", "middle_name", "position", "emails")
PHONE_COLUMNS = ("client_id", "contact_id", "e164", "kind", "raw")

_NEXT_IDS = "SELECT array_agg(nextval(pg_get_serial_sequence($1, 'id'))) FROM generate_series(1, $2)"


async def copy_units(conn: AsyncConnection, units: Sequence[ClientUnit], now: datetime) -> Assigned:
    """COPY the batch's new clients, contacts and phones; UPDATE the few merged clients.

    Raises WriteRefused when PostgreSQL refuses the COPY (the caller's savepoint undoes it).
    """
    # The SQLAlchemy connection has opened the transaction (the lookups ran on it), so the
    # driver connection below writes inside it.
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    try:
        assigned = await _copy(raw, units, now)
    except asyncpg.PostgresError as exc:
        raise WriteRefused(f"{type(exc).__name__}: {exc}") from exc
    await write_updates(conn, [u for u in units if not u.is_new], now)
    return assigned


async def _copy(raw: asyncpg.Connection, units: Sequence[ClientUnit], now: datetime) -> Assigned:
    assigned = Assigned()
    new = [u for u in units if u.is_new]
    if new:
        ids = await raw.fetchval(_NEXT_IDS, "clients", len(new))
        assigned.client_ids.update(zip(new, ids))
        await raw.copy_records_to_table(
            "clients",
            columns=CLIENT_COLUMNS,
            records=[
                (client_id, *_client_values(u.values), now, now) for u, client_id in assigned.client_ids.items()
            ],
        )
    added = new_contacts(units)
    if added:
        ids = await raw.fetchval(_NEXT_IDS, "contacts", len(added))
        assigned.contact_ids.update(zip((c for _, c in added), ids))
        await raw.copy_records_to_table(
            "contacts",
            columns=CONTACT_COLUMNS,
            records=[
                (assigned.contact_ids[c], assigned.client_id(u), c.last_name, c.first_name, c.middle_name,
                 c.position, emails_json(c))
                for u, c in added
            ],
        )
    rows = phone_rows(units, assigned)
    if rows:
        await raw.copy_records_to_table(
            "phones", columns=PHONE_COLUMNS, records=[(cid, kid, p.e164, p.kind, p.raw) for cid, kid, p in rows]
        )
    return assigned
