"""Contact persons of a client: /api/clients/{client_id}/contacts and /api/contacts/{contact_id}."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_core.api import ApiRequest, ApiRoutes, ResponseModel
from crm_core.models import PhoneKind
from crm_core.routes.fields import CrmBody
from crm_core.services import contacts as contacts_service
from crm_core.services.clients import ContactInput, PhoneInput

routes = ApiRoutes("contacts")

Email = Annotated[str, Field(max_length=254)]


class PhoneIn(CrmBody):
    number: str = Field(min_length=1, max_length=64, description='any written form: "8 (916) 123-45-67", "+380 67 123 4567"')
    kind: PhoneKind | None = Field(None, description="mobile, work, home, internal, other; guessed from the number if left out")


class PhoneOut(ResponseModel):
    id: int
    e164: str
    kind: PhoneKind
    contact_id: int | None
    raw: str | None


class ContactIn(CrmBody):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    middle_name: str | None = Field(None, max_length=100)
    position: str | None = Field(None, max_length=120)
    emails: list[Email] = Field(default_factory=list, max_length=10)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    comment: str | None = Field(None, max_length=10_000)

    def to_input(self) -> ContactInput:
        return ContactInput(
            first_name=self.first_name, last_name=self.last_name, middle_name=self.middle_name, position=self.position,
            emails=list(self.emails), phones=[PhoneInput(p.number, p.kind) for p in self.phones],
            comment=self.comment,
        )


class ContactPatch(CrmBody):
    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    middle_name: str | None = Field(None, max_length=100)
    position: str | None = Field(None, max_length=120)
    emails: list[Email] | None = Field(None, max_length=10)
    phones: list[PhoneIn] | None = Field(None, max_length=20, description="replaces the contact's numbers")
    comment: str | None = Field(None, max_length=10_000)


class ContactOut(ResponseModel):
    id: int
    client_id: int
    last_name: str | None
    first_name: str
    middle_name: str | None
    position: str | None
    emails: list[str]
    comment: str | None
    phones: list[PhoneOut]


def patch_phones(phones: list[PhoneIn] | None) -> list[PhoneInput]:
    return [PhoneInput(p.number, p.kind) for p in phones or ()]


@routes.get("/api/clients/{client_id}/contacts", response=list[ContactOut])
async def list_contacts(req: ApiRequest) -> list:
    """The contact persons of a client."""
    return await contacts_service.list_contacts(req.db, req.user, req.path_int("client_id"))


@routes.post("/api/clients/{client_id}/contacts", body=ContactIn, response=ContactOut, status=201)
async def add_contact(req: ApiRequest) -> object:
    """Add a contact person (with phones and e-mails) to a client."""
    body: ContactIn = req.body
    return await contacts_service.add_contact(
        req.db, req.user, req.path_int("client_id"), body.to_input(), default_region=req.ctx.default_region
    )


@routes.get("/api/contacts/{contact_id}", response=ContactOut)
async def get_contact(req: ApiRequest) -> object:
    """One contact person."""
    return await contacts_service.get_contact(req.db, req.user, req.path_int("contact_id"))


@routes.patch("/api/contacts/{contact_id}", body=ContactPatch, response=ContactOut)
async def update_contact(req: ApiRequest) -> object:
    """Change a contact person; only the fields given change, ``phones`` replaces the numbers."""
    body: ContactPatch = req.body
    changes = body.model_dump(exclude_unset=True)
    if "phones" in changes:
        changes["phones"] = patch_phones(body.phones)
    return await contacts_service.update_contact(
        req.db, req.user, req.path_int("contact_id"), changes, default_region=req.ctx.default_region
    )


@routes.delete("/api/contacts/{contact_id}", status=204)
async def delete_contact(req: ApiRequest) -> None:
    """Remove a contact person and their phones."""
    await contacts_service.delete_contact(req.db, req.user, req.path_int("contact_id"))
