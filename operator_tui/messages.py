"""Messages that go up the desk's widget tree (and from the app's event stream to the desk)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from operator_tui.ws_client import Link


class ServerEvent(Message):
    """One event from /api/ws: ``topic`` and its ``payload``."""

    def __init__(self, topic: str, payload: dict[str, Any]) -> None:
        super().__init__()
        self.topic = topic
        self.payload = payload


class LinkChanged(Message):
    """The WebSocket connection changed state (online, offline with a retry time, ...)."""

    def __init__(self, link: Link) -> None:
        super().__init__()
        self.link = link


class LoggedIn(Message):
    """The login screen got a token; ``user`` is the server's user record."""

    def __init__(self, user: dict[str, Any]) -> None:
        super().__init__()
        self.user = user


class OpenClient(Message):
    """Show this client's card on the desk."""

    def __init__(self, client_id: int) -> None:
        super().__init__()
        self.client_id = client_id


class CallRequested(Message):
    """Click-to-call: a phone number, or a client (its first number)."""

    def __init__(self, phone: str | None = None, client_id: int | None = None) -> None:
        super().__init__()
        self.phone = phone
        self.client_id = client_id


class ScriptAction(Message):
    """The operator did something in the script panel: answer, back, objection, return, finish."""

    def __init__(self, kind: str, **args: Any) -> None:
        super().__init__()
        self.kind = kind
        self.args = args


class NewClientSubmitted(Message):
    """The new-client form's body for POST /api/clients."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__()
        self.body = body
