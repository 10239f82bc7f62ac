"""Commercial proposals over HTTP: drafting, items, the approval workflow, and its configuration.

Money and quantities travel as decimal strings ("1490.00", "1.5"): exact, never floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.routes.fields import Code, CrmBody, CrmPageQuery, DbId
from crm_core.services import proposals as proposals_service
from crm_core.services.proposals import (
    CURRENCIES,
    MAX_ITEMS,
    MAX_PRICE,
    MAX_QUANTITY,
    ItemInput,
    ProposalInput,
    StatusInput,
    TransitionInput,
)

routes = ApiRoutes("proposals")

Currency = Literal[CURRENCIES]  # type: ignore[valid-type]
Quantity = Annotated[Decimal, Field(gt=0, le=MAX_QUANTITY, decimal_places=3, allow_inf_nan=False,
                                    description="above 0, at most 3 decimal places")]
Price = Annotated[Decimal, Field(ge=0, le=MAX_PRICE, decimal_places=2, allow_inf_nan=False,
                                 description="per unit, at most 2 decimal places (kopecks)")]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2200, 12, 31))]


class StatusOut(ResponseModel):
    id: int
    code: str
    name: str
    color: str
    position: int
    is_initial: bool
    is_final: bool
    editable: bool


class TransitionOut(ResponseModel):
    id: int
    from_status: str
    to_status: str
    name: str
    approval: bool = Field(description="a supervisor's or an admin's decision")
    comment_required: bool


class WorkflowOut(ResponseModel):
    statuses: list[StatusOut]
    transitions: list[TransitionOut]


class StatusIn(CrmBody):
    code: Code
    name: str = Field(min_length=1, max_length=120)
    color: str = Field("#808080", pattern=r"^#[0-9a-fA-F]{6}$")
    position: int = Field(100, ge=0, le=100_000, description="the order in the sales funnel")
    is_final: bool = False
    editable: bool = Field(False, description="items and text may change in this status")


class TransitionIn(CrmBody):
    from_status: Code = Field(alias="from")
    to_status: Code = Field(alias="to")
    name: str = Field(min_length=1, max_length=120, description="the button's label, e.g. «Согласовать»")
    approval: bool = False
    comment_required: bool = False


class ItemIn(CrmBody):
    product: str = Field(min_length=1, max_length=300)
    product_code: str | None = Field(None, max_length=64)
    unit: str | None = Field(None, max_length=20, description="шт., мес., час...")
    quantity: Quantity = Decimal(1)
    price: Price = Decimal(0)


class ItemOut(ResponseModel):
    position: int
    product: str
    product_code: str | None
    unit: str | None
    quantity: Decimal
    price: Decimal
    amount: Decimal = Field(description="quantity × price, rounded to kopecks")


class HistoryOut(ResponseModel):
    from_status: str | None
    to_status: str
    to_status_name: str
    user_id: int | None
    user_name: str | None
    comment: str | None
    at: datetime


class ProposalOut(ResponseModel):
    id: int
    client_id: int
    client_name: str
    contact_id: int | None
    author_id: int | None
    author_name: str | None
    approver_id: int | None
    approver_name: str | None
    status: str
    status_name: str
    is_final: bool
    editable: bool
    subject: str
    comment: str | None
    currency: str
    total: Decimal
    valid_until: date | None
    script_protocol_id: int | None
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    items: list[ItemOut]
    history: list[HistoryOut]
    actions: list[TransitionOut] = Field(description="the moves you may make now")


class ProposalSummaryOut(ResponseModel):
    id: int
    client_id: int
    client_name: str
    author_id: int | None
    status: str
    status_name: str
    subject: str
    currency: str
    total: Decimal
    created_at: datetime
    status_changed_at: datetime


class ProposalIn(CrmBody):
    subject: str = Field(min_length=1, max_length=300)
    comment: str | None = Field(None, max_length=20_000)
    currency: Currency = "RUB"
    contact_id: DbId | None = None
    valid_until: Day | None = None
    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)


class ProposalPatch(CrmBody):
    subject: str | None = Field(None, min_length=1, max_length=300)
    comment: str | None = Field(None, max_length=20_000)
    currency: Currency | None = None
    contact_id: DbId | None = None
    valid_until: Day | None = None
    items: list[ItemIn] | None = Field(None, max_length=MAX_ITEMS, description="replaces every item")


class MoveIn(CrmBody):
    to: Code = Field(description="the status to move to: on_approval, approved, draft, sent, accepted, rejected...")
    comment: str | None = Field(None, max_length=5000)


class ProposalListQuery(CrmPageQuery):
    status: Code | None = None
    client_id: DbId | None = None
    author_id: DbId | None = None


class ClientProposalsQuery(CrmPageQuery):
    status: Code | None = None


def _items(items: list[ItemIn]) -> list[ItemInput]:
    return [ItemInput(product=i.product, quantity=i.quantity, price=i.price, unit=i.unit, product_code=i.product_code)
            for i in items]


@routes.get("/api/proposal-workflow", response=WorkflowOut)
async def get_workflow(req: ApiRequest) -> object:
    """Proposal statuses (in funnel order) and the moves allowed between them."""
    return await proposals_service.workflow(req.db)


@routes.post("/api/proposal-workflow/statuses", body=StatusIn, response=WorkflowOut, status=201)
async def create_status(req: ApiRequest) -> object:
    """Add a proposal status (admin)."""
    b: StatusIn = req.body
    data = StatusInput(b.code, b.name, b.color, b.position, b.is_final, b.editable)
    return await proposals_service.create_status(req.db, req.user, data)


@routes.post("/api/proposal-workflow/transitions", body=TransitionIn, response=WorkflowOut, status=201)
async def create_transition(req: ApiRequest) -> object:
    """Allow a move between two statuses (admin)."""
    b: TransitionIn = req.body
    data = TransitionInput(b.from_status, b.to_status, b.name, b.approval, b.comment_required)
    return await proposals_service.create_transition(req.db, req.user, data)


@routes.delete("/api/proposal-workflow/transitions/{transition_id}", response=WorkflowOut)
async def delete_transition(req: ApiRequest) -> object:
    """Forbid a move again (admin); history already written stays."""
    return await proposals_service.delete_transition(req.db, req.user, req.path_int("transition_id"))


@routes.get("/api/proposals", query=ProposalListQuery, response=Page[ProposalSummaryOut])
async def list_proposals(req: ApiRequest) -> object:
    """Proposals of the clients you see, the latest moved first (status=on_approval: awaiting approval)."""
    q: ProposalListQuery = req.query
    return await proposals_service.list_proposals(req.db, req.user, status=q.status, client_id=q.client_id,
                                                  author_id=q.author_id, limit=q.limit, offset=q.offset)


@routes.get("/api/clients/{client_id}/proposals", query=ClientProposalsQuery, response=Page[ProposalSummaryOut])
async def list_for_client(req: ApiRequest) -> object:
    """A client's proposals, the latest moved first."""
    q: ClientProposalsQuery = req.query
    return await proposals_service.list_proposals(req.db, req.user, client_id=req.path_int("client_id"),
                                                  status=q.status, limit=q.limit, offset=q.offset)


@routes.post("/api/clients/{client_id}/proposals", body=ProposalIn, response=ProposalOut, status=201)
async def create_proposal(req: ApiRequest) -> object:
    """Draft a commercial proposal for a client (you are its author)."""
    b: ProposalIn = req.body
    data = ProposalInput(subject=b.subject, items=_items(b.items), comment=b.comment, currency=b.currency,
                         contact_id=b.contact_id, valid_until=b.valid_until)
    return await proposals_service.create_proposal(req.db, req.user, req.path_int("client_id"), data)


@routes.get("/api/proposals/{proposal_id}", response=ProposalOut)
async def get_proposal(req: ApiRequest) -> object:
    """A proposal with its items, its history and the moves you may make."""
    return await proposals_service.get_proposal(req.db, req.user, req.path_int("proposal_id"))


@routes.patch("/api/proposals/{proposal_id}", body=ProposalPatch, response=ProposalOut)
async def update_proposal(req: ApiRequest) -> object:
    """Change a draft: text, contact, currency, validity, items (replaced whole); only the fields given change."""
    b: ProposalPatch = req.body
    changes = b.model_dump(exclude_unset=True, exclude={"items"})
    if "items" in b.model_fields_set:
        changes["items"] = _items(b.items or [])
    return await proposals_service.update_proposal(req.db, req.user, req.path_int("proposal_id"), changes)


@routes.post("/api/proposals/{proposal_id}/move", body=MoveIn, response=ProposalOut)
async def move_proposal(req: ApiRequest) -> object:
    """Move a proposal along the workflow (on approval, approved, back to draft with a comment, sent...)."""
    b: MoveIn = req.body
    return await proposals_service.move_proposal(req.db, req.user, req.path_int("proposal_id"), b.to, b.comment)
