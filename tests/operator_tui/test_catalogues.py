"""The gettext catalogues: every msgid the code uses is in each language, translated, and compiled."""

from __future__ import annotations

import pytest

from operator_tui.i18n import LANGUAGES, _, set_language, translations
from operator_tui.i18n.catalogs import extract, mo_path, po_path, read_mo, read_po


@pytest.fixture(scope="module")
def msgids() -> dict[str, list[str]]:
    found = extract()
    assert len(found) > 150, "the extractor found too few msgids: is it still reading the markers?"
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_of_the_code_is_translated(lang: str, msgids: dict[str, list[str]]) -> None:
    po = read_po(po_path(lang))
    missing = sorted(set(msgids) - set(po))
    assert not missing, f"{lang}: not in the .po: {missing[:5]} (run python -m operator_tui.i18n.catalogs update)"
    empty = sorted(m for m in msgids if not po[m])
    assert not empty, f"{lang}: untranslated: {empty[:5]}"
    stale = sorted(set(po) - set(msgids))
    assert not stale, f"{lang}: msgids the code no longer uses: {stale[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalogue_matches_its_po(lang: str) -> None:
    assert read_mo(mo_path(lang)) == {k: v for k, v in read_po(po_path(lang)).items() if v}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang: str) -> None:
    import string

    fmt = string.Formatter()
    for msgid, msgstr in read_po(po_path(lang)).items():
        if not msgstr:
            continue  # untranslated: the test above names it
        wanted = {name for _t, name, _s, _c in fmt.parse(msgid) if name}
        got = {name for _t, name, _s, _c in fmt.parse(msgstr) if name}
        assert wanted == got, f"{lang}: {msgid!r} -> {msgstr!r}"


def test_switching_language_switches_the_text() -> None:
    try:
        set_language("en")
        assert _("Wrong user or password.") == "Wrong user or password."
        set_language("uk")
        assert _("Wrong user or password.") == "Невірний користувач або пароль."
        set_language("ru")
        assert _("Wrong user or password.") == "Неверный пользователь или пароль."
    finally:
        set_language("ru")
    with pytest.raises(ValueError):
        translations("de")
