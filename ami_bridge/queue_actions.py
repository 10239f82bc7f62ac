"""Agent control through app_queue's AMI actions: validated builders, answers read, thin senders.

The builders (``queue_login``, ``queue_logout``, ``queue_pause``, ``queue_status``) are
pure: they check every value and return the action as a dict for
``AmiConnection.send_action``. The ``*_result`` functions read Asterisk's answer (the
``Message`` texts are app_queue's own). ``send_queue_*`` put the two together over a
connection and nothing more.

Answers that are not failures here: QueueAdd "Already there" (``persistentmembers=yes``
brings campaign members back after a restart, so a login may find the agent in the
queue already) and QueueRemove "Not there" (the agent is out, which is what was asked).

Limits come from app_queue: member names, pause reasons and interfaces are copied into
80-byte buffers (a longer UTF-8 name would be cut mid-letter), and with
``persistentmembers`` the members are saved to astdb as ``;`` fields joined by ``|``, so
those two characters in a name or reason corrupt every member of the queue at restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

from ami_bridge.errors import AmiError
from ami_bridge.protocol import UnsafeAmiValue

log = logging.getLogger(__name__)

Action = dict[str, str]
Answer = Mapping[str, object]

MAX_FIELD_BYTES = 79
"""app_queue keeps interfaces, member names and pause reasons in 80-byte C strings."""
MAX_PENALTY = 2**31 - 1

_QUEUE = re.compile(r"[A-Za-z0-9_-]+")
_TECH = r"[A-Za-z][A-Za-z0-9]*"
_RESOURCE = r"[A-Za-z0-9_.+*#@-]+"
_LOCAL = re.compile(r"Local/[A-Za-z0-9_.+*#-]+@[A-Za-z0-9_.-]+(?:/[A-Za-z]+)?", re.IGNORECASE)
_INTERFACE = re.compile(rf"{_TECH}/{_RESOURCE}")
_STATE_PROVIDER = re.compile(r"(?:Custom|hint):[A-Za-z0-9_.+*#@-]+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidQueueField(ValueError):
    """A value for a queue action is empty, malformed or out of range; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnsafeQueueField(InvalidQueueField, UnsafeAmiValue):
    """A value contains CR or LF, which would inject AMI lines."""


class QueueActionError(AmiError):
    """Asterisk refused a queue action; ``response`` is its answer."""

    def __init__(self, message: str, *, action: str, response: Answer) -> None:
        action_id = response.get("ActionID")
        super().__init__(message, action=action, action_id=action_id if isinstance(action_id, str) else None)
        self.response = dict(response)


class QueueNotFound(QueueActionError):
    """The queue does not exist in queues.conf (or was not reloaded)."""


class MemberNotFound(QueueActionError):
    """QueuePause: the interface is not a member of the queue (or of any queue)."""


class MemberNotDynamic(QueueActionError):
    """QueueRemove of a static member (queues.conf ``member =>``): only a reload removes it."""


class QueueActionRefused(QueueActionError):
    """Any other refusal: permission (``write=agent`` missing), out of memory, an odd answer."""


class QueueOutcome(StrEnum):
    """What a queue action achieved."""

    ADDED = "added"
    ALREADY_MEMBER = "already_member"
    REMOVED = "removed"
    NOT_MEMBER = "not_member"
    PAUSED = "paused"
    UNPAUSED = "unpaused"


class ActionSender(Protocol):
    """What the senders need of a connection (``AmiConnection`` has it)."""

    async def send_action(self, action: Mapping[str, object], timeout: float | None = None,
                          as_list: bool | None = None) -> dict | list[dict]: ...


# ---------------------------------------------------------------------- validation


def _text_field(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidQueueField(field, f"must be text, got {type(value).__name__}")
    if "\r" in value or "\n" in value:
        raise UnsafeQueueField(field, "contains a line break")
    if not value.strip():
        raise InvalidQueueField(field, "is empty")
    if value != value.strip():
        # Asterisk drops leading blanks of a header value: what it stores would differ.
        raise InvalidQueueField(field, f"has leading or trailing spaces: {value!r}")
    if _CONTROL.search(value):
        raise InvalidQueueField(field, f"contains a control character: {value!r}")
    if len(value.encode("utf-8")) > MAX_FIELD_BYTES:
        raise InvalidQueueField(field, f"is longer than {MAX_FIELD_BYTES} bytes in UTF-8: {value!r}")
    return value


def _queue(value: object, field: str = "queue") -> str:
    text = _text_field(field, value)
    if not _QUEUE.fullmatch(text):
        raise InvalidQueueField(field, f"{text!r} is not a queue name (letters, digits, '_' and '-' only)")
    return text


def _interface(value: object, field: str = "interface") -> str:
    text = _text_field(field, value)
    if text[:6].lower() == "local/":
        if not _LOCAL.fullmatch(text):
            raise InvalidQueueField(field, f"{text!r} is not a Local interface (Local/<exten>@<context>[/n])")
    elif not _INTERFACE.fullmatch(text):
        raise InvalidQueueField(field, f"{text!r} is not an interface like PJSIP/101 or Local/101@agents")
    return text


def _state_interface(value: object) -> str:
    text = _text_field("state_interface", value)
    if _STATE_PROVIDER.fullmatch(text):
        return text
    return _interface(text, "state_interface")


def _free_text(field: str, value: object) -> str:
    text = _text_field(field, value)
    if ";" in text or "|" in text:
        raise InvalidQueueField(field, f"may not contain ';' or '|' (astdb member separators): {text!r}")
    return text


def _flag(field: str, value: object) -> str:
    if not isinstance(value, bool):
        raise InvalidQueueField(field, f"must be True or False, got {value!r}")
    return "true" if value else "false"


# ---------------------------------------------------------------------- builders


def queue_login(queue: str, interface: str, member_name: str, state_interface: str | None = None,
                penalty: int = 0, paused: bool = False) -> Action:
    """A ``QueueAdd`` action putting ``interface`` into ``queue`` as ``member_name``."""
    if isinstance(penalty, bool) or not isinstance(penalty, int):
        raise InvalidQueueField("penalty", f"must be a whole number, got {penalty!r}")
    if not 0 <= penalty <= MAX_PENALTY:
        # Asterisk would silently turn a negative penalty into 0.
        raise InvalidQueueField("penalty", f"must be between 0 and {MAX_PENALTY}, got {penalty}")
    action: Action = {
        "Action": "QueueAdd",
        "Queue": _queue(queue),
        "Interface": _interface(interface),
        "Penalty": str(penalty),
        "Paused": _flag("paused", paused),
        "MemberName": _free_text("member_name", member_name),
    }
    if state_interface is not None:
        action["StateInterface"] = _state_interface(state_interface)
    return action


def queue_logout(queue: str, interface: str) -> Action:
    """A ``QueueRemove`` action taking ``interface`` out of ``queue``."""
    return {"Action": "QueueRemove", "Queue": _queue(queue), "Interface": _interface(interface)}


def queue_pause(interface: str, paused: bool, reason: str | None, queue: str | None = None) -> Action:
    """A ``QueuePause`` action; without ``queue`` it applies to every queue of ``interface``."""
    action: Action = {"Action": "QueuePause", "Interface": _interface(interface), "Paused": _flag("paused", paused)}
    if queue is not None:
        action["Queue"] = _queue(queue)
    if reason is not None:
        action["Reason"] = _free_text("reason", reason)
    return action


def queue_status(queue: str | None = None) -> Action:
    """A ``QueueStatus`` action (every queue, or one); its answer is a list."""
    action: Action = {"Action": "QueueStatus"}
    if queue is not None:
        action["Queue"] = _queue(queue)
    return action


# ---------------------------------------------------------------------- answers


def _single(action: str, answer: object) -> Answer:
    if isinstance(answer, list) and answer and isinstance(answer[0], Mapping):
        # Only a misread list start would give a list here; its first message is the answer.
        answer = answer[0]
    if not isinstance(answer, Mapping):
        raise QueueActionRefused(f"{action}: unexpected answer {answer!r}", action=action, response={})
    return answer


def _field(answer: Answer, name: str) -> str:
    for key, value in answer.items():
        if key.lower() == name.lower():
            if isinstance(value, list):
                value = value[0] if value else ""
            return value if isinstance(value, str) else ""
    return ""


def _refused(action: str, what: str, answer: Answer) -> QueueActionRefused:
    message = _field(answer, "Message") or _field(answer, "Response") or "no message"
    hint = " (the AMI user needs write=agent in manager.conf)" if "permission" in message.lower() else ""
    subject = f"{action} {what}" if what else action
    return QueueActionRefused(f"{subject} refused by Asterisk: {message}{hint}", action=action, response=answer)


def _is_success(answer: Answer) -> bool:
    return _field(answer, "Response").lower() == "success"


def login_result(answer: object, queue: str = "?", interface: str = "?") -> QueueOutcome:
    """Read a ``QueueAdd`` answer: ADDED or ALREADY_MEMBER, else raise ``QueueActionError``."""
    reply = _single("QueueAdd", answer)
    message = _field(reply, "Message").lower()
    what = f"of {interface} to queue {queue}"
    if _is_success(reply):
        return QueueOutcome.ADDED
    if "already there" in message:
        return QueueOutcome.ALREADY_MEMBER
    if "no such queue" in message:
        raise QueueNotFound(f"QueueAdd {what}: there is no queue {queue!r} in queues.conf",
                            action="QueueAdd", response=reply)
    raise _refused("QueueAdd", what, reply)


def logout_result(answer: object, queue: str = "?", interface: str = "?") -> QueueOutcome:
    """Read a ``QueueRemove`` answer: REMOVED or NOT_MEMBER, else raise ``QueueActionError``."""
    reply = _single("QueueRemove", answer)
    message = _field(reply, "Message").lower()
    what = f"of {interface} from queue {queue}"
    if _is_success(reply):
        return QueueOutcome.REMOVED
    if "not there" in message:
        return QueueOutcome.NOT_MEMBER
    if "no such queue" in message:
        raise QueueNotFound(f"QueueRemove {what}: there is no queue {queue!r} in queues.conf",
                            action="QueueRemove", response=reply)
    if "not dynamic" in message:
        raise MemberNotDynamic(f"QueueRemove {what}: a static member of queues.conf cannot be removed over AMI",
                               action="QueueRemove", response=reply)
    raise _refused("QueueRemove", what, reply)


def pause_result(answer: object, paused: bool, interface: str = "?", queue: str | None = None) -> QueueOutcome:
    """Read a ``QueuePause`` answer: PAUSED or UNPAUSED, else raise ``QueueActionError``."""
    reply = _single("QueuePause", answer)
    message = _field(reply, "Message").lower()
    where = f"queue {queue}" if queue else "any queue"
    if _is_success(reply):
        return QueueOutcome.PAUSED if paused else QueueOutcome.UNPAUSED
    if "interface not found" in message:
        # Asterisk answers the same for an unknown queue and for a non-member.
        raise MemberNotFound(f"QueuePause of {interface}: not a member of {where}"
                             + (" (or no such queue)" if queue else ""),
                             action="QueuePause", response=reply)
    raise _refused("QueuePause", f"of {interface} in {where}", reply)


def status_result(answer: object) -> list[dict]:
    """Check a ``QueueStatus`` answer and return its messages (Response, events, Complete)."""
    messages = answer if isinstance(answer, list) else [answer]
    if not messages or not isinstance(messages[0], Mapping):
        raise QueueActionRefused(f"QueueStatus: unexpected answer {answer!r}", action="QueueStatus", response={})
    if not _is_success(messages[0]):
        raise _refused("QueueStatus", "", messages[0])
    return [dict(m) for m in messages if isinstance(m, Mapping)]


# ---------------------------------------------------------------------- senders


async def send_queue_login(conn: ActionSender, queue: str, interface: str, member_name: str, *,
                           state_interface: str | None = None, penalty: int = 0, paused: bool = False,
                           timeout: float | None = None) -> QueueOutcome:
    """Add an agent to a queue; ALREADY_MEMBER is success. Raises ``QueueNotFound`` and co."""
    action = queue_login(queue, interface, member_name, state_interface, penalty, paused)
    # One-message answer: said explicitly, "Added interface to queue" is no list start.
    outcome = login_result(await conn.send_action(action, timeout, as_list=False), queue, interface)
    log.info("queue.member.login queue=%s interface=%s outcome=%s", queue, interface, outcome)
    return outcome


async def send_queue_logout(conn: ActionSender, queue: str, interface: str, *,
                            timeout: float | None = None) -> QueueOutcome:
    """Take an agent out of a queue; NOT_MEMBER is success. Raises ``QueueNotFound`` and co."""
    action = queue_logout(queue, interface)
    outcome = logout_result(await conn.send_action(action, timeout, as_list=False), queue, interface)
    log.info("queue.member.logout queue=%s interface=%s outcome=%s", queue, interface, outcome)
    return outcome


async def send_queue_pause(conn: ActionSender, interface: str, paused: bool, reason: str | None,
                           queue: str | None = None, *, timeout: float | None = None) -> QueueOutcome:
    """Pause or resume an agent (in ``queue`` or all its queues). Raises ``MemberNotFound`` and co."""
    action = queue_pause(interface, paused, reason, queue)
    outcome = pause_result(await conn.send_action(action, timeout, as_list=False), paused, interface, queue)
    log.info("queue.member.pause interface=%s queue=%s outcome=%s", interface, queue or "*", outcome)
    return outcome


async def send_queue_status(conn: ActionSender, queue: str | None = None, *,
                            timeout: float | None = None) -> list[dict]:
    """The ``QueueStatus`` answer as a list of messages, for ``AgentStates.resync``."""
    return status_result(await conn.send_action(queue_status(queue), timeout, as_list=True))
