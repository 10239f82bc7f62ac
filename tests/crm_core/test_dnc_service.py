"""Do-not-call lists in the store: normalised numbers, scopes, rights, CSV import; both stores."""

from __future__ import annotations

import pytest

from crm_core.db import Database
from crm_core.errors import CampaignNotFound, DncNotFound, Forbidden, ImportFileError, InvalidInput, InvalidPhone
from crm_core.services import campaigns as campaigns_service
from crm_core.services import dnc as dnc_service
from tests.crm_core.campaign_world import campaign_world


async def test_a_number_in_any_form_is_listed_once_per_scope(db: Database) -> None:
    cw = await campaign_world(db)
    first = await dnc_service.add_dnc(db, cw.crm.ivanova, "8 (916) 123-45-67", reason="Просил не звонить")
    again = await dnc_service.add_dnc(db, cw.sup, "+7 916 123 45 67")
    assert (first.phone_e164, first.campaign_id, first.source, first.added_by_id) == (
        "+79161234567", None, "manual", cw.crm.ivanova.user_id)
    assert again.id == first.id and again.reason == "Просил не звонить"
    scoped = await dnc_service.add_dnc(db, None, "+375 29 612-45-67", cw.campaign.id, "Отказ в скрипте", "script")
    assert (scoped.campaign_id, scoped.added_by_id, scoped.source) == (cw.campaign.id, None, "script")
    assert await dnc_service.is_dnc(db, "+79161234567", cw.campaign.id)
    assert await dnc_service.is_dnc(db, "+79161234567", None)
    assert await dnc_service.is_dnc(db, "+375296124567", cw.campaign.id)
    assert not await dnc_service.is_dnc(db, "+375296124567", None)
    # Their waiting leads stopped at once.
    counts = (await campaigns_service.get_campaign(db, cw.sup, cw.campaign.id)).lead_counts
    assert counts["dnc"] == 2


async def test_a_bad_number_is_refused_with_the_reason(db: Database) -> None:
    cw = await campaign_world(db)
    with pytest.raises(InvalidPhone) as caught:
        await dnc_service.add_dnc(db, cw.sup, "8 (916) 12")
    assert caught.value.reason == "too short"
    with pytest.raises(InvalidPhone):
        await dnc_service.add_dnc(db, cw.sup, "позвоните Ивану")
    with pytest.raises(InvalidInput):
        await dnc_service.add_dnc(db, cw.sup, "+79161234567", source="robot")


async def test_who_may_do_what(db: Database) -> None:
    cw = await campaign_world(db)
    cid = cw.campaign.id
    await dnc_service.add_dnc(db, cw.crm.ivanova, "+7 916 123-45-67", cid)  # an agent of the campaign
    with pytest.raises(CampaignNotFound):
        await dnc_service.add_dnc(db, cw.crm.kovalenko, "+7 916 123-45-67", cid)
    with pytest.raises(Forbidden):
        await dnc_service.remove_dnc(db, cw.crm.ivanova, "+7 916 123-45-67", cid)
    with pytest.raises(Forbidden):
        await dnc_service.dnc_numbers(db, cw.crm.ivanova, campaign_id=cid)
    with pytest.raises(Forbidden):
        await dnc_service.dnc_numbers(db, cw.crm.ivanova)
    await dnc_service.remove_dnc(db, cw.sup, "8 916 123 45 67", cid)
    with pytest.raises(DncNotFound):
        await dnc_service.remove_dnc(db, cw.sup, "8 916 123 45 67", cid)
    await dnc_service.add_dnc(db, cw.sup, "+7 916 123-45-67")
    with pytest.raises(Forbidden):  # the global list: only an admin takes a number off
        await dnc_service.remove_dnc(db, cw.sup, "+7 916 123-45-67")
    await dnc_service.remove_dnc(db, cw.crm.admin, "+7 916 123-45-67")
    assert not await dnc_service.is_dnc(db, "+79161234567", cid)


async def test_listing_by_scope(db: Database) -> None:
    cw = await campaign_world(db)
    cid = cw.campaign.id
    await dnc_service.add_dnc(db, cw.sup, "+7 916 123-45-67")
    await dnc_service.add_dnc(db, cw.sup, "+7 925 765-43-21", cid)
    everything = await dnc_service.dnc_numbers(db, cw.sup, campaign_id=cid)
    assert {e.phone_e164 for e in everything.items} == {"+79161234567", "+79257654321"}
    assert [e.phone_e164 for e in (await dnc_service.dnc_numbers(db, cw.sup)).items] == ["+79161234567"]
    assert [e.phone_e164 for e in (await dnc_service.dnc_numbers(db, cw.sup, campaign_id=cid, scope="campaign")).items] \
        == ["+79257654321"]
    one = await dnc_service.dnc_numbers(db, cw.sup, campaign_id=cid, phone="8 925 765 43 21")
    assert one.total == 1
    with pytest.raises(InvalidInput):
        await dnc_service.dnc_numbers(db, cw.sup, scope="campaign")


DNC_CSV = """Телефон;Причина
8 (916) 123-45-67;Жалоба
+380 67 123 45 67;
12345;
+7 916 123 45 67;Повтор
380671234567;Excel съел плюс
""".encode("cp1251")


async def test_a_csv_goes_in_with_its_bad_lines_reported(db: Database) -> None:
    cw = await campaign_world(db)
    report = await dnc_service.import_dnc_csv(db, cw.sup, DNC_CSV, reason="Реестр отказов")
    assert (report.added, report.already) == (2, 2)
    assert [line for line, _ in report.rejected] == [4]
    page = await dnc_service.dnc_numbers(db, cw.sup)
    reasons = {e.phone_e164: (e.reason, e.source) for e in page.items}
    assert reasons == {"+79161234567": ("Жалоба", "import"), "+380671234567": ("Реестр отказов", "import")}
    # A bare list, one number a line, into a campaign.
    bare = await dnc_service.import_dnc_csv(db, cw.sup, b"+375 29 612-45-67\n+7 925 765-43-21\n", campaign_id=cw.campaign.id)
    assert (bare.added, bare.already, bare.rejected) == (2, 0, [])
    with pytest.raises(ImportFileError):
        await dnc_service.import_dnc_csv(db, cw.sup, b"")
    with pytest.raises(ImportFileError):
        await dnc_service.import_dnc_csv(db, cw.sup, b"\x00\x01\x02binary")
    with pytest.raises(Forbidden):
        await dnc_service.import_dnc_csv(db, cw.crm.ivanova, DNC_CSV)


async def test_a_refused_line_is_the_file_line_it_starts_on_after_a_multi_line_reason(db: Database) -> None:
    # Excel writes CRLF and quotes a reason typed with Alt+Enter; a reason pasted from a web
    # page may hold a Unicode line separator, which is no line break of a CSV file.
    data = (
        "Телефон;Причина\r\n"                                                # line 1
        '+7 916 123-45-67;"Просил не звонить,\r\nгрозил жалобой в суд"\r\n'  # lines 2-3
        "8 (916) 12;Номер обрезан\r\n"                                       # line 4
        "+375 29 612-45-67;Звонить\u2028только днём\r\n"                     # line 5
        "0671234567;\r\n"                                                    # line 6
    ).encode()
    cw = await campaign_world(db)
    report = await dnc_service.import_dnc_csv(db, cw.sup, data)
    assert report.rejected == [(4, "phone '8 (916) 12': too short"), (6, "phone '0671234567': invalid for region RU/KZ")]
    assert (report.added, report.already) == (2, 0)
    assert await dnc_service.is_dnc(db, "+79161234567") and await dnc_service.is_dnc(db, "+375296124567")
