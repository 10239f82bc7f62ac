"""Request field types shared by the CRM routes: bounded ids, clean text, aware times, periods.

Every limit here keeps garbage out before it reaches the store: a NUL or a lone surrogate
that PostgreSQL refuses, an id past INTEGER, a time without its zone or past year 9999.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict, Field, field_validator

from crm_core.api import ApiModel, PageQuery
from crm_core.services.clients import MAX_ID

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


def _check_str(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("control characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("not valid Unicode text") from exc
    return value


def _check_strings(value: Any) -> Any:
    if isinstance(value, str):
        return _check_str(value)
    if isinstance(value, list | tuple):
        for item in value:
            _check_strings(item)
    return value


def _reasonable(value: datetime) -> datetime:
    # Checked before converting: a far year with an offset would overflow datetime.
    if not 1900 <= value.year <= 2200:
        raise ValueError("the year must be between 1900 and 2200")
    return value.astimezone(timezone.utc)


_OFFSET_SPACE = re.compile(r"^(\S+T\S+?) (\d{2}:?\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _plus_from_query(value: Any) -> Any:
    # A "+03:00" typed into a URL arrives as " 03:00" (the "+" means a space there).
    if isinstance(value, str):
        match = _OFFSET_SPACE.match(value.strip())
        if match:
            return f"{match.group(1)}+{match.group(2)}"
    return value


def _day_start(value: Any) -> Any:
    value = _plus_from_query(value)
    if isinstance(value, str) and _DAY.match(value.strip()):
        return datetime.combine(date.fromisoformat(value.strip()), time(0), tzinfo=timezone.utc)
    return value


def _day_end(value: Any) -> Any:
    # A bare day as the end of a period means the whole day is in it.
    value = _plus_from_query(value)
    if isinstance(value, str) and _DAY.match(value.strip()):
        day = date.fromisoformat(value.strip())
        if day.year >= 2200:
            raise ValueError("the year must be between 1900 and 2200")
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc)
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_plus_from_query), AfterValidator(_reasonable)]
PeriodStart = Annotated[
    AwareDatetime,
    BeforeValidator(_day_start),
    AfterValidator(_reasonable),
    Field(description="an ISO time with its offset, or a day (from its start, UTC)"),
]
PeriodEnd = Annotated[
    AwareDatetime,
    BeforeValidator(_day_end),
    AfterValidator(_reasonable),
    Field(description="an ISO time with its offset (exclusive), or a day (to its end, UTC)"),
]


class CrmBody(ApiModel):
    """A request body: unknown fields refused, text stripped and free of control characters."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_garbage(cls, value: Any) -> Any:
        return _check_strings(value)


class CrmQuery(ApiModel):
    """Query parameters, with the same text rules as bodies."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_garbage(cls, value: Any) -> Any:
        return _check_strings(value)


class CrmPageQuery(PageQuery):
    """A paged list's query parameters, with the same text rules as bodies."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_garbage(cls, value: Any) -> Any:
        return _check_strings(value)
