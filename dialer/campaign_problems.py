"""What keeps a running campaign from dialing as it should, for the supervisor (pure: plain data in and out).

A campaign that runs and places no call looks the same on the wallboard whatever the
cause: a queue that queues.conf lacks, operators without a phone, leads all outside
their calling hours, the PBX gone. The runner flags each cause it meets, and clears it
when it no longer holds; ``campaign.stats`` carries them as ``problems``, a list of
``{"code": ..., <params>}`` in the order of :data:`PROBLEMS`, so a screen can say what
is wrong in its own language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Problems = dict[str, dict[str, str]]

PROBLEMS = (
    "pbx_disconnected",  # the dialer has no AMI session: nothing can be dialled
    "queue_missing",  # {queue}: QueueAdd found no such queue (queues.conf, or not reloaded)
    "agents_not_in_queue",  # {count}: operators the PBX refused to put into the queue (retried)
    "agents_auto_paused",  # {count}: operators app_queue paused after a call rang out on them (autopause)
    "no_phones",  # none of the campaign's operators has a phone endpoint
    "kept_out_of_queue",  # {queue}: a preview campaign's operators, kept out of a queue a dialing campaign uses
    "caller_id_unusable",  # the campaign's caller ID cannot be sent: no lead is dialled
    "abandon_message_unusable",  # the recording's name cannot be sent: abandoned calls hear the stock apology
    "outside_hours",  # calls are wanted and no lead is within its calling hours now
)
_KNOWN = frozenset(PROBLEMS)
_MAX_PARAMS = 4
_MAX_TEXT = 200


def flag(problems: Problems, code: str, on: bool, **params: object) -> None:
    """Set ``code`` (with its params, as text) when ``on``, clear it otherwise."""
    if code not in _KNOWN:
        raise ValueError(f"unknown campaign problem {code!r}")
    if on:
        problems[code] = {name: str(value)[:_MAX_TEXT] for name, value in params.items()}
    else:
        problems.pop(code, None)


def as_list(problems: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """The JSON form: ``[{"code": "queue_missing", "queue": "sales"}, ...]`` in the order of PROBLEMS."""
    return [{"code": code, **problems[code]} for code in PROBLEMS if code in problems]


def from_list(value: Any) -> Problems | None:
    """Problems read back from their JSON form (another dialer's part); None if it is not that form.

    Codes this version does not know are left out (a newer dialer may know more).
    """
    if not isinstance(value, list):
        return None
    out: Problems = {}
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
            return None
        if item["code"] not in _KNOWN:
            continue
        params = {k: v for k, v in item.items() if k != "code"}
        if len(params) > _MAX_PARAMS or not all(
                isinstance(k, str) and isinstance(v, str) and len(v) <= _MAX_TEXT for k, v in params.items()):
            return None
        out.setdefault(item["code"], params)
    return out


def merged(parts: Iterable[Mapping[str, Mapping[str, str]]]) -> Problems:
    """Every dialer's problems together; a code two dialers flag keeps the first one's params."""
    out: Problems = {}
    for problems in parts:
        for code, params in problems.items():
            out.setdefault(code, dict(params))
    return out
