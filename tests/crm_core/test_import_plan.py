"""The pure middle of the import: drafts and their rules, responsible users, the batch plan (no store)."""

from __future__ import annotations

from crm_core.import_drafts import Draft, make_draft
from crm_core.import_parsing import ImportPhone, ImportRow, RejectedRow
from crm_core.import_plan import (
    ClientUnit,
    ContactState,
    PlanContext,
    StoreView,
    UserDirectory,
    UserInfo,
    draft_rules,
    may_assign,
    plan_batch,
    settle,
)
from crm_core.models import Role
from crm_core.rights import Actor

CHANNELS = [("website", "Сайт"), ("phone", "Входящий звонок"), ("referral", "Рекомендация"),
            ("exhibition", "Выставка"), ("cold_call", "Холодный звонок"), ("other", "Другое")]
RULES = draft_rules(CHANNELS)

USERS = [
    UserInfo(1, "admin", "Соколова Анна Павловна", Role.admin, None),
    UserInfo(2, "petrova", "Петрова Анна Сергеевна", Role.manager, 10),
    UserInfo(3, "smirnov", "Смирнов Дмитрий Викторович", Role.operator, 10),
    UserInfo(4, "koval", "Коваль Олена Петрівна", Role.manager, 20),
    UserInfo(5, "sup", "Орлов Евгений Максимович", Role.supervisor, 10),
    UserInfo(6, "petrov_a", "Петров Андрей Сергеевич", Role.operator, 10),
    UserInfo(7, "petrov_s", "Петров Алексей Семёнович", Role.operator, 10),
    UserInfo(8, "gone", "Уволенный Иван Иванович", Role.operator, 10, is_active=False),
]
DIRECTORY = UserDirectory(USERS)
ADMIN = Actor(1, Role.admin, None, "admin")
SUPERVISOR = Actor(5, Role.supervisor, 10, "sup")


def row(line: int = 2, **kw) -> ImportRow:
    return ImportRow(line=line, name=kw.pop("name", 'ООО "Ромашка"'), **kw)


def draft(line: int, name: str, phones: tuple[str, ...] = (), tax_id: str | None = None, **kw) -> Draft:
    made = make_draft(
        row(line, name=name, inn=tax_id, phones=tuple(ImportPhone(p, "mobile") for p in phones), **kw), RULES
    )
    assert isinstance(made, Draft), made
    return made


# --- drafts ----------------------------------------------------------------------------


def _status_and_source(**kw) -> tuple[str | None, str | None]:
    made = make_draft(row(**kw), RULES)
    return made.status, made.source_channel


def test_statuses_and_sources_as_exports_write_them():
    assert _status_and_source(status="Клиент", source="Холодний дзвінок") == ("client", "cold_call")
    assert _status_and_source(status="Потенциальный", source="Рекомендація") == ("prospect", "referral")
    assert _status_and_source(status="active", source="website") == ("client", "website")
    assert _status_and_source(status="спящий", source="Сайт") == ("inactive", "website")
    # A source nobody listed still says "it came from somewhere": the catch-all channel.
    assert make_draft(row(source="Авито"), RULES).source_channel == "other"


def test_unknown_status_is_a_rejected_row_naming_the_choices():
    got = make_draft(row(line=7, status="VIP-клиент"), RULES)
    assert isinstance(got, RejectedRow) and got.line == 7
    assert got.reason.startswith("status 'VIP-клиент' is not known (use one of primary, new, prospect, client")


def test_values_the_store_cannot_hold_are_rejected_not_cut():
    assert make_draft(row(region="Р" * 121), RULES) == RejectedRow(2, "region is longer than 120 characters")
    assert make_draft(row(name="ООО \x00Ноль"), RULES) == RejectedRow(2, "name contains control characters")
    assert make_draft(row(inn="AB-123"), RULES) == RejectedRow(
        2, "tax id 'AB-123' must be 8 to 12 digits (ИНН, УНП, ЄДРПОУ, БИН)")
    assert make_draft(row(contact_first_name="И" * 101), RULES) == RejectedRow(
        2, "first name is longer than 100 characters")


def test_region_gives_the_time_zone_unless_one_is_written():
    assert make_draft(row(region="Новосибирская обл.", region_code="54"), RULES).timezone == "Asia/Novosibirsk"
    assert make_draft(row(region="Новосибирская обл.", region_code="54", tz="Europe/Moscow"), RULES).timezone == "Europe/Moscow"
    assert make_draft(row(region="Где-то"), RULES).timezone is None


def test_contacts_of_people_companies_and_bare_emails():
    person = make_draft(row(name="Мельникова Ольга Николаевна", kind="person", phones=(ImportPhone("+79147001122", "mobile"),)), RULES)
    assert person.contact[:3] == ("Мельникова", "Ольга", "Николаевна") and person.phones_on_contact
    company = make_draft(row(emails=("info@romashka.ru",), phones=(ImportPhone("+74951234567", "work", "204"),)), RULES)
    # No person named: the address is kept on a contact named after the company, the phone on the client.
    assert company.contact[:3] == (None, 'ООО "Ромашка"', None) and company.contact.emails == ("info@romashka.ru",)
    assert company.contact.is_person is False and company.phones_on_contact is False
    assert company.phones[0].raw == "+74951234567 доб. 204"
    surname_only = make_draft(row(contact_last_name="Иванов"), RULES)
    assert surname_only.contact[:3] == (None, "Иванов", None)
    assert make_draft(row(), RULES).contact is None


# --- responsible users -------------------------------------------------------------------


def test_users_are_found_by_login_or_name_as_exports_write_it():
    for text in ("petrova", "PETROVA", "Петрова Анна Сергеевна", "Петрова А.С.", "Петрова А. С.", "Анна Петрова",
                 "А.С. Петрова", "петрова анна"):
        assert DIRECTORY.find(text).id == 2, text
    assert DIRECTORY.find("Олена Коваль").id == 4  # Bitrix24 writes "Имя Фамилия"
    assert DIRECTORY.find("Смирнов Д.В.").id == 3


def test_a_name_two_users_share_and_inactive_users_name_nobody():
    assert DIRECTORY.find("Петров А.С.") is None  # Андрей Сергеевич and Алексей Семёнович
    assert DIRECTORY.find("Петров Андрей").id == 6
    assert DIRECTORY.find("Уволенный И.И.") is None and DIRECTORY.find("gone") is None
    assert DIRECTORY.find("Никто Никакой") is None


def test_who_may_be_made_responsible():
    assert may_assign(ADMIN, USERS[3])  # anyone
    assert may_assign(SUPERVISOR, USERS[1]) and not may_assign(SUPERVISOR, USERS[3])  # own team only
    operator = Actor(3, Role.operator, 10, "smirnov")
    assert may_assign(operator, USERS[2]) and not may_assign(operator, USERS[1])
    assert not may_assign(ADMIN, USERS[7])  # inactive


def test_a_row_names_its_responsible_or_gets_the_default():
    ctx = PlanContext(SUPERVISOR, DIRECTORY, default_responsible_id=5, on_duplicate="report")
    assert ctx.responsible_for("Петрова А.С.", 2) == 2
    assert ctx.responsible_for("Олена Коваль", 3) == 5  # another team: the supervisor may not assign to her
    assert ctx.responsible_for("Кто-то Неизвестный", 4) == 5
    assert ctx.responsible_for("Олена Коваль", 6) == 5
    assert ctx.responsible_for(None, 7) == 5
    # The names given to the default are noted: first line, rows.
    assert ctx.not_assignable == {"Олена Коваль": [3, 2], "Кто-то Неизвестный": [4, 1]}


# --- the plan ------------------------------------------------------------------------------


def _existing(client_id: int, phones: set[str], **values) -> ClientUnit:
    base = dict.fromkeys(("tax_id", "region", "timezone", "industry", "comment", "source_channel"))
    base.update(values)
    return ClientUnit(id=client_id, is_new=False, values=base, contacts=[ContactState(5, "Иванов", "Иван", None, None, [])],
                      phones=phones, new_phones=[], first_line=0)


def test_rows_of_one_client_in_a_batch_fold_into_one_new_client_when_merging():
    ctx = PlanContext(ADMIN, DIRECTORY, 1, "merge")
    rows = [draft(2, "ООО Альфа", ("+79161234567",), "7707083893"),
            draft(3, "Альфа", ("+79161234567", "+79031112233"), industry="ИТ"),
            draft(4, "ООО Альфа-2", ("+79261112233",), "7707083893")]
    plan = plan_batch(rows, StoreView(), ctx)
    assert [o.kind for o in plan.outcomes] == ["inserted", "merged", "merged"]
    (unit,) = plan.units
    assert unit.values["name"] == "ООО Альфа" and unit.values["industry"] == "ИТ"
    assert [p.e164 for p in unit.new_phones] == ["+79161234567", "+79031112233", "+79261112233"]


def test_report_mode_names_the_client_once_it_is_written():
    ctx = PlanContext(ADMIN, DIRECTORY, 1, "report")
    plan = plan_batch([draft(2, "ООО Альфа", ("+79161234567",)), draft(3, "Альфа", ("+79161234567",))], StoreView(), ctx)
    plan.units[0].id, plan.units[0].written = 41, True
    # Line 2 made the client: line 3 repeats the file, it is nothing the base had before.
    assert [settle(o, "report") for o in plan.outcomes] == [
        ("inserted", None), ("duplicate", "duplicate of line 2 of this file: phone +79161234567 (client 41)")]
    plan.units[0].written, plan.units[0].error = False, "the store refused it: no"
    assert [settle(o, "report") for o in plan.outcomes] == [
        ("rejected", "not written: the store refused it: no"),
        ("rejected", "duplicate of line 2, which was not written")]


def test_a_later_batch_repeating_a_client_the_file_made_says_so():
    # An earlier batch made client 41 from line 2 (the importer remembers it in ctx.made).
    view = StoreView(phone_owner={"+79161234567": 41}, tax_owner={"7707083893": 7}, responsible_of={41: 1, 7: 1},
                     clients={41: _existing(41, {"+79161234567"}), 7: _existing(7, set())})
    ctx = PlanContext(ADMIN, DIRECTORY, 1, "report", made={41: 2})
    plan = plan_batch([draft(1200, "Альфа", ("+79161234567",)),
                       draft(1201, "Альфа и Бета", ("+79161234567",), "7707083893")], view, ctx)
    assert [settle(o, "report", ctx.made) for o in plan.outcomes] == [
        ("duplicate", "duplicate of line 2 of this file: phone +79161234567 (client 41)"),
        ("duplicate", "duplicate: already in the base: tax id 7707083893 (client 7), "
                      "phone +79161234567 (client 41) made by line 2 of this file")]


def test_merge_fills_only_what_is_empty_and_adds_new_phones_and_contacts():
    view = StoreView(phone_owner={"+79161234567": 7}, responsible_of={7: 2},
                     clients={7: _existing(7, {"+79161234567"}, region="Москва")})
    ctx = PlanContext(ADMIN, DIRECTORY, 1, "merge")
    d = draft(2, "Другое имя", ("+79161234567", "+74951234567"), "7707083893", region="Тверь", industry="ИТ",
              contact_last_name="Петрова", contact_first_name="Ольга", emails=("o.petrova@mail.ru",))
    plan = plan_batch([d], view, ctx)
    (unit,) = plan.units
    assert plan.outcomes[0].kind == "merged" and unit.id == 7
    assert unit.changed == {"tax_id", "industry"} and unit.values["region"] == "Москва"
    assert [c.first_name for c in unit.contacts] == ["Иван", "Ольга"] and unit.contacts[1].emails == ["o.petrova@mail.ru"]
    assert [(p.e164, p.contact.first_name) for p in unit.new_phones] == [("+74951234567", "Ольга")]


def test_a_client_the_actor_may_not_see_is_a_duplicate_without_its_id():
    view = StoreView(phone_owner={"+79161234567": 7}, responsible_of={7: 4}, clients={})
    ctx = PlanContext(SUPERVISOR, DIRECTORY, 5, "merge")
    plan = plan_batch([draft(2, "Альфа", ("+79161234567",))], view, ctx)
    assert plan.units == []
    assert settle(plan.outcomes[0], "merge") == ("duplicate", "duplicate: already in the base: phone +79161234567")


def test_a_row_matching_two_clients_is_not_merged_into_either():
    view = StoreView(phone_owner={"+79161234567": 7}, tax_owner={"7707083893": 9}, responsible_of={7: 2, 9: 2},
                     clients={7: _existing(7, {"+79161234567"}), 9: _existing(9, set(), tax_id="7707083893")})
    plan = plan_batch([draft(2, "Альфа", ("+79161234567",), "7707083893")], view, PlanContext(ADMIN, DIRECTORY, 1, "merge"))
    assert plan.units == []
    assert settle(plan.outcomes[0], "merge") == (
        "duplicate", "duplicate: already in the base: tax id 7707083893 (client 9), phone +79161234567 (client 7); "
                     "these are different clients, merge by hand")
