"""The fields a script may name: the client's and the contact's columns, the operator's, custom ones."""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.models.clients import Client, Contact
from crm_core.services.clients import CLIENT_STATUSES

# name_search is a derived search key, never something to say to a client.
_HIDDEN_CLIENT_COLUMNS = frozenset({"name_search"})

CLIENT_FIELDS: frozenset[str] = frozenset(
    c.key for c in Client.__table__.columns if c.key not in _HIDDEN_CLIENT_COLUMNS
)
# full_name is built by the caller (last, first, middle) for scripts that address the person formally.
CONTACT_FIELDS: frozenset[str] = frozenset(c.key for c in Contact.__table__.columns) | {"full_name"}
# The operator is a user; the caller maps the user record to these.
OPERATOR_FIELDS: frozenset[str] = frozenset({"id", "name", "first_name", "login", "extension", "team", "timezone"})
STATUSES: tuple[str, ...] = tuple(CLIENT_STATUSES)


@dataclass(frozen=True, slots=True)
class KnownFields:
    """The field names a script may use for each source (custom ones come from the script)."""

    client: frozenset[str] = CLIENT_FIELDS
    contact: frozenset[str] = CONTACT_FIELDS
    operator: frozenset[str] = OPERATOR_FIELDS
    statuses: tuple[str, ...] = STATUSES

    def for_source(self, source: str) -> frozenset[str] | None:
        """The names known for `source`; None for "custom", which the script declares itself."""
        return {"client": self.client, "contact": self.contact, "operator": self.operator}.get(source)


DEFAULT_FIELDS = KnownFields()
