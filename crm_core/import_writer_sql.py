"""Writing a batch plan with SQLAlchemy Core: executemany inserts, updates of merged clients.

Used for SQLite always, for PostgreSQL one client at a time (the simple path and the
fallback when a COPY batch fails). Nothing on the units changes here: the ids the store
assigned come back in ``Assigned`` and are applied once the savepoint has held.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.import_plan import ClientUnit, ContactState, PhoneState
from crm_core.models import Client, Contact, Phone
from crm_core.services.clients import ZONE_FIELDS, refresh_lead_zones

clients = Client.__table__
contacts = Contact.__table__
phones = Phone.__table__


class WriteRefused(Exception):
    """The store refused a batch written outside SQLAlchemy (a COPY); the message says why."""


@dataclass
class Assigned:
    """Ids the store gave the new clients and contacts of a write."""

    client_ids: dict[ClientUnit, int] = field(default_factory=dict)
    contact_ids: dict[ContactState, int] = field(default_factory=dict)

    def client_id(self, unit: ClientUnit) -> int:
        return unit.id if unit.id is not None else self.client_ids[unit]

    def contact_id(self, contact: ContactState | None) -> int | None:
        if contact is None:
            return None
        return contact.id if contact.id is not None else self.contact_ids[contact]

    def apply(self) -> None:
        for unit, client_id in self.client_ids.items():
            unit.id = client_id
        for contact, contact_id in self.contact_ids.items():
            contact.id = contact_id
            contact.changed = False


def new_contacts(units: Sequence[ClientUnit]) -> list[tuple[ClientUnit, ContactState]]:
    return [(u, c) for u in units for c in u.contacts if c.id is None]


def phone_rows(units: Sequence[ClientUnit], assigned: Assigned) -> list[tuple[int, int | None, PhoneState]]:
    return [(assigned.client_id(u), assigned.contact_id(p.contact), p) for u in units for p in u.new_phones]


async def write_units(conn: AsyncConnection, units: Sequence[ClientUnit], now: datetime) -> Assigned:
    """Insert the new clients, contacts and phones and update the merged clients."""
    assigned = Assigned()
    new = [u for u in units if u.is_new]
    if new:
        result = await conn.execute(
            insert(clients).returning(clients.c.id, sort_by_parameter_order=True),
            [dict(u.values, created_at=now, updated_at=now) for u in new],
        )
        assigned.client_ids.update(zip(new, result.scalars()))
    added = new_contacts(units)
    if added:
        result = await conn.execute(
            insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True),
            [
                dict(client_id=assigned.client_id(u), last_name=c.last_name, first_name=c.first_name,
                     middle_name=c.middle_name, position=c.position, emails=list(c.emails))
                for u, c in added
            ],
        )
        assigned.contact_ids.update(zip((c for _, c in added), result.scalars()))
    rows = phone_rows(units, assigned)
    if rows:
        await conn.execute(
            insert(phones),
            [dict(client_id=cid, contact_id=kid, e164=p.e164, kind=p.kind, raw=p.raw) for cid, kid, p in rows],
        )
    await write_updates(conn, [u for u in units if not u.is_new], now)
    return assigned


async def write_updates(conn: AsyncConnection, units: Sequence[ClientUnit], now: datetime) -> None:
    """The merged clients: the columns they had empty, their contacts' new e-mails and positions.

    A region or time zone filled in moves the client's leads still to dial into it.
    """
    for unit in units:
        values: dict[str, Any] = {name: unit.values[name] for name in sorted(unit.changed)}
        await conn.execute(update(clients).where(clients.c.id == unit.id).values(**values, updated_at=now))
        for contact in unit.contacts:
            if contact.id is not None and contact.changed:
                await conn.execute(
                    update(contacts)
                    .where(contacts.c.id == contact.id)
                    .values(position=contact.position, emails=list(contact.emails))
                )
    await refresh_lead_zones(conn, [unit.id for unit in units if unit.changed & ZONE_FIELDS])


def emails_json(contact: ContactState) -> str:
    """The e-mail list as the JSON text the ``emails`` column holds (for COPY)."""
    return json.dumps(list(contact.emails), ensure_ascii=False)
