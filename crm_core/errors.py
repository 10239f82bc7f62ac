"""Domain errors, named for what went wrong; each carries a stable ``code``.

Only zvonar/errors.py maps them to HTTP statuses.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case reports to its caller."""

    code = "domain_error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message())

    @classmethod
    def default_message(cls) -> str:
        return cls.__doc__.strip().splitlines()[0] if cls.__doc__ else cls.code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.default_message()

    @property
    def details(self) -> object:
        """Structured detail for the caller (e.g. every problem of a script), or None."""
        return None


class InvalidInput(DomainError, ValueError):
    """The request is not valid."""

    code = "invalid_input"


class InvalidPhone(InvalidInput):
    """A phone number that cannot be read as a valid number."""

    code = "invalid_phone"

    def __init__(self, raw: str, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        super().__init__(f"phone {raw!r} is not a valid number: {reason}")


class NotFound(DomainError):
    """Nothing found."""

    code = "not_found"


class ClientNotFound(NotFound):
    """No such client (or not one of yours)."""

    code = "client_not_found"


class ContactNotFound(NotFound):
    """No such contact (or not of one of your clients)."""

    code = "contact_not_found"


class InteractionNotFound(NotFound):
    """No such event (or not on one of your clients)."""

    code = "interaction_not_found"


class InteractionTypeNotFound(NotFound):
    """No such event type."""

    code = "interaction_type_not_found"


class AppealNotFound(NotFound):
    """No such appeal (or not of one of your clients)."""

    code = "appeal_not_found"


class UserNotFound(NotFound):
    """No such user."""

    code = "user_not_found"


class Forbidden(DomainError):
    """Your role does not allow this."""

    code = "forbidden"


class NotYourClient(Forbidden):
    """This client is not one of yours."""

    code = "not_your_client"


class Conflict(DomainError):
    """The change conflicts with what is stored."""

    code = "conflict"


class DuplicatePhone(Conflict):
    """The phone number already belongs to a client."""

    code = "duplicate_phone"


class AuthenticationFailed(DomainError):
    """Wrong login or password."""

    code = "authentication_failed"


class NotAuthenticated(DomainError):
    """Log in first."""

    code = "not_authenticated"


class TooManyAttempts(DomainError):
    """Too many login attempts; wait a minute."""

    code = "too_many_attempts"


class ImportFileError(InvalidInput):
    """A client import file that cannot be read at all (empty, unknown encoding, no name column)."""

    code = "import_file_invalid"


class ServiceUnavailable(DomainError):
    """A service this action needs (the PBX, the bus) is not reachable right now."""

    code = "service_unavailable"


class ScriptNotFound(NotFound):
    """No such call script (version)."""

    code = "script_not_found"


class ScriptSessionNotFound(NotFound):
    """No such script session (or not one you may see)."""

    # "session": the path parameter is {session_id} (crm_core.api.not_found_for).
    code = "session_not_found"


class ScriptInvalid(InvalidInput):
    """A call script that cannot be published; `problems` names each step and field."""

    code = "script_invalid"

    def __init__(self, message: str, problems: list[dict[str, str | None]] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(message)

    @property
    def details(self) -> object:
        return self.problems or None


class ScriptStepRefused(InvalidInput):
    """A script action or answer refused; nothing was stored. Names the step and the field."""

    code = "script_step_refused"

    def __init__(self, step_id: str | None, field: str, reason: str, reason_code: str) -> None:
        self.step_id = step_id
        self.field = field
        self.reason = reason
        self.reason_code = reason_code
        where = f"step '{step_id}'" if step_id is not None else "script"
        super().__init__(f"{where}: field '{field}': {reason}")


class AnswerRefused(ScriptStepRefused):
    """An answer of the wrong type, out of range, not a choice, or missing; nothing was stored."""

    code = "answer_refused"


class ProposalNotFound(NotFound):
    """No such commercial proposal (or not of one of your clients)."""

    code = "proposal_not_found"


class ProposalTransitionRefused(Conflict):
    """The proposal cannot move to that status from where it stands."""

    code = "proposal_transition_refused"


class CampaignNotFound(NotFound):
    """No such campaign (or not one you may see)."""

    code = "campaign_not_found"


class LeadNotFound(NotFound):
    """No such lead in this campaign."""

    code = "lead_not_found"


class DncNotFound(NotFound):
    """That number is not on this do-not-call list."""

    code = "dnc_not_found"


class CampaignStateConflict(Conflict):
    """The campaign's state does not allow this (e.g. pausing a stopped campaign)."""

    code = "campaign_state_conflict"


class CampaignNotReady(Conflict):
    """The campaign cannot be launched yet (no leads, no agents, no such script)."""

    code = "campaign_not_ready"


class LeaseLost(Conflict):
    """The lead is no longer leased by this dialer (expired and taken, released, or stopped)."""

    code = "lease_lost"


class LeadOnDnc(LeaseLost):
    """The lead's number is on a do-not-call list: not dialled; the lead is now ``dnc``."""

    code = "lead_on_dnc"


class OutsideCallingHours(LeaseLost):
    """The client's calling hours are over (or the campaign's hours changed): not dialled; the lead waits for them."""

    code = "outside_calling_hours"


class UnknownDisposition(InvalidInput):
    """No such disposition code in this campaign."""

    code = "unknown_disposition"


class RequestInProgress(Conflict):
    """A request with this Idempotency-Key is still being handled; send it again in a moment."""

    code = "request_in_progress"


class IdempotencyKeyReused(InvalidInput):
    """This Idempotency-Key was used for another request; use a new key for a new request."""

    code = "idempotency_key_reused"
