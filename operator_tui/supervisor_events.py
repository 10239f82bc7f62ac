"""A supervisor screen's own event stream: /api/ws opened while the screen is up, closed with it.

The app hands its events to the desk only; a wallboard left open on a second monitor
all day must not depend on the desk underneath it, so each live screen reads the
stream itself (one more WebSocket while it is open) and gets ``ServerEvent`` and
``LinkChanged`` messages like the desk does.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from operator_tui.context import DeskContext
from operator_tui.messages import LinkChanged, ServerEvent
from operator_tui.ws_client import EventStream, Link


def follow_events(screen: Screen, ctx: DeskContext) -> None:
    """Run the event stream in a worker of ``screen`` (cancelled, and the socket closed, when it goes)."""

    def on_event(topic: str, payload: dict[str, Any]) -> None:
        screen.post_message(ServerEvent(topic, payload))

    def on_link(link: Link) -> None:
        screen.post_message(LinkChanged(link))

    stream = EventStream(ctx.api.ws_connect, backoff_base=ctx.config.ws_backoff_base,
                         backoff_cap=ctx.config.ws_backoff_cap)
    screen.run_worker(stream.run(on_event, on_link), group="supervisor-events", exclusive=True,
                      exit_on_error=False, name="supervisor-events")
