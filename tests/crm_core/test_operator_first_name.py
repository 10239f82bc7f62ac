"""`{operator.first_name}` in scripts: the given name, whichever order the full name is written in."""

from __future__ import annotations

import pytest

from crm_core.services.script_protocols import _first_name


@pytest.mark.parametrize(("full_name", "first"), [
    ("Смирнов Кирилл Андреевич", "Кирилл"),        # surname first, the HR order
    ("Ольга Андреевна Иванова", "Ольга"),          # given name first, as people sign
    ("Коваленко Олег Петрович", "Олег"),
    ("Святлана Міхайлаўна Жук", "Святлана"),       # Belarusian patronymic
    ("Шевченко Оксана Іванівна", "Оксана"),        # Ukrainian patronymic
    ("Кирилл Смирнов", "Кирилл"),
    ("Администратор", "Администратор"),
    ("", ""),
])
def test_the_first_name_is_found_by_the_patronymics_place(full_name: str, first: str) -> None:
    assert _first_name(full_name) == first
