"""Placeholders in single braces, rendered in the Jinja2 sandbox; problems name the field."""

from __future__ import annotations

from scripts_engine.templates import parse_template, render_text

VALUES = {
    "client": {"name": "ООО «Вектор-Сибирь»", "region": "Новосибирская область", "segment": None},
    "contact": {"first_name": "Ольга", "middle_name": "Петровна", "emails": ["o.kravtsova@vektor-sib.ru", "sales@vektor-sib.ru"]},
    "operator": {"name": "Кирилл Смирнов", "first_name": "Кирилл"},
    "custom": {"product": "Звонарь CRM"},
    "answer": {"team_size": 15.0, "callback": True, "pains": ["Пропущенные звонки", "Нет записи"]},
}


def test_fields_are_filled_in() -> None:
    r = render_text("{contact.first_name} {contact.middle_name}, это {operator.first_name} из «{custom.product}».", VALUES)
    assert r.text == "Ольга Петровна, это Кирилл из «Звонарь CRM»."
    assert r.problems == ()


def test_answers_read_as_words() -> None:
    r = render_text("Сотрудников: {answer.team_size}; перезвонить: {answer.callback}; {answer.pains}", VALUES)
    assert r.text == "Сотрудников: 15; перезвонить: да; Пропущенные звонки, Нет записи"
    assert render_text("{answer.callback}", VALUES, language="uk").text == "так"


def test_filters_from_the_whitelist() -> None:
    r = render_text('{client.segment|default("без сегмента")} / {contact.emails|join("; ")} / {operator.first_name|upper}', VALUES)
    assert r.text == "без сегмента / o.kravtsova@vektor-sib.ru; sales@vektor-sib.ru / КИРИЛЛ"


def test_missing_field_is_named_and_marked_never_raised() -> None:
    r = render_text("Регион: {client.region}, сегмент: {client.segment}, ИНН: {client.tax_id}.", VALUES)
    assert r.text == "Регион: Новосибирская область, сегмент: [client.segment], ИНН: [client.tax_id]."
    assert [(p.field, p.message) for p in r.problems] == [
        ("client.segment", "no value for {client.segment}"), ("client.tax_id", "no value for {client.tax_id}")]


def test_json_and_other_brace_text_stays_as_written() -> None:
    text = 'Пример запроса: {"phone": "+79130000000", "ok": true} и пустые {} { } скобки'
    r = render_text(text, VALUES)
    assert r.text == text and r.problems == ()


def test_cyrillic_in_braces_is_text() -> None:
    assert render_text("{имя клиента}", VALUES).text == "{имя клиента}"


def test_code_is_never_run() -> None:
    for text in ("{client.__class__}", "{client.name.__class__.__mro__}", "{client.name|attr('__class__')}",
                 "{client.name + 1}", "{cycler.__init__.__globals__}", "{lipsum.__globals__}"):
        r = render_text(text, VALUES)
        assert r.problems, text
        assert "<class" not in r.text and "<function" not in r.text and "dict" not in r.text, text
    assert render_text("{client.__class__}", VALUES).text == "{client.__class__}"
    assert render_text("{custom.product.__class__}", VALUES).problems


def test_author_mistakes_become_problems() -> None:
    cases = {
        "{name}": "a placeholder needs a source",
        "{clients.name}": "unknown source 'clients'",
        "{client.name|shout}": "unknown filter 'shout'",
        "{{client.name}}": "use single braces",
        "{client.name ~ 'x'}": "not a placeholder",
    }
    for text, message in cases.items():
        parsed = parse_template(text)
        assert len(parsed.problems) == 1, text
        assert message in parsed.problems[0].message, text
        assert render_text(text, VALUES).problems == parsed.problems


def test_placeholders_are_listed_for_the_checker() -> None:
    parsed = parse_template('Здравствуйте, {contact.first_name|default("коллега")}! {answer.nps}')
    assert [(p.path, p.has_default) for p in parsed.placeholders] == [("contact.first_name", True), ("answer.nps", False)]
