"""Queue actions: the builders' checks, and the answers of app_queue over a real AmiConnection.

The loopback server plays app_queue with the production queues of asterisk-config/queues.conf
(``support``: static PJSIP/101..105; ``campaign``: dynamic members, one of them restored by
``persistentmembers`` after a restart). Its answers and member events use app_queue's own
texts and field names (Asterisk 16+, as in shared/ami-traces).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ami_bridge.agent_states import AgentStateChanged, AgentStates, AgentStatus
from ami_bridge.connection import AmiConnection
from ami_bridge.protocol import UnsafeAmiValue, encode_action
from ami_bridge.queue_actions import (
    InvalidQueueField,
    MemberNotDynamic,
    MemberNotFound,
    QueueActionError,
    QueueActionRefused,
    QueueNotFound,
    QueueOutcome,
    UnsafeQueueField,
    login_result,
    logout_result,
    pause_result,
    queue_login,
    queue_logout,
    queue_pause,
    queue_status,
    send_queue_login,
    send_queue_logout,
    send_queue_pause,
    send_queue_status,
    status_result,
)
from tests.ami_bridge.fake_ami_server import FakeAmiConnection, FakeAmiServer, answer, with_action_id

USERNAME = "zvonar"
SECRET = "Zv0nar-test-s3cret"


# ---------------------------------------------------------------- builders


def test_queue_login_builds_queue_add() -> None:
    assert queue_login("campaign", "PJSIP/101", "Оператор 101") == {
        "Action": "QueueAdd", "Queue": "campaign", "Interface": "PJSIP/101", "Penalty": "0",
        "Paused": "false", "MemberName": "Оператор 101"}
    assert queue_login("campaign-spring_2025", "Local/101@zvonar-agents/n", "Олеся Кравчук",
                       state_interface="PJSIP/101", penalty=3, paused=True) == {
        "Action": "QueueAdd", "Queue": "campaign-spring_2025", "Interface": "Local/101@zvonar-agents/n",
        "Penalty": "3", "Paused": "true", "MemberName": "Олеся Кравчук", "StateInterface": "PJSIP/101"}
    assert queue_login("support", "SIP/105", "Аляксандр Лукашэвіч", state_interface="Custom:agent105")[
        "StateInterface"] == "Custom:agent105"


def test_queue_logout_pause_and_status_builders() -> None:
    assert queue_logout("campaign", "PJSIP/101") == {"Action": "QueueRemove", "Queue": "campaign",
                                                     "Interface": "PJSIP/101"}
    assert queue_pause("PJSIP/101", True, "Обед") == {"Action": "QueuePause", "Interface": "PJSIP/101",
                                                      "Paused": "true", "Reason": "Обед"}
    assert queue_pause("PJSIP/101", False, None, queue="support") == {
        "Action": "QueuePause", "Interface": "PJSIP/101", "Paused": "false", "Queue": "support"}
    assert queue_status() == {"Action": "QueueStatus"}
    assert queue_status("support") == {"Action": "QueueStatus", "Queue": "support"}
    # What they build is what the wire format accepts.
    encode_action(queue_login("campaign", "PJSIP/101", "Оператор 101", "PJSIP/101", 2, True))


LONGEST_NAME = "Ж" * 39  # 78 bytes in UTF-8: fits app_queue's 80-byte buffer


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"queue": ""}, "queue"),
        ({"queue": " campaign"}, "queue"),
        ({"queue": "camp aign"}, "queue"),
        ({"queue": "кампания"}, "queue"),
        ({"queue": "support,r"}, "queue"),
        ({"queue": "q" * 80}, "queue"),
        ({"queue": None}, "queue"),
        ({"interface": "101"}, "interface"),
        ({"interface": "PJSIP/"}, "interface"),
        ({"interface": "PJSIP/101-0000001a;1"}, "interface"),
        ({"interface": "Local/101"}, "interface"),
        ({"interface": "PJSIP/101 "}, "interface"),
        ({"interface": "PJSIP/10 1"}, "interface"),
        ({"interface": "PJSIP/101&PJSIP/102"}, "interface"),
        ({"interface": "PJSIP/" + "1" * 80}, "interface"),
        ({"member_name": ""}, "member_name"),
        ({"member_name": "   "}, "member_name"),
        ({"member_name": "Иван;Петров"}, "member_name"),
        ({"member_name": "Иван|Петров"}, "member_name"),
        ({"member_name": "Иван\tПетров"}, "member_name"),
        ({"member_name": LONGEST_NAME + "Ж"}, "member_name"),
        ({"member_name": 101}, "member_name"),
        ({"state_interface": "hint"}, "state_interface"),
        ({"state_interface": ""}, "state_interface"),
        ({"penalty": -1}, "penalty"),
        ({"penalty": 2**31}, "penalty"),
        ({"penalty": True}, "penalty"),
        ({"penalty": "1"}, "penalty"),
        ({"paused": "yes"}, "paused"),
        ({"paused": 1}, "paused"),
    ],
)
def test_queue_login_refuses_odd_values(kwargs: dict, field: str) -> None:
    args = {"queue": "campaign", "interface": "PJSIP/101", "member_name": "Оператор 101", **kwargs}
    with pytest.raises(InvalidQueueField) as caught:
        queue_login(**args)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_longest_member_name_fits() -> None:
    assert queue_login("campaign", "PJSIP/101", LONGEST_NAME)["MemberName"] == LONGEST_NAME


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda v: queue_login(v, "PJSIP/101", "Оператор 101"), "queue"),
        (lambda v: queue_login("campaign", v, "Оператор 101"), "interface"),
        (lambda v: queue_login("campaign", "PJSIP/101", v), "member_name"),
        (lambda v: queue_login("campaign", "PJSIP/101", "Оператор 101", state_interface=v), "state_interface"),
        (lambda v: queue_logout("campaign", v), "interface"),
        (lambda v: queue_pause("PJSIP/101", True, v), "reason"),
        (lambda v: queue_pause("PJSIP/101", True, None, queue=v), "queue"),
        (lambda v: queue_status(v), "queue"),
    ],
)
@pytest.mark.parametrize("injection", ["PJSIP/101\r\nAction: Originate", "Обед\nAction: Hangup", "x\r"])
def test_line_breaks_are_unsafe_everywhere(build, field: str, injection: str) -> None:
    with pytest.raises(UnsafeQueueField) as caught:
        build(injection)
    assert caught.value.field == field
    assert isinstance(caught.value, UnsafeAmiValue) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("reason", ["", " ", "a;b", "Ж" * 40])
def test_queue_pause_refuses_odd_reasons(reason: str) -> None:
    with pytest.raises(InvalidQueueField) as caught:
        queue_pause("PJSIP/101", True, reason)
    assert caught.value.field == "reason"


# ---------------------------------------------------------------- reading the answers


def _error(message: str) -> dict[str, str]:
    return {"Response": "Error", "ActionID": "zv-0123456789abcdef", "Message": message}


def _ok(message: str) -> dict[str, str]:
    return {"Response": "Success", "ActionID": "zv-0123456789abcdef", "Message": message}


def test_answers_of_app_queue() -> None:
    assert login_result(_ok("Added interface to queue")) == QueueOutcome.ADDED
    assert login_result(_error("Unable to add interface: Already there")) == QueueOutcome.ALREADY_MEMBER
    assert logout_result(_ok("Removed interface from queue")) == QueueOutcome.REMOVED
    assert logout_result(_error("Unable to remove interface: Not there")) == QueueOutcome.NOT_MEMBER
    assert pause_result(_ok("Interface paused successfully"), True) == QueueOutcome.PAUSED
    assert pause_result(_ok("Interface unpaused successfully"), False) == QueueOutcome.UNPAUSED


@pytest.mark.parametrize(
    ("read", "message", "error"),
    [
        (login_result, "Unable to add interface to queue: No such queue", QueueNotFound),
        (login_result, "Out of memory", QueueActionRefused),
        (login_result, "Permission denied", QueueActionRefused),
        (login_result, "'Interface' not specified.", QueueActionRefused),
        (logout_result, "Unable to remove interface from queue: No such queue", QueueNotFound),
        (logout_result, "Member not dynamic", MemberNotDynamic),
        (logout_result, "Need 'Queue' and 'Interface' parameters.", QueueActionRefused),
        (lambda a: pause_result(a, True), "Interface not found", MemberNotFound),
        (lambda a: pause_result(a, True), "Need 'Interface' and 'Paused' parameters.", QueueActionRefused),
    ],
)
def test_refusals_of_app_queue(read, message: str, error: type[QueueActionError]) -> None:
    with pytest.raises(error) as caught:
        read(_error(message))
    assert caught.value.action_id == "zv-0123456789abcdef"
    assert caught.value.response["Message"] == message


def test_refusal_messages_name_what_was_asked() -> None:
    with pytest.raises(QueueNotFound, match="'campaign-old'"):
        login_result(_error("Unable to add interface to queue: No such queue"), "campaign-old", "PJSIP/101")
    with pytest.raises(MemberNotFound, match="PJSIP/109: not a member of queue support"):
        pause_result(_error("Interface not found"), True, "PJSIP/109", "support")
    with pytest.raises(QueueActionRefused, match="write=agent"):
        logout_result(_error("Permission denied"), "campaign", "PJSIP/101")
    with pytest.raises(QueueActionRefused, match="unexpected answer"):
        login_result(None)


def test_status_result() -> None:
    reply = [_ok("Queue status will follow"), {"Event": "QueueStatusComplete", "ListItems": "0"}]
    assert status_result(reply) == reply
    with pytest.raises(QueueActionRefused):
        status_result([_error("Permission denied")])
    with pytest.raises(QueueActionRefused):
        status_result([])


# ---------------------------------------------------------------- app_queue on loopback


@dataclass
class Member:
    interface: str
    name: str
    membership: str = "dynamic"
    state_interface: str = ""
    penalty: int = 0
    paused: bool = False
    reason: str = ""


class AppQueue:
    """The queue actions of app_queue, answered with its own texts and member events."""

    def __init__(self, server: FakeAmiServer) -> None:
        self.queues: dict[str, dict[str, Member]] = {
            "support": {f"PJSIP/{n}": Member(f"PJSIP/{n}", f"Оператор {n}", "static") for n in range(101, 106)},
            # persistentmembers=yes: brought back from astdb by the last restart.
            "campaign": {"PJSIP/102": Member("PJSIP/102", "Оператор 102")},
        }
        for name in ("queueadd", "queueremove", "queuepause", "queuestatus"):
            server.on(name, getattr(self, name))

    @staticmethod
    def _get(action: dict, key: str) -> str:
        value = action.get(key, "")
        return value[0] if isinstance(value, list) else value

    @staticmethod
    def member_event(event: str, queue: str, member: Member) -> dict[str, str]:
        return {"Event": event, "Privilege": "agent,all", "Queue": queue, "MemberName": member.name,
                "Interface": member.interface, "StateInterface": member.state_interface or member.interface,
                "Membership": member.membership, "Penalty": str(member.penalty), "CallsTaken": "0",
                "LastCall": "0", "LastPause": "0", "LoginTime": "1795445424", "InCall": "0", "Status": "1",
                "Paused": "1" if member.paused else "0", "PausedReason": member.reason, "Ringinuse": "0",
                "Wrapuptime": "0"}

    async def reply(self, conn: FakeAmiConnection, action: dict, response: str, message: str,
                    *events: dict[str, str]) -> None:
        await conn.send(with_action_id({"Response": response, "Message": message}, self._get(action, "ActionID")))
        if events:
            await conn.send(*events)

    async def queueadd(self, conn: FakeAmiConnection, action: dict) -> None:
        queue, interface = self._get(action, "Queue"), self._get(action, "Interface")
        if queue not in self.queues:
            return await self.reply(conn, action, "Error", "Unable to add interface to queue: No such queue")
        if interface in self.queues[queue]:
            return await self.reply(conn, action, "Error", "Unable to add interface: Already there")
        member = Member(interface, self._get(action, "MemberName") or interface,
                        state_interface=self._get(action, "StateInterface"),
                        penalty=int(self._get(action, "Penalty") or 0),
                        paused=self._get(action, "Paused").lower() in ("1", "true", "yes"))
        self.queues[queue][interface] = member
        await self.reply(conn, action, "Success", "Added interface to queue",
                         self.member_event("QueueMemberAdded", queue, member))

    async def queueremove(self, conn: FakeAmiConnection, action: dict) -> None:
        queue, interface = self._get(action, "Queue"), self._get(action, "Interface")
        if queue not in self.queues:
            return await self.reply(conn, action, "Error", "Unable to remove interface from queue: No such queue")
        member = self.queues[queue].get(interface)
        if member is None:
            return await self.reply(conn, action, "Error", "Unable to remove interface: Not there")
        if member.membership == "static":
            return await self.reply(conn, action, "Error", "Member not dynamic")
        del self.queues[queue][interface]
        await self.reply(conn, action, "Success", "Removed interface from queue",
                         self.member_event("QueueMemberRemoved", queue, member))

    async def queuepause(self, conn: FakeAmiConnection, action: dict) -> None:
        interface, queue = self._get(action, "Interface"), self._get(action, "Queue")
        paused = self._get(action, "Paused").lower() in ("1", "true", "yes")
        found = [(name, members[interface]) for name, members in self.queues.items()
                 if (not queue or name == queue) and interface in members]
        if not found:
            return await self.reply(conn, action, "Error", "Interface not found")
        for _, member in found:
            member.paused, member.reason = paused, self._get(action, "Reason") if paused else ""
        await self.reply(conn, action, "Success",
                         "Interface paused successfully" if paused else "Interface unpaused successfully",
                         *(self.member_event("QueueMemberPause", name, m) for name, m in found))

    async def queuestatus(self, conn: FakeAmiConnection, action: dict) -> None:
        action_id, wanted = self._get(action, "ActionID"), self._get(action, "Queue")
        items: list[dict[str, str]] = []
        for name, members in self.queues.items():
            if wanted and name != wanted:
                continue
            items.append({"Event": "QueueParams", "Queue": name, "Max": "0", "Strategy": "leastrecent",
                          "Calls": "0", "Holdtime": "0", "TalkTime": "0", "Completed": "0", "Abandoned": "0",
                          "ServiceLevel": "20", "ServicelevelPerf": "0.0", "ServicelevelPerf2": "0.0",
                          "Weight": "0", "ActionID": action_id})
            for member in members.values():
                event = self.member_event("QueueMember", name, member)
                # QueueStatus still writes the Asterisk 1.8 names for these two.
                event["Name"] = event.pop("MemberName")
                event["Location"] = event.pop("Interface")
                del event["Privilege"]
                items.append({**event, "ActionID": action_id})
        await conn.send(
            {"Response": "Success", "ActionID": action_id, "EventList": "start",
             "Message": "Queue status will follow"},
            *items,
            {"Event": "QueueStatusComplete", "ActionID": action_id, "EventList": "Complete",
             "ListItems": str(len(items))},
        )


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    srv = await FakeAmiServer(username=USERNAME, secret=SECRET).start()
    yield srv
    await srv.stop()


@pytest.fixture
async def app_queue(server: FakeAmiServer) -> AppQueue:
    return AppQueue(server)


@pytest.fixture
async def conn(server: FakeAmiServer) -> AsyncIterator[AmiConnection]:
    # The action timeout only guards against a hang (a QueueAdd answer taken for a list).
    connection = AmiConnection("127.0.0.1", server.port, USERNAME, SECRET, ping_interval=5.0,
                               action_timeout=2.0, connect_timeout=2.0, reconnect_jitter=0.0)
    await connection.connect()
    yield connection
    await connection.close()


def sent(server: FakeAmiServer, name: str) -> list[dict]:
    [wire] = server.connections
    assert wire.framing_errors == []
    return [{k: v for k, v in a.items() if k != "ActionID"} for a in wire.actions_named(name)]


async def test_login_adds_and_a_second_login_is_already_there(
        server: FakeAmiServer, app_queue: AppQueue, conn: AmiConnection) -> None:
    first = await send_queue_login(conn, "campaign", "PJSIP/101", "Оператор 101", state_interface="PJSIP/101")
    again = await send_queue_login(conn, "campaign", "PJSIP/101", "Оператор 101", state_interface="PJSIP/101")
    assert (first, again) == (QueueOutcome.ADDED, QueueOutcome.ALREADY_MEMBER)
    # Restored by persistentmembers: already there from the start.
    assert await send_queue_login(conn, "campaign", "PJSIP/102", "Оператор 102") == QueueOutcome.ALREADY_MEMBER
    assert sent(server, "QueueAdd")[0] == {"Action": "QueueAdd", "Queue": "campaign", "Interface": "PJSIP/101",
                                           "Penalty": "0", "Paused": "false", "MemberName": "Оператор 101",
                                           "StateInterface": "PJSIP/101"}
    assert app_queue.queues["campaign"]["PJSIP/101"].name == "Оператор 101"


async def test_login_to_a_missing_queue(server: FakeAmiServer, app_queue: AppQueue, conn: AmiConnection) -> None:
    with pytest.raises(QueueNotFound, match="'campaign-autumn'") as caught:
        await send_queue_login(conn, "campaign-autumn", "PJSIP/101", "Оператор 101")
    assert caught.value.action == "QueueAdd" and caught.value.action_id.startswith("zv-")


async def test_logout_answers(server: FakeAmiServer, app_queue: AppQueue, conn: AmiConnection) -> None:
    assert await send_queue_logout(conn, "campaign", "PJSIP/102") == QueueOutcome.REMOVED
    assert await send_queue_logout(conn, "campaign", "PJSIP/102") == QueueOutcome.NOT_MEMBER
    with pytest.raises(MemberNotDynamic):
        await send_queue_logout(conn, "support", "PJSIP/101")
    with pytest.raises(QueueNotFound):
        await send_queue_logout(conn, "campaign-autumn", "PJSIP/101")
    assert "PJSIP/101" in app_queue.queues["support"]


async def test_pause_and_resume(server: FakeAmiServer, app_queue: AppQueue, conn: AmiConnection) -> None:
    assert await send_queue_pause(conn, "PJSIP/102", True, "Обед") == QueueOutcome.PAUSED
    assert [q["PJSIP/102"].reason for q in app_queue.queues.values()] == ["Обед", "Обед"]
    assert await send_queue_pause(conn, "PJSIP/102", False, None, queue="campaign") == QueueOutcome.UNPAUSED
    assert (app_queue.queues["support"]["PJSIP/102"].paused, app_queue.queues["campaign"]["PJSIP/102"].paused) == (
        True, False)
    with pytest.raises(MemberNotFound, match="PJSIP/103: not a member of queue campaign"):
        await send_queue_pause(conn, "PJSIP/103", True, "Обед", queue="campaign")
    assert sent(server, "QueuePause")[0] == {"Action": "QueuePause", "Interface": "PJSIP/102", "Paused": "true",
                                             "Reason": "Обед"}


async def test_refused_permission(server: FakeAmiServer, conn: AmiConnection) -> None:
    server.on("queueadd", answer({"Response": "Error", "Message": "Permission denied"}))
    with pytest.raises(QueueActionRefused, match="write=agent"):
        await send_queue_login(conn, "campaign", "PJSIP/101", "Оператор 101")


async def test_unsafe_values_never_reach_the_socket(
        server: FakeAmiServer, app_queue: AppQueue, conn: AmiConnection) -> None:
    with pytest.raises(UnsafeQueueField):
        await send_queue_login(conn, "campaign", "PJSIP/101", "Оператор 101\r\nAction: Originate")
    with pytest.raises(InvalidQueueField):
        await send_queue_pause(conn, "PJSIP/101", True, "Обед;перерыв")
    await send_queue_status(conn)  # the session is fine and in order afterwards
    [wire] = server.connections
    assert wire.action_names() == ["Login", "QueueStatus"]
    assert b"Originate" not in wire.raw


async def test_status_and_member_events_drive_the_agent_states(
        server: FakeAmiServer, app_queue: AppQueue, conn: AmiConnection) -> None:
    """A reconnect's resync, then a login and a pause: the wallboard follows Asterisk."""
    loop = asyncio.get_running_loop()
    states = AgentStates(wrapup_seconds=5)
    changes: list[AgentStateChanged] = []
    conn.on_event(lambda event, t: changes.extend(states.feed(event, t)))

    reply = await send_queue_status(conn)
    assert [m.get("Event") for m in reply[:2]] == [None, "QueueParams"]
    changes.extend(states.resync(reply, loop.time()))
    assert {s.agent: (s.state, s.queues) for s in states.snapshot()} == {
        "101": (AgentStatus.READY, ("support",)),
        "102": (AgentStatus.READY, ("campaign", "support")),
        "103": (AgentStatus.READY, ("support",)),
        "104": (AgentStatus.READY, ("support",)),
        "105": (AgentStatus.READY, ("support",)),
    }
    assert states.get("102").name == "Оператор 102"  # type: ignore[union-attr]

    await send_queue_login(conn, "campaign", "PJSIP/101", "Оператор 101")
    await send_queue_pause(conn, "PJSIP/101", True, "Обед")
    await send_queue_logout(conn, "campaign", "PJSIP/102")
    await server.wait_until(lambda: len(changes) >= 5 + 3, "the member events of the three actions")
    assert [(c.agent, c.state, c.reason, c.queues) for c in changes[5:]] == [
        ("101", AgentStatus.READY, None, ("campaign", "support")),
        ("101", AgentStatus.PAUSED, "Обед", ("campaign", "support")),
        ("102", AgentStatus.READY, None, ("support",)),
    ]
    assert states.get("101").paused_queues == ("campaign", "support")  # type: ignore[union-attr]

    # One queue's status covers only that queue.
    reply = await send_queue_status(conn, "campaign")
    assert {m.get("Queue") for m in reply[1:-1]} == {"campaign"}
    assert states.resync(reply, loop.time()) == []
