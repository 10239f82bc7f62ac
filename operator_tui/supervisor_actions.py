"""What the campaigns list and the wallboard both ask of the server about a campaign, said the same way."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.context import DeskContext
from operator_tui.i18n import _
from operator_tui.supervisor_campaigns import TRANSITION_DONE, TRANSITION_REFUSED


async def transition(screen: Screen, ctx: DeskContext, campaign: dict[str, Any], action: str) -> dict[str, Any] | None:
    """Launch, pause, resume or stop; a refusal is said in the server's words. The new campaign, or None."""
    try:
        out = await ctx.api.campaign_transition(int(campaign["id"]), action)
    except ServerUnreachable:
        screen.notify(_("The server cannot be reached; try again in a moment."), severity="error")
        return None
    except ApiError as exc:
        message = _(TRANSITION_REFUSED[action]).format(name=campaign.get("name", ""), reason=exc.describe())
        screen.notify(message, severity="error", timeout=10)
        show = getattr(screen, "show_error", None)
        if callable(show):
            show(message)
        return None
    screen.notify(_(TRANSITION_DONE[action]).format(name=out.get("name", "")))
    return out
