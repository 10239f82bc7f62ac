"""Wrap-up after a call, beside the card: the disposition, a comment, a callback, a meeting.

Times are typed in the client's local time (what the operator agrees with the client)
and shown in the operator's time too. The fields write into ``draft`` as they change,
so closing the panel, a refusal or a crash loses nothing. The panel posts Submitted;
the desk sends (or queues, when the server is away) and only then closes it. It sits
in the desk rather than over it: the card and the status bar stay in view, and a
screen pop arriving meanwhile repaints only what changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static, TextArea

from operator_tui.clock import Clock
from operator_tui.datetime_input import BadMoment, parse_moment, tomorrow_at, typed
from operator_tui.formatting import duration, phone, utc_offset, zone
from operator_tui.i18n import _
from operator_tui.widgets.answer_input import AnswerGiven, ChoiceAnswer
from operator_tui.widgets.translated import Tr, TrButton
from operator_tui.wrapup import Disposition, WrapUp


class WrapUpPanel(VerticalScroll):
    """One wrap-up's form; made anew for each call (its dispositions are the call's)."""

    DEFAULT_CSS = """
    WrapUpPanel { height: 1fr; padding: 0 1; }
    WrapUpPanel #wu-dispositions { height: auto; max-height: 10; border: none; padding: 0; }
    WrapUpPanel #wu-comment { height: 4; }
    WrapUpPanel .row { height: auto; }
    WrapUpPanel .row Input { width: 1fr; }
    WrapUpPanel #wu-error { color: $error; height: auto; }
    WrapUpPanel .hint { color: $text-muted; height: auto; width: 100%; }
    """

    class Submitted(Message):
        """The operator saved a complete wrap-up."""

        def __init__(self, wrapup: WrapUp) -> None:
            super().__init__()
            self.wrapup = wrapup

    def __init__(self, *, call: dict[str, Any], dispositions: list[Disposition], client_zone: str | None,
                 clock: Clock, draft: dict[str, Any], note: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.call = call
        self.dispositions = dispositions
        self.client_tz: tzinfo | None = zone(client_zone)
        self.clock = clock
        self.draft = draft
        self.note = note

    @property
    def typing_tz(self) -> tzinfo:
        return self.client_tz or self.clock.now().tzinfo  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="wu-head", markup=False)
        if self.note:
            yield Static(self.note, classes="hint", markup=False)
        yield Tr("Outcome of the call (number keys)")
        yield ChoiceAnswer([(d.code, d.name) for d in self.dispositions], multi=False, id="wu-dispositions")
        yield Static(id="wu-picked", markup=False)
        yield Tr("Comment")
        yield TextArea(self.draft.get("comment", ""), id="wu-comment", soft_wrap=True)
        yield Tr("Call back at (client's time): DD.MM.YYYY HH:MM, HH:MM, +2h")
        yield Input(self.draft.get("callback", ""), id="wu-callback")
        yield Static(id="wu-callback-hint", classes="hint", markup=False)
        yield Tr("Meeting at (client's time) and subject")
        with Horizontal(classes="row"):
            yield Input(self.draft.get("meeting", ""), id="wu-meeting")
            yield Input(self.draft.get("meeting_subject", ""), id="wu-meeting-subject")
        yield Static(id="wu-meeting-hint", classes="hint", markup=False)
        yield Static(id="wu-error", markup=False)
        yield Tr("Ctrl+S saves · Ctrl+K callback in 1 h · Ctrl+T tomorrow 10:00 · Esc closes (kept)", classes="hint")
        with Horizontal(classes="row"):
            yield TrButton("Save (Ctrl+S)", id="wu-save", variant="primary")

    def on_mount(self) -> None:
        codes = [d.code for d in self.dispositions]
        picker = self.query_one("#wu-dispositions", ChoiceAnswer)
        if self.draft.get("code") in codes:
            picker.highlighted = codes.index(self.draft["code"])
        picker.focus()
        self._refresh_texts()

    def retranslate(self) -> None:
        self._refresh_texts()

    # ------------------------------------------------------------------ texts

    def _refresh_texts(self) -> None:
        now = self.clock.now()
        head = Text()
        head.append(_("Wrap-up") + ": ", style="bold")
        head.append(str(self.call.get("client_name") or _("Unknown caller")), style="bold")
        if self.call.get("number"):
            head.append("  " + phone(self.call["number"]))
        if self.call.get("talk_seconds") is not None:
            head.append("  ⏱ " + duration(self.call["talk_seconds"]))
        if self.client_tz is not None:
            there = now.astimezone(self.client_tz)
            head.append("\n" + _("Client's time now") + f": {there:%d.%m %H:%M} ({utc_offset(there)})", style="dim")
        self.query_one("#wu-head", Static).update(head)
        picked = self._disposition()
        self.query_one("#wu-picked", Static).update(
            (_("Chosen") + f": {picked.name}") if picked else _("Choose an outcome."))
        self.query_one("#wu-meeting-subject", Input).placeholder = _("Meeting subject")
        self.query_one("#wu-meeting", Input).placeholder = _("DD.MM.YYYY HH:MM")
        self.query_one("#wu-callback", Input).placeholder = _("DD.MM.YYYY HH:MM")
        self._hint("wu-callback")
        self._hint("wu-meeting")

    def _hint(self, field_id: str) -> None:
        hint = self.query_one(f"#{field_id}-hint", Static)
        try:
            moment = parse_moment(self.query_one(f"#{field_id}", Input).value, self.typing_tz, self.clock.now())
        except BadMoment:
            hint.update(_("Not a date and time the desk can read."))
            return
        if moment is None:
            hint.update("")
            return
        mine = moment.astimezone(self.clock.now().tzinfo)
        hint.update(_("Client's time {client}, your time {mine}").format(
            client=f"{moment:%d.%m %H:%M} ({utc_offset(moment)})", mine=f"{mine:%d.%m %H:%M}"))

    def _disposition(self) -> Disposition | None:
        code = self.draft.get("code")
        return next((d for d in self.dispositions if d.code == code), None)

    # ------------------------------------------------------------------ keeping the draft

    def on_input_changed(self, event: Input.Changed) -> None:
        key = {"wu-callback": "callback", "wu-meeting": "meeting", "wu-meeting-subject": "meeting_subject"}.get(
            event.input.id or "")
        if key:
            self.draft[key] = event.value
            if key != "meeting_subject":
                self._hint(event.input.id or "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.draft["comment"] = event.text_area.text

    def on_answer_given(self, event: AnswerGiven) -> None:
        event.stop()
        self.draft["code"] = event.value
        self._refresh_texts()
        self.query_one("#wu-comment", TextArea).focus()

    def choose(self, index: int) -> bool:
        return self.query_one("#wu-dispositions", ChoiceAnswer).choose(index)

    def callback_in_hour(self) -> None:
        moment = self.clock.now().astimezone(self.typing_tz).replace(second=0, microsecond=0) + timedelta(hours=1)
        self.query_one("#wu-callback", Input).value = typed(moment)

    def callback_tomorrow(self) -> None:
        self.query_one("#wu-callback", Input).value = typed(tomorrow_at(10, self.typing_tz, self.clock.now()))

    # ------------------------------------------------------------------ sending

    def show_error(self, message: str) -> None:
        self.query_one("#wu-error", Static).update(message)

    def set_busy(self, busy: bool) -> None:
        self.query_one("#wu-save", TrButton).disabled = busy

    def collect(self) -> WrapUp | None:
        """The WrapUp from the fields, or None with the reason shown."""
        picked = self._disposition()
        if picked is None:
            self.show_error(_("Choose an outcome first (number keys)."))
            self.query_one("#wu-dispositions", ChoiceAnswer).focus()
            return None
        now = self.clock.now()
        moments: dict[str, datetime | None] = {}
        for key, field_id in (("callback", "wu-callback"), ("meeting", "wu-meeting")):
            field = self.query_one(f"#{field_id}", Input)
            try:
                moments[key] = parse_moment(field.value, self.typing_tz, now)
            except BadMoment:
                self.show_error(_("Not a date and time the desk can read.") + f" ({field.value})")
                field.focus()
                return None
            moment = moments[key]
            if moment is not None and moment <= now:
                self.show_error(_("That time has already passed."))
                field.focus()
                return None
        return WrapUp(
            client_id=self.call.get("client_id"), direction=str(self.call.get("direction") or "inbound"),
            disposition=picked, comment=self.query_one("#wu-comment", TextArea).text,
            callback_at=moments["callback"], meeting_at=moments["meeting"],
            meeting_subject=self.query_one("#wu-meeting-subject", Input).value,
            campaign_id=self.call.get("campaign_id"), lead_id=self.call.get("lead_id"),
            ended_at=datetime.fromisoformat(self.call["ended_at"]) if self.call.get("ended_at") else None,
        )

    def save(self) -> None:
        wrapup = self.collect()
        if wrapup is not None:
            self.show_error("")
            self.post_message(self.Submitted(wrapup))

    def on_button_pressed(self, event: TrButton.Pressed) -> None:
        if event.button.id == "wu-save":
            event.stop()
            self.save()
