"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from crm_core.models.appeals import APPEAL_STATUSES, Appeal, MarketingChannel
from crm_core.models.base import Base, UtcDateTime, utcnow
from crm_core.models.calls import CALL_OUTCOMES, Call
from crm_core.models.campaigns import (
    ATTEMPT_OUTCOMES,
    CAMPAIGN_MODES,
    CAMPAIGN_STATES,
    LEAD_FINAL_STATES,
    LEAD_STATES,
    LIST_KINDS,
    Attempt,
    Campaign,
    CampaignAgent,
    CampaignDialer,
    CampaignList,
    DncNumber,
    Disposition,
    Lead,
)
from crm_core.models.clients import Client, ClientAccess, ClientKind, ClientReassignment, Contact, Phone, PhoneKind
from crm_core.models.interactions import Interaction, InteractionStatus, InteractionType
from crm_core.models.proposals import Proposal, ProposalHistory, ProposalItem, ProposalStatus, ProposalTransition
from crm_core.models.scripts import PROTOCOL_STATUSES, CallScript, ScriptProtocol, ScriptProtocolEntry
from crm_core.models.users import ApiSession, IdempotentRequest, Role, Team, User

__all__ = [
    "APPEAL_STATUSES",
    "ATTEMPT_OUTCOMES",
    "CAMPAIGN_MODES",
    "CAMPAIGN_STATES",
    "LEAD_FINAL_STATES",
    "LEAD_STATES",
    "LIST_KINDS",
    "Attempt",
    "Campaign",
    "CampaignAgent",
    "CampaignDialer",
    "CampaignList",
    "DncNumber",
    "Disposition",
    "Lead",
    "CALL_OUTCOMES",
    "PROTOCOL_STATUSES",
    "ApiSession",
    "IdempotentRequest",
    "Appeal",
    "Base",
    "Call",
    "CallScript",
    "Client",
    "ClientAccess",
    "ClientKind",
    "ClientReassignment",
    "Contact",
    "Interaction",
    "InteractionStatus",
    "InteractionType",
    "MarketingChannel",
    "Phone",
    "PhoneKind",
    "Proposal",
    "ProposalHistory",
    "ProposalItem",
    "ProposalStatus",
    "ProposalTransition",
    "Role",
    "ScriptProtocol",
    "ScriptProtocolEntry",
    "Team",
    "User",
    "UtcDateTime",
    "utcnow",
]
