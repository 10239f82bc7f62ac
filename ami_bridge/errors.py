"""What can go wrong talking to Asterisk over AMI, one class per thing a caller reacts to.

Every error carries a message naming the host, the action and its ActionID where there is
one; none ever carries the AMI secret. ``UnsafeAmiValue`` (a field with CR or LF) lives in
``ami_bridge.protocol`` because the wire format is what refuses it.
"""

from __future__ import annotations


class AmiError(Exception):
    """Base class; ``action`` / ``action_id`` name the action concerned, if any."""

    def __init__(self, message: str, *, action: str | None = None, action_id: str | None = None) -> None:
        super().__init__(message)
        self.action = action
        self.action_id = action_id


class AmiConnectError(AmiError):
    """No session could be set up: TCP refused or timed out, no AMI greeting, Login unanswered."""


class AmiAuthenticationError(AmiError):
    """Asterisk refused the Login (wrong username or secret, or a deny/permit rule)."""


class AmiNotConnected(AmiError):
    """There is no logged-in session to send on (not connected yet, reconnecting, or closed)."""


class AmiConnectionLost(AmiError):
    """The session ended; raised for an action whose answer was lost with it (never resent)."""


class AmiLinkDead(AmiConnectionLost):
    """The link was declared dead because a Ping went unanswered (half-open TCP)."""


class AmiActionTimeout(AmiError):
    """An action was sent but not answered within its timeout."""


class AmiOriginateUnconfirmed(AmiError):
    """An Originate went out and its fate is unknown: a call may or may not have been placed.

    It is never resent automatically; the caller decides (the call tracker will see the
    call's events if Asterisk did place it).
    """


class AmiOriginateLost(AmiOriginateUnconfirmed, AmiConnectionLost):
    """The session dropped before Asterisk answered the Originate."""


class AmiOriginateTimeout(AmiOriginateUnconfirmed, AmiActionTimeout):
    """Asterisk did not answer the Originate within its timeout."""


class AmiOriginateRejected(AmiError):
    """Asterisk answered the Originate with an error (nothing was queued)."""
