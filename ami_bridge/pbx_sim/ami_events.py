"""Builders of AMI events with Asterisk's names, privileges and field order (pure).

Every builder returns an insertion-ordered dict of strings, exactly the headers a
real Asterisk (git master, as recorded in ../shared/ami-traces) puts on the wire.
"""

from __future__ import annotations

from ami_bridge.pbx_sim.channels import UNKNOWN, Channel

CALL = "call,all"
DIALPLAN = "dialplan,all"
AGENT = "agent,all"
USER = "user,all"
SYSTEM = "system,all"
SECURITY = "security,all"

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
}

Event = dict[str, str]


def _head(name: str, privilege: str | None) -> Event:
    event = {"Event": name}
    if privilege is not None:
        event["Privilege"] = privilege
    return event


def channel_event(name: str, chan: Channel, privilege: str = CALL, **extra: object) -> Event:
    """``name`` with the channel block and ``extra`` headers after it."""
    event = _head(name, privilege)
    event.update(chan.snapshot())
    event.update({k.replace("_", "-"): str(v) for k, v in extra.items()})
    return event


def newexten(chan: Channel, application: str, app_data: str) -> Event:
    event = channel_event("Newexten", chan, DIALPLAN)
    event.update({"Extension": chan.exten, "Application": application, "AppData": app_data})
    return event


def var_set(chan: Channel, variable: str, value: str) -> Event:
    event = channel_event("VarSet", chan, DIALPLAN)
    event.update({"Variable": variable, "Value": value})
    return event


def new_callerid(chan: Channel) -> Event:
    event = channel_event("NewCallerid", chan)
    event["CID-CallingPres"] = "0 (Presentation Allowed, Not Screened)"
    return event


def local_bridge(one: Channel, two: Channel) -> Event:
    event = _head("LocalBridge", CALL)
    event.update(one.snapshot("LocalOne"))
    event.update(two.snapshot("LocalTwo"))
    event.update({"Context": two.context, "Exten": two.exten, "LocalOptimization": "Yes"})
    return event


def dial_event(name: str, caller: Channel | None, dest: Channel, dest_override: dict[str, str] | None = None,
               **extra: str) -> Event:
    """DialBegin/DialState/DialEnd; without a caller (an Originate) only the Dest block."""
    event = _head(name, CALL)
    if caller is not None:
        event.update(caller.snapshot())
    event.update(dest.snapshot("Dest", **(dest_override or {})))
    event.update(extra)
    return event


def bridge_block(uid: str, num_channels: int) -> dict[str, str]:
    return {
        "BridgeUniqueid": uid,
        "BridgeType": "basic",
        "BridgeTechnology": "simple_bridge",
        "BridgeCreator": UNKNOWN,
        "BridgeName": UNKNOWN,
        "BridgeNumChannels": str(num_channels),
        "BridgeVideoSourceMode": "none",
    }


def bridge_event(name: str, uid: str, num_channels: int, chan: Channel | None = None) -> Event:
    event = _head(name, CALL)
    event.update(bridge_block(uid, num_channels))
    if chan is not None:
        event.update(chan.snapshot())
    return event


def hangup_request(chan: Channel, cause: int | None, tech_cause: int | None = None) -> Event:
    event = channel_event("HangupRequest", chan)
    if cause is not None:
        event["Cause"] = str(cause)
    if tech_cause is not None:
        event["TechCause"] = str(tech_cause)
    return event


def soft_hangup_request(chan: Channel, cause: int) -> Event:
    event = channel_event("SoftHangupRequest", chan)
    event["Cause"] = str(cause)
    return event


def hangup(chan: Channel, cause: int, tech_cause: int | None = None) -> Event:
    event = channel_event("Hangup", chan)
    event["Cause"] = str(cause)
    event["Cause-txt"] = CAUSE_TEXT.get(cause, "Unknown")
    if tech_cause is not None:
        event["TechCause"] = str(tech_cause)
    return event


def originate_response(action_id: str | None, success: bool, channel: str, target: dict[str, str], reason: int,
                       uniqueid: str | None, cid_num: str, cid_name: str) -> Event:
    """``target`` is ``{"Context":..,"Exten":..}`` or ``{"Application":..,"Data":..}``."""
    event = _head("OriginateResponse", CALL)
    if action_id:
        event["ActionID"] = action_id
    event["Response"] = "Success" if success else "Failure"
    event["Channel"] = channel
    event.update(target)
    event["Reason"] = str(reason)
    event["Uniqueid"] = uniqueid or UNKNOWN
    event["CallerIDNum"] = cid_num or UNKNOWN
    event["CallerIDName"] = cid_name or UNKNOWN
    return event


def queue_caller(name: str, chan: Channel, queue: str, **extra: object) -> Event:
    """QueueCallerJoin / QueueCallerLeave / QueueCallerAbandon."""
    event = channel_event(name, chan, AGENT)
    event["Queue"] = queue
    event.update({k: str(v) for k, v in extra.items()})
    return event


def agent_event(name: str, caller: Channel, member_chan: Channel, queue: str, interface: str, member_name: str,
                dest_override: dict[str, str] | None = None, **extra: object) -> Event:
    """AgentCalled / AgentRingNoAnswer / AgentConnect / AgentComplete."""
    event = _head(name, AGENT)
    event.update(caller.snapshot())
    event.update(member_chan.snapshot("Dest", **(dest_override or {})))
    event.update({"Queue": queue, "Interface": interface, "MemberName": member_name})
    event.update({k: str(v) for k, v in extra.items()})
    return event


def member_event(name: str, blob: dict[str, str]) -> Event:
    """QueueMemberStatus / QueueMemberAdded / QueueMemberRemoved / QueueMemberPause."""
    event = _head(name, AGENT)
    event.update(blob)
    return event


def user_event(chan: Channel, user_event_name: str, headers: dict[str, str]) -> Event:
    event = channel_event("UserEvent", chan, USER)
    event["UserEvent"] = user_event_name
    event.update(headers)
    return event


def fully_booted(uptime: int) -> Event:
    event = _head("FullyBooted", SYSTEM)
    event.update({"Uptime": str(uptime), "LastReload": str(uptime), "Status": "Fully Booted"})
    return event


def security_event(name: str, event_tv: str, severity: str, account: str, session_id: str, local: str,
                   remote: str, version: str = "1", **extra: str) -> Event:
    """SuccessfulAuth, InvalidPassword, InvalidAccountID (manager security events)."""
    event = _head(name, SECURITY)
    event.update({
        "EventTV": event_tv,
        "Severity": severity,
        "Service": "AMI",
        "EventVersion": version,
        "AccountID": account,
        "SessionID": session_id,
        "LocalAddress": local,
        "RemoteAddress": remote,
    })
    event.update(extra)
    event["SessionTV"] = event_tv
    return event
