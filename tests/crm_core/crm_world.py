"""A small, realistic CRM world for the service and rights tests.

Two teams: «Отдел продаж» (Moscow) and «Киевский филиал»; two operators and a supervisor
in the first, an operator and a supervisor in the second, and an admin. Users are stored
directly (with a hash nobody can log in with): the service tests do not need logins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update

from crm_core.db import Database
from crm_core.models import ClientKind, Interaction, InteractionStatus, InteractionType, Role, Team, User
from crm_core.rights import Actor
from crm_core.services import clients as clients_service
from crm_core.services.clients import ClientInput, ContactInput, PhoneInput


async def make_user(
    db: Database, login: str, role: Role, team_id: int | None, *, full_name: str, endpoint: str | None = None
) -> Actor:
    async with db.transaction() as s:
        user = User(login=login, full_name=full_name, role=role, team_id=team_id, phone_endpoint=endpoint,
                    password_hash="!not-a-login")
        s.add(user)
        await s.flush()
        return Actor.of(user)


async def make_team(db: Database, name: str) -> int:
    async with db.transaction() as s:
        team = Team(name=name)
        s.add(team)
        await s.flush()
        return team.id


@dataclass
class World:
    sales: int
    kyiv: int
    ivanova: Actor  # operator, sales
    petrov: Actor  # operator, sales
    sales_sup: Actor  # supervisor, sales
    kovalenko: Actor  # operator, Kyiv
    kyiv_sup: Actor  # supervisor, Kyiv
    admin: Actor


async def build_world(db: Database) -> World:
    sales = await make_team(db, "Отдел продаж")
    kyiv = await make_team(db, "Киевский филиал")
    return World(
        sales=sales,
        kyiv=kyiv,
        ivanova=await make_user(db, "i.ivanova", Role.operator, sales, full_name="Ирина Иванова", endpoint="101"),
        petrov=await make_user(db, "s.petrov", Role.operator, sales, full_name="Сергей Петров", endpoint="102"),
        sales_sup=await make_user(db, "a.smirnova", Role.supervisor, sales, full_name="Анна Смирнова", endpoint="150"),
        kovalenko=await make_user(db, "o.kovalenko", Role.operator, kyiv, full_name="Олег Коваленко", endpoint="201"),
        kyiv_sup=await make_user(db, "t.shevchenko", Role.supervisor, kyiv, full_name="Тарас Шевченко"),
        admin=await make_user(db, "admin", Role.admin, None, full_name="Администратор"),
    )


async def romashka(db: Database, owner: Actor, phone: str = "+7 916 123-45-67") -> int:
    """ООО «Ромашка», Москва, with its director Кузнецова Мария Ивановна."""
    client = await clients_service.create_client(
        db, owner,
        ClientInput(
            name="ООО «Ромашка»", kind=ClientKind.company, tax_id="7701234567", region="Москва", industry="Торговля",
            status="client", abc_class="A", phones=[PhoneInput("8 (495) 123-45-67")],
            contacts=[ContactInput(first_name="Мария", last_name="Кузнецова", middle_name="Ивановна",
                                   position="Генеральный директор", emails=["m.kuznetsova@romashka.ru"],
                                   phones=[PhoneInput(phone)])],
        ),
    )
    return client.id


async def kovalenko_fop(db: Database, owner: Actor) -> int:
    """ФОП Коваленко Олег Петрович, Київ (a Ukrainian sole trader)."""
    client = await clients_service.create_client(
        db, owner,
        ClientInput(name="ИП Коваленко Олег Петрович", kind=ClientKind.person, tax_id="3012345678", region="Київ",
                    status="prospect", phones=[PhoneInput("+380 67 123 45 67")]),
    )
    return client.id


async def mtz(db: Database, owner: Actor) -> int:
    """ОАО «Минский тракторный завод»."""
    client = await clients_service.create_client(
        db, owner,
        ClientInput(name="ОАО «Минский тракторный завод»", kind=ClientKind.company, tax_id="100010811",
                    region="Минск", industry="Машиностроение", status="new", abc_class="B",
                    phones=[PhoneInput("+375 29 612-34-56")]),
    )
    return client.id


@asynccontextmanager
async def reference_data_restored(db: Database) -> AsyncIterator[None]:
    """Undo what a test adds to or renames in event types and statuses: the fixtures keep reference tables between tests."""
    async with db.reading() as s:
        last_type = await s.scalar(select(func.coalesce(func.max(InteractionType.id), 0)))
        last_status = await s.scalar(select(func.coalesce(func.max(InteractionStatus.id), 0)))
        types = (await s.execute(select(InteractionType.id, InteractionType.name, InteractionType.color))).all()
        statuses = (await s.execute(select(InteractionStatus.id, InteractionStatus.name))).all()
    try:
        yield
    finally:
        async with db.transaction() as s:
            added = or_(Interaction.type_id > last_type, Interaction.status_id > last_status)
            await s.execute(delete(Interaction).where(added))
            await s.execute(delete(InteractionStatus).where(InteractionStatus.id > last_status))
            await s.execute(delete(InteractionType).where(InteractionType.id > last_type))
            for type_id, name, color in types:
                await s.execute(update(InteractionType).where(InteractionType.id == type_id).values(name=name, color=color))
            for status_id, name in statuses:
                await s.execute(update(InteractionStatus).where(InteractionStatus.id == status_id).values(name=name))
