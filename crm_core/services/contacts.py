"""Contact persons (контактные лица) of a client: names, position, e-mails, phones.

A contact is visible exactly when its client is (``crm_core.rights.client_scope``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.db import Database
from crm_core.errors import ContactNotFound, InvalidInput
from crm_core.models import Client, Contact, Phone
from crm_core.rights import Actor, client_scope
from crm_core.services.clients import (
    ContactInput,
    PhoneInput,
    add_contact_row,
    contact_fields,
    fits_id,
    load_visible_client,
    sync_phones,
    translate_integrity,
)

log = logging.getLogger(__name__)

_UPDATABLE = {"first_name", "last_name", "middle_name", "position", "emails", "comment", "phones"}


async def load_visible_contact(s: AsyncSession, actor: Actor, contact_id: int) -> Contact:
    """The contact if its client is visible to ``actor``, else ContactNotFound."""
    if not fits_id(contact_id):
        raise ContactNotFound()
    stmt = (
        select(Contact)
        .join(Client, Client.id == Contact.client_id)
        .where(Contact.id == contact_id, client_scope(actor))
    )
    contact = (await s.execute(stmt)).scalar_one_or_none()
    if contact is None:
        raise ContactNotFound()
    return contact


async def _reload(s: AsyncSession, contact_id: int) -> Contact:
    stmt = (
        select(Contact)
        .where(Contact.id == contact_id)
        .options(selectinload(Contact.phones))
        .execution_options(populate_existing=True)
    )
    return (await s.execute(stmt)).scalar_one()


async def list_contacts(db: Database, actor: Actor, client_id: int) -> list[Contact]:
    """The contact persons of a visible client, with their phones."""
    async with db.reading() as s:
        client = await load_visible_client(s, actor, client_id)
        rows = await s.execute(
            select(Contact).where(Contact.client_id == client.id).options(selectinload(Contact.phones)).order_by(Contact.id)
        )
        return list(rows.scalars())


async def get_contact(db: Database, actor: Actor, contact_id: int) -> Contact:
    async with db.reading() as s:
        contact = await load_visible_contact(s, actor, contact_id)
        return await _reload(s, contact.id)


async def add_contact(
    db: Database, actor: Actor, client_id: int, data: ContactInput, *, default_region: str = "RU"
) -> Contact:
    """Add a contact person (with phones) to a visible client."""
    try:
        async with db.transaction() as s:
            client = await load_visible_client(s, actor, client_id)
            contact = await add_contact_row(s, actor, client.id, data, default_region)
            contact = await _reload(s, contact.id)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    log.info("contact.created id=%s client=%s by=%s", contact.id, client_id, actor.login)
    return contact


async def update_contact(
    db: Database, actor: Actor, contact_id: int, changes: Mapping[str, Any], *, default_region: str = "RU"
) -> Contact:
    """Change the given fields (PATCH); ``phones`` replaces the contact's numbers."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    values = contact_fields(changes, partial=True)
    try:
        async with db.transaction() as s:
            contact = await load_visible_contact(s, actor, contact_id)
            for name, value in values.items():
                setattr(contact, name, value)
            if "phones" in changes:
                phones = [p if isinstance(p, PhoneInput) else PhoneInput(**p) for p in changes["phones"] or ()]
                await sync_phones(s, actor, contact.client_id, contact.id, phones, default_region, replace=True)
            await s.flush()
            contact = await _reload(s, contact.id)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    log.info("contact.updated id=%s by=%s fields=%s", contact_id, actor.login, ",".join(sorted(changes)))
    return contact


async def delete_contact(db: Database, actor: Actor, contact_id: int) -> None:
    """Remove a contact person and their phones (a departed person's mobile must not pop this client)."""
    async with db.transaction() as s:
        contact = await load_visible_contact(s, actor, contact_id)
        await s.execute(delete(Phone).where(Phone.contact_id == contact.id))
        await s.execute(delete(Contact).where(Contact.id == contact.id))
    log.info("contact.deleted id=%s by=%s", contact_id, actor.login)
