"""The Originates of campaign calls (pure builders; every value checked before it nears AMI).

Predictive/progressive: the client's number through the trunk into ``zvonar-campaign``
exten ``s`` with ZVONAR_QUEUE/ZVONAR_CAMPAIGN (asterisk-config/extensions.conf); the
client has answered when the dialplan runs, and the queue hands the call to an agent
within 2 s or reports an abandon. Preview: the operator's own phone first, then the
client, exactly like click-to-call.
"""

from __future__ import annotations

import re
from typing import Any

from ami_bridge.click_to_call import originate_action
from ami_bridge.protocol import check_field
from crm_core.campaign_settings import clean_sound_name

_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,80}")
# Asterisk splits an Originate's Variable header at commas; quotes and brackets would
# break the CallerID they end up in.
_NAME_DROP = re.compile(r'[,"<>\\\x00-\x1f\x7f|;]')


def display_name(name: str | None, limit: int = 60) -> str:
    """A client name safe as a channel variable and a CallerID name."""
    return " ".join(_NAME_DROP.sub(" ", name or "").split())[:limit]


def campaign_originate(
    *, action_id: str, digits: str, campaign_id: int, lead_id: int, queue: str, client_name: str | None,
    trunk_dial_template: str, context: str, timeout_ms: int, caller_id: str | None, amd: bool = False,
    abandon_message: str | None = None,
) -> dict[str, Any]:
    """The Originate of one predictive/progressive call (see asterisk-config/extensions.conf [zvonar-campaign]).

    ``amd``: the dialplan runs answering-machine detection before the queue (ZVONAR_AMD=1).
    ``abandon_message``: the sound a client no agent took in time hears (ZVONAR_ABANDON_MESSAGE);
    None: the stock apology.
    """
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValueError(f"number: {digits!r} is not E.164 digits")
    if not _QUEUE.fullmatch(queue):
        raise ValueError(f"queue: {queue!r} is not a queue name (letters, digits, '_' and '-')")
    variables = [f"ZVONAR_QUEUE={queue}", f"ZVONAR_CAMPAIGN={campaign_id}", f"ZVONAR_LEAD_ID={lead_id}",
                 f"ZVONAR_CLIENT_NUM={digits}"]
    name = display_name(client_name)
    if name:
        variables.append(f"ZVONAR_CLIENT_NAME={name}")
    if amd:
        variables.append("ZVONAR_AMD=1")
    if abandon_message:
        if clean_sound_name(abandon_message, "abandon_message") != abandon_message:
            raise ValueError(f"abandon_message: {abandon_message!r} is not a sound name")
        variables.append(f"ZVONAR_ABANDON_MESSAGE={abandon_message}")
    action: dict[str, Any] = {
        "ActionID": action_id,
        "Channel": trunk_dial_template.format(number=digits),
        "Context": context,
        "Exten": "s",
        "Priority": "1",
        "Timeout": str(int(timeout_ms)),
        "Async": "true",
        "Variable": variables,
    }
    if caller_id:
        action["CallerID"] = caller_id
    for key, value in action.items():
        for item in value if isinstance(value, list) else [value]:
            check_field(key, item)
    return action


def preview_originate(
    *, action_id: str, endpoint: str, digits: str, client_name: str | None, client_id: int, user_id: int,
    campaign_id: int, lead_id: int, agent_channel_template: str, context: str, timeout_ms: int,
    caller_id: str | None = None,
) -> dict[str, Any]:
    """The Originate of an accepted preview card: the operator's phone, then the client (click-to-call).

    ``caller_id``: the campaign's own, shown to the client instead of the company's
    (``ZVONAR_CALLER_ID``, which zvonar-outbound puts on the client leg).
    """
    action = originate_action(
        endpoint, digits, display_name(client_name) or digits, agent_channel_template=agent_channel_template,
        context=context, timeout_ms=timeout_ms, client_id=client_id, user_id=user_id,
    )
    action["Variable"] = [*action["Variable"], f"ZVONAR_CAMPAIGN={campaign_id}", f"ZVONAR_LEAD_ID={lead_id}"]
    if caller_id:
        check_field("CallerID", caller_id)
        action["Variable"].append(f"ZVONAR_CALLER_ID={caller_id}")
    action["ActionID"] = action_id
    return action


def abandon_sound(campaign_message: str | None, company_message: str) -> str | None:
    """What an abandoned call hears: the campaign's recording, else the company's; None: the stock apology.

    Raises ValueError for a name that is no sound name (one written past the API's checks).
    """
    return clean_sound_name(campaign_message or company_message or None, "abandon_message")


def company_caller_id(campaign_caller_id: str | None, default: str) -> str | None:
    """What the client's phone shows: the campaign's own caller ID, else the company's (None: the trunk's)."""
    value = (campaign_caller_id or default or "").strip()
    if not value:
        return None
    check_field("CallerID", value)
    return value
