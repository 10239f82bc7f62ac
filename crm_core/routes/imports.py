"""Imports over HTTP: a client list (CSV or XLSX) sent as the request body."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field

from crm_core.api import ApiModel, ApiRequest, ApiRoutes, ResponseModel
from crm_core.errors import InvalidInput
from crm_core.importer import check_may_import, import_clients

routes = ApiRoutes("imports")

# Bigger exports (about 300 000 rows and up) go through `zvonar import clients`.
MAX_IMPORT_BYTES = 48 * 1024 * 1024
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NOT_A_FILE = ("multipart/", "application/x-www-form-urlencoded", "application/json")


class ImportQuery(ApiModel):
    filename: str = Field("clients.csv", min_length=1, max_length=255,
                          description="the file's name; .xlsx marks a workbook (the content decides otherwise)")
    on_duplicate: Literal["merge", "report"] = Field(
        "report", description="a row whose phone or tax id is already known: merge into that client, or report it")
    responsible: str | None = Field(None, min_length=1, max_length=64,
                                    description="login of the responsible user for rows that name none (default: you)")


class RejectedOut(ResponseModel):
    line: int = Field(description="the file line (or sheet row) of the row")
    reason: str


class ReassignedOut(ResponseModel):
    responsible: str = Field(description="the responsible the rows named, who is no user you may assign clients to")
    rows: int = Field(description="new clients of such rows")
    first_line: int
    given_to: str = Field(description="the login of the user they went to instead")


class ImportResultOut(ResponseModel):
    inserted: int = Field(description="rows that became new clients")
    updated: int = Field(description="rows merged into clients already in the base")
    duplicates: int = Field(description="rows already in the base and not merged (each also in rejected)")
    rejected: list[RejectedOut]
    reassigned: list[ReassignedOut] = Field(description="responsibles named in the file who are no user you may "
                                                        "assign to (unknown, inactive, another team)")
    sheet: str | None = Field(None, description="the XLSX sheet the clients were read from (the first with a "
                                                "header: a cover sheet may come before it); null for CSV")


async def read_upload(request: web.Request) -> bytes:
    """The request body as a file (CSV or XLSX), refused if it is a form or JSON or over the size limit."""
    content_type = request.content_type.lower()
    if content_type.startswith(_NOT_A_FILE):
        raise InvalidInput(f"send the file itself as the request body (Content-Type {CSV_TYPE} or {XLSX_TYPE}), "
                           f"not {content_type}")
    too_large = web.HTTPRequestEntityTooLarge(
        max_size=MAX_IMPORT_BYTES, actual_size=request.content_length or MAX_IMPORT_BYTES + 1,
        reason=f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; import it with: zvonar import clients FILE",
    )
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 20):
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@routes.post(
    "/api/import/clients", query=ImportQuery, response=ImportResultOut, raw_body=(CSV_TYPE, XLSX_TYPE),
)
async def import_clients_file(req: ApiRequest) -> ImportResultOut:
    """Import clients from a CSV (UTF-8 or Windows-1251) or XLSX export; supervisors and admins."""
    query: ImportQuery = req.query
    check_may_import(req.user)  # before reading what may be megabytes for nothing
    data = await read_upload(req.request)
    summary = await import_clients(
        req.db, req.user, data, query.filename,
        default_region=req.ctx.default_region,
        on_duplicate=query.on_duplicate,
        responsible_login=query.responsible,
    )
    return ImportResultOut.model_validate(summary.to_json())
