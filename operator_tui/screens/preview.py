"""Preview dialling: the next lead's card first; the operator accepts (the call is placed) or skips with a reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.card_view import card_view
from operator_tui.context import DeskContext
from operator_tui.formatting import phone
from operator_tui.i18n import N_, _
from operator_tui.screens.base import DeskModal
from operator_tui.screens.pick import PickScreen
from operator_tui.widgets.client_card import ClientCard
from operator_tui.widgets.key_bar import KeyBar

SKIP_REASONS = (N_("not the right time zone / hour"), N_("already a client"), N_("data looks wrong"),
                N_("asked not to be called"))


def lead_id_of(lead: dict[str, Any]) -> int | None:
    for value in (lead.get("lead_id"), lead.get("id"), (lead.get("lead") or {}).get("id")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def client_id_of(lead: dict[str, Any]) -> int | None:
    for value in (lead.get("client_id"), (lead.get("client") or {}).get("id"), (lead.get("lead") or {}).get("client_id")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class PreviewScreen(DeskModal):
    """Dismisses with ``("accepted", campaign_id, lead, answer)`` or None."""

    DEFAULT_CSS = """
    PreviewScreen .dialog { height: 90%; }
    PreviewScreen ClientCard { height: 1fr; }
    PreviewScreen #preview-status { height: auto; }
    """

    BINDINGS = [
        Binding("f3", "accept", N_("Accept and call")),
        Binding("f8", "skip", N_("Skip")),
        Binding("escape", "cancel", N_("Close")),
    ]

    def __init__(self, ctx: DeskContext, campaign: dict[str, Any]) -> None:
        super().__init__()
        self.ctx = ctx
        self.campaign = campaign
        self.lead: dict[str, Any] | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Static(id="preview-head", markup=False)
            yield Static(id="preview-lead", markup=False)
            yield ClientCard(id="preview-card")
            yield Static(id="preview-status", markup=False)

    def on_mount(self) -> None:
        self._head()
        self.load_next()

    def retranslate(self) -> None:
        self._head()
        self.query_one("#preview-card", ClientCard).retranslate()

    def _head(self) -> None:
        head = Text(_("Preview") + f": {self.campaign.get('name') or '#' + str(self.campaign.get('id'))}", style="bold")
        self.query_one("#preview-head", Static).update(head)

    def _status(self, message: str, error: bool = False) -> None:
        self.query_one("#preview-status", Static).update(Text(message, style="bold red" if error else "dim"))

    @work(exclusive=True, group="preview")
    async def load_next(self) -> None:
        self.lead = None
        self.busy = True
        self._status(_("Asking for the next lead…"))
        card_widget = self.query_one("#preview-card", ClientCard)
        card_widget.view = None
        try:
            lead = await self.ctx.api.campaigns.preview_next(int(self.campaign["id"]))
            if not lead:
                self._status(_("No more leads to preview in this campaign."))
                return
            self.lead = lead
            info = Text()
            number = lead.get("phone") or lead.get("phone_e164") or lead.get("number")
            if number:
                info.append(phone(str(number)) + "  ", style="bold")
            for key, label in (("attempts", N_("Attempt")), ("priority", N_("Priority"))):
                if lead.get(key) is not None:
                    info.append(f"{_(label)}: {lead[key]}  ", style="dim")
            self.query_one("#preview-lead", Static).update(info)
            client_id = client_id_of(lead)
            card = await self.ctx.api.client_card(client_id, history_limit=self.ctx.config.history_items) \
                if client_id else None
            now: datetime = self.ctx.clock.now()
            summary = lead.get("client") if isinstance(lead.get("client"), dict) else {}
            pop = {"campaign_id": self.campaign.get("id"), "campaign_name": self.campaign.get("name"), "lead": lead,
                   "number": number, "open_interactions": lead.get("open_interactions") or [],
                   "client": {"client_id": client_id, "name": lead.get("client_name") or "", **summary}}
            card_widget.view = card_view(pop, card, None, self.campaign, now, self.ctx.config.history_items)
            self._status(_("F3 accepts and calls, F8 skips with a reason."))
        except ServerUnreachable:
            self._status(_("The server cannot be reached; try again in a moment."), error=True)
        except ApiError as exc:
            self._status(_("The server did not accept it: {reason}").format(reason=exc.describe()), error=True)
        finally:
            self.busy = False

    @work(exclusive=True, group="preview")
    async def action_accept(self) -> None:
        lead = self.lead
        lead_id = lead_id_of(lead) if lead else None
        if lead is None or lead_id is None or self.busy:
            return
        self.busy = True
        try:
            answer = await self.ctx.api.campaigns.preview_accept(int(self.campaign["id"]), lead_id)
        except ServerUnreachable:
            self._status(_("The server cannot be reached; try again in a moment."), error=True)
            return
        except ApiError as exc:
            self._status(_("The server did not accept it: {reason}").format(reason=exc.describe()), error=True)
            return
        finally:
            self.busy = False
        self.dismiss(("accepted", int(self.campaign["id"]), lead, answer))

    def action_skip(self) -> None:
        if self.lead is None or self.busy:
            return
        reasons = [(_(r), r) for r in SKIP_REASONS]
        self.app.push_screen(PickScreen(N_("Why skip this lead?"), reasons, free_text=N_("or type the reason:"),
                                        translate=True), self._skip_with)

    def _skip_with(self, reason: str | None) -> None:
        if reason:
            self.skip(reason)

    @work(exclusive=True, group="preview")
    async def skip(self, reason: str) -> None:
        lead = self.lead
        lead_id = lead_id_of(lead) if lead else None
        if lead_id is None:
            return
        try:
            await self.ctx.api.campaigns.preview_skip(int(self.campaign["id"]), lead_id, reason)
        except ServerUnreachable:
            self._status(_("The server cannot be reached; try again in a moment."), error=True)
            return
        except ApiError as exc:
            self._status(_("The server did not accept it: {reason}").format(reason=exc.describe()), error=True)
            return
        self.load_next()

    def action_cancel(self) -> None:
        self.dismiss(None)
