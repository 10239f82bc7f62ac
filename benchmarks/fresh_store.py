"""A fresh store full of generated clients, for the benchmarks that need a big base.

PostgreSQL databases are created next to the test database (same server, trust auth) and
dropped afterwards, like tests/conftest.py does; SQLite stores are files in a temporary
folder. Clients come from zvonar.demo_data (RU/UA/BY companies and people), each with one
contact person, a mobile (and for some companies a work number) normalised to E.164 by
crm_core.phones, and for about a third of them a few interactions, open and closed, so the
screen pop's "open items" query has real rows to find. Rows are generated in a second
process while this one writes the batch before; PostgreSQL is filled with binary COPY (then
VACUUM ANALYZE and CHECKPOINT, as after any bulk load), SQLite with executemany. Ids are
given here, then the sequences are moved past them.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import time
import uuid
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from queue import Empty

import asyncpg
from sqlalchemy import insert, select, text

from crm_core.db import Database
from crm_core.errors import InvalidPhone
from crm_core.models import Client, Contact, Interaction, InteractionStatus, InteractionType, Phone
from crm_core.phones import normalize_phone
from zvonar.demo_data import DemoClient, generate_clients

PG_ADMIN_DSN = os.environ.get("ZVONAR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BATCH = 20_000

# demo_data's statuses in the words of a 1C export; the store keeps its own codes.
STATUS_CODES = {"new": "new", "prospect": "prospect", "active": "client", "sleeping": "inactive"}

# (type, status, open?, subject): what a sales team's history and to-do list look like.
INTERACTION_KINDS = [
    ("task", "planned", True, "Перезвонить по счёту"),
    ("task", "planned", True, "Отправить коммерческое предложение"),
    ("outgoing_call", "planned", True, "Уточнить объём поставки на квартал"),
    ("meeting", "planned", True, "Встреча в офисе клиента: договор поставки"),
    ("email", "draft", True, "Акт сверки за прошлый месяц"),
    ("incoming_call", "done", False, "Вопрос по отгрузке"),
    ("outgoing_call", "done", False, "Согласовали условия оплаты"),
    ("outgoing_call", "no_answer", False, "Не дозвонились"),
    ("note", "done", False, "Клиент просит скидку на объём"),
    ("email", "sent", False, "Прайс-лист отправлен"),
]


def pg_url(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the test server."""
    return PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


def pg_dsn(name: str) -> str:
    """The plain asyncpg DSN of database ``name`` on the test server."""
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


async def create_pg_database(prefix: str) -> str:
    """Create an empty database with a unique name and return the name."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass(frozen=True)
class StoredClient:
    """A client as stored: what a benchmark needs to call it or be called by it."""

    client_id: int
    name: str
    contact_name: str
    e164: str
    responsible_id: int


@dataclass
class LoadStats:
    clients: int = 0
    contacts: int = 0
    phones: int = 0
    interactions: int = 0
    unreadable_numbers: int = 0
    generate_seconds: float = 0.0
    write_seconds: float = 0.0
    kept: list[StoredClient] = field(default_factory=list)

    def line(self) -> str:
        """One line for the benchmark's output."""
        return (f"{self.clients:,} clients, {self.contacts:,} contacts, {self.phones:,} phones, "
                f"{self.interactions:,} interactions ({self.unreadable_numbers} numbers unreadable, left out); "
                f"generating {self.generate_seconds:.1f} s and writing {self.write_seconds:.1f} s, overlapped")


@dataclass
class _Batch:
    clients: list[tuple] = field(default_factory=list)
    contacts: list[tuple] = field(default_factory=list)
    phones: list[tuple] = field(default_factory=list)
    interactions: list[tuple] = field(default_factory=list)


CLIENT_COLUMNS = ("id", "kind", "name", "name_search", "tax_id", "region", "industry", "status", "source_channel",
                  "responsible_id", "created_at", "updated_at")
CONTACT_COLUMNS = ("id", "client_id", "last_name", "first_name", "middle_name", "position", "emails")
PHONE_COLUMNS = ("id", "client_id", "contact_id", "e164", "kind")
INTERACTION_COLUMNS = ("id", "client_id", "contact_id", "type_id", "status_id", "user_id", "subject", "planned_at",
                       "done_at", "details", "created_at")


class _Generator:
    """Turns demo clients into table rows with ids, keeping the clients asked for."""

    def __init__(self, responsible_ids: Sequence[int], statuses: dict[tuple[str, str], int],
                 types: dict[str, int], keep: Container[int], seed: int, now: datetime) -> None:
        self.responsible_ids = list(responsible_ids)
        self.statuses = statuses
        self.types = types
        self.keep = keep
        self.rng = random.Random(seed + 1)
        self.now = now
        self.seen: set[str] = set()
        self.phone_id = 0
        self.interaction_id = 0
        self.stats = LoadStats()

    def _e164(self, raw: str | None) -> str | None:
        if not raw:
            return None
        try:
            e164 = normalize_phone(raw, "RU")
        except InvalidPhone:
            self.stats.unreadable_numbers += 1
            return None
        if e164 in self.seen:
            return None
        self.seen.add(e164)
        return e164

    def add(self, index: int, c: DemoClient, batch: _Batch) -> None:
        client_id = contact_id = index + 1
        responsible = self.responsible_ids[index % len(self.responsible_ids)]
        created = self.now - timedelta(days=self.rng.randrange(1, 2000))
        batch.clients.append((client_id, c.kind, c.name, c.name.casefold()[:300], c.tax_id, c.region, c.industry,
                              STATUS_CODES[c.status], c.source, responsible, created, created))
        batch.contacts.append((contact_id, client_id, c.contact_last, c.contact_first, c.contact_middle,
                               "Директор" if c.kind == "company" else None, json.dumps([c.email])))
        mobile = self._e164(c.mobile)
        for e164, kind, owner in ((mobile, "mobile", contact_id), (self._e164(c.work_phone), "work", None)):
            if e164 is not None:
                self.phone_id += 1
                batch.phones.append((self.phone_id, client_id, owner, e164, kind))
        if self.rng.random() < 0.35:
            for _ in range(self.rng.randrange(1, 4)):
                self._interaction(client_id, contact_id, responsible, batch)
        if index in self.keep and mobile is not None:
            contact = f"{c.contact_first} {c.contact_last}"
            self.stats.kept.append(StoredClient(client_id, c.name, contact, mobile, responsible))

    def _interaction(self, client_id: int, contact_id: int, user_id: int, batch: _Batch) -> None:
        type_code, status_code, is_open, subject = self.rng.choice(INTERACTION_KINDS)
        self.interaction_id += 1
        created = self.now - timedelta(days=self.rng.randrange(1, 400), minutes=self.rng.randrange(1440))
        planned = self.now + timedelta(days=self.rng.randrange(-5, 30), hours=self.rng.randrange(9, 18)) if is_open else None
        done = None if is_open else created + timedelta(minutes=self.rng.randrange(1, 30))
        batch.interactions.append((self.interaction_id, client_id, contact_id, self.types[type_code],
                                   self.statuses[(type_code, status_code)], user_id, subject, planned, done, "{}", created))

    def batches(self, count: int, seed: int):  # type: ignore[no-untyped-def]
        batch = _Batch()
        for index, client in enumerate(generate_clients(count, seed=seed)):
            self.add(index, client, batch)
            if len(batch.clients) >= BATCH:
                yield batch
                batch = _Batch()
        if batch.clients:
            yield batch


async def _reference(db: Database) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    async with db.reading() as s:
        rows = (await s.execute(
            select(InteractionType.code, InteractionStatus.code, InteractionStatus.id)
            .join(InteractionStatus, InteractionStatus.type_id == InteractionType.id))).all()
        types = dict((await s.execute(select(InteractionType.code, InteractionType.id))).all())
    return {(t, st): i for t, st, i in rows}, types


def _produce(queue, count: int, seed: int, responsible_ids: Sequence[int],  # type: ignore[no-untyped-def]
             statuses: dict[tuple[str, str], int], types: dict[str, int], keep: Container[int], now: datetime) -> None:
    """The generating process: batches into ``queue``, then the stats (with the kept clients)."""
    gen = _Generator(responsible_ids, statuses, types, keep, seed, now)
    started = time.perf_counter()
    for batch in gen.batches(count, seed):
        queue.put(batch)
    gen.stats.generate_seconds = time.perf_counter() - started
    queue.put(gen.stats)


def _next_item(queue, producer):  # type: ignore[no-untyped-def]
    while True:
        try:
            return queue.get(timeout=1.0)
        except Empty:
            if not producer.is_alive():
                raise RuntimeError(f"the client generator died (exit code {producer.exitcode})") from None


async def load_clients(db: Database, count: int, responsible_ids: Sequence[int], *, keep: Container[int] = (),
                       seed: int = 11, pg_database: str | None = None) -> LoadStats:
    """Write ``count`` generated clients, spread over ``responsible_ids``; ``keep``: indexes to return.

    Rows are generated in a second process while this one writes the previous batch.
    ``pg_database`` (the database's name) selects the COPY path; without it rows go
    through SQLAlchemy (SQLite).
    """
    statuses, types = await _reference(db)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue(maxsize=3)
    producer = ctx.Process(target=_produce, daemon=True, name="bench-client-generator",
                           args=(queue, count, seed, list(responsible_ids), statuses, types, keep,
                                 datetime.now(timezone.utc)))
    producer.start()
    conn = await asyncpg.connect(pg_dsn(pg_database)) if pg_database else None
    loop = asyncio.get_running_loop()
    written = LoadStats()
    try:
        while True:
            item = await loop.run_in_executor(None, _next_item, queue, producer)
            if isinstance(item, LoadStats):
                stats = item
                break
            t0 = time.perf_counter()
            if conn is not None:
                await _copy(conn, item)
            else:
                await _insert(db, item)
            written.write_seconds += time.perf_counter() - t0
            written.clients += len(item.clients)
            written.contacts += len(item.contacts)
            written.phones += len(item.phones)
            written.interactions += len(item.interactions)
        t0 = time.perf_counter()
        if conn is not None:
            for table in ("clients", "contacts", "phones", "interactions"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))")
            # As after any bulk load: vacuumed (visibility map, hint bits) and checkpointed, so the
            # measurements do not meet autovacuum and a checkpoint working through a fresh 1 GB.
            await conn.execute("VACUUM ANALYZE")
            await conn.execute("CHECKPOINT")
        written.write_seconds += time.perf_counter() - t0
    finally:
        if conn is not None:
            await conn.close()
        producer.join(timeout=10)
        if producer.is_alive():
            producer.kill()
    written.generate_seconds = stats.generate_seconds
    written.unreadable_numbers = stats.unreadable_numbers
    written.kept = stats.kept
    return written


async def _copy(conn: asyncpg.Connection, batch: _Batch) -> None:
    async with conn.transaction():
        await conn.copy_records_to_table("clients", columns=CLIENT_COLUMNS, records=batch.clients)
        await conn.copy_records_to_table("contacts", columns=CONTACT_COLUMNS, records=batch.contacts)
        await conn.copy_records_to_table("phones", columns=PHONE_COLUMNS, records=batch.phones)
        if batch.interactions:
            await conn.copy_records_to_table("interactions", columns=INTERACTION_COLUMNS, records=batch.interactions)


async def _insert(db: Database, batch: _Batch) -> None:
    tables = ((Client, CLIENT_COLUMNS, batch.clients), (Contact, CONTACT_COLUMNS, batch.contacts),
              (Phone, PHONE_COLUMNS, batch.phones), (Interaction, INTERACTION_COLUMNS, batch.interactions))
    async with db.engine.begin() as conn:
        for model, columns, rows in tables:
            if rows:
                dicts = [dict(zip(columns, row)) for row in rows]
                if model is Contact:
                    for d in dicts:
                        d["emails"] = json.loads(d["emails"])
                if model is Interaction:
                    for d in dicts:
                        d["details"] = {}
                await conn.execute(insert(model.__table__), dicts)


async def unknown_numbers(db: Database, count: int, seed: int = 97) -> list[str]:
    """``count`` valid E.164 numbers that no client has (for calls from strangers)."""
    found: list[str] = []
    for client in generate_clients(count * 3 + 10, seed=seed):
        try:
            e164 = normalize_phone(client.mobile, "RU")
        except InvalidPhone:
            continue
        async with db.reading() as s:
            taken = (await s.execute(select(Phone.id).where(Phone.e164 == e164))).first()
        if taken is None:
            found.append(e164)
            if len(found) == count:
                return found
    raise RuntimeError(f"could not find {count} numbers no client has")


async def table_counts(db: Database) -> dict[str, int]:
    async with db.engine.connect() as conn:
        return {t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                for t in ("clients", "contacts", "phones", "interactions")}
