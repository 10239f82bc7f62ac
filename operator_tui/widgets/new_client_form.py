"""A new client for an unknown number: name, kind, contact person, phone (prefilled), region, note."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, RadioButton, RadioSet, Static

from operator_tui.i18n import N_, _
from operator_tui.messages import NewClientSubmitted
from operator_tui.widgets.translated import Tr, TrButton

FIELDS = (
    ("nc-name", N_("Company or person name")),
    ("nc-first-name", N_("Contact first name")),
    ("nc-last-name", N_("Contact last name")),
    ("nc-phone", N_("Phone")),
    ("nc-region", N_("Region")),
    ("nc-comment", N_("Note")),
)


def client_body(values: dict[str, str], person: bool) -> dict[str, Any]:
    """The POST /api/clients body from the form's fields (empty fields left out)."""
    name = values.get("nc-name", "").strip()
    first, last = values.get("nc-first-name", "").strip(), values.get("nc-last-name", "").strip()
    number = values.get("nc-phone", "").strip()
    if not name and person:
        name = " ".join(p for p in (last, first) if p)
    body: dict[str, Any] = {"name": name, "kind": "person" if person else "company"}
    if values.get("nc-region", "").strip():
        body["region"] = values["nc-region"].strip()
    if values.get("nc-comment", "").strip():
        body["comment"] = values["nc-comment"].strip()
    if number:
        body["phones"] = [{"number": number}]
    if first and not person:
        contact: dict[str, Any] = {"first_name": first}
        if last:
            contact["last_name"] = last
        body["contacts"] = [contact]
    return body


class NewClientForm(VerticalScroll):
    """Posts NewClientSubmitted on Ctrl+S or the Save button; the fields keep what was typed."""

    DEFAULT_CSS = """
    NewClientForm { height: 1fr; padding: 0 1; }
    NewClientForm #nc-title { text-style: bold; color: $accent; }
    NewClientForm Input { margin-bottom: 0; }
    NewClientForm RadioSet { height: auto; border: none; layout: horizontal; }
    NewClientForm #nc-error { color: $error; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Tr("New client", id="nc-title")
        with RadioSet(id="nc-kind"):
            yield RadioButton(_("company"), value=True, id="nc-company")
            yield RadioButton(_("person"), id="nc-person")
        for field_id, label in FIELDS:
            yield Tr(label)
            yield Input(id=field_id)
        yield Static(id="nc-error", markup=False)
        with Horizontal(classes="buttons"):
            yield TrButton("Save (Ctrl+S)", id="nc-save", variant="primary")

    def retranslate(self) -> None:
        self.query_one("#nc-company", RadioButton).label = _("company")
        self.query_one("#nc-person", RadioButton).label = _("person")

    def prefill(self, phone: str | None, name: str | None) -> None:
        """A new caller: the number (and the caller ID name) go in, the rest is cleared."""
        for field_id, _label in FIELDS:
            self.query_one(f"#{field_id}", Input).value = ""
        self.query_one("#nc-phone", Input).value = phone or ""
        if name:
            self.query_one("#nc-first-name", Input).value = name
        self.show_error(None)

    def values(self) -> dict[str, str]:
        return {field_id: self.query_one(f"#{field_id}", Input).value for field_id, _label in FIELDS}

    def show_error(self, message: str | None) -> None:
        self.query_one("#nc-error", Static).update(message or "")

    def focus_first(self) -> None:
        self.query_one("#nc-name", Input).focus()

    def submit(self) -> None:
        person = self.query_one("#nc-person", RadioButton).value
        body = client_body(self.values(), person)
        if not body["name"]:
            self.show_error(_("Give the company or person name."))
            self.focus_first()
            return
        self.post_message(NewClientSubmitted(body))

    def on_button_pressed(self, event: TrButton.Pressed) -> None:
        if event.button.id == "nc-save":
            event.stop()
            self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()
