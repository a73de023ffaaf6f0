"""Code uploads: the archive of a configuration's directory, stored once per project by its sha256."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Controller, Request, post
from litestar.di import Provide
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.status_codes import HTTP_200_OK, HTTP_413_REQUEST_ENTITY_TOO_LARGE

from api.auth import ProjectAccess
from api.controllers import provide_access
from api.errors import NOT_FOUND_ERRORS, ApiError, ErrorBody, NotFound
from api.openapi import BEARER_TOKEN
from api.schemas import MAX_CODE_BYTES, CodeInfo, GetCodeInfoRequest, UploadedCode
from store.code import CodeStore

log = structlog.get_logger(__name__)

_TOO_LARGE = f"the code archive is larger than the limit of {MAX_CODE_BYTES // (1024 * 1024)} MB"


@dataclass
class _ArchiveUploadOperation(Operation):
    """The upload reads its body itself (to bound it and name the limit when it is exceeded), so
    Litestar sees no `data` to describe: the document gets the body from here."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, description="the archive: a tar.gz", content={
            "application/octet-stream": OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, min_length=1, max_length=MAX_CODE_BYTES))})


class CodeController(Controller):
    path = "/api/project/{project_name:str}/code"
    tags = ["code"]
    security = BEARER_TOKEN
    dependencies = {"access": Provide(provide_access)}

    @post("/upload", status_code=HTTP_200_OK, summary="Upload code (a tar.gz) for runs to take along",
          description=f"The raw archive as the body, 1 to {MAX_CODE_BYTES} bytes (100 MB). Stored under its "
                      "sha256, once: uploading an archive the project already has writes nothing (`created`: "
                      "false). Any project member may upload.",
          request_max_body_size=MAX_CODE_BYTES, operation_class=_ArchiveUploadOperation,
          responses=dict(sorted({**NOT_FOUND_ERRORS, HTTP_413_REQUEST_ENTITY_TOO_LARGE: ResponseSpec(
              data_container=ErrorBody, description=f"The body is larger than {MAX_CODE_BYTES} bytes",
              generate_examples=False)}.items())))
    async def upload(self, access: ProjectAccess, request: Request[Any, Any, Any],
                     code_store: CodeStore) -> UploadedCode:
        try:
            data = await request.body()
        except RequestEntityTooLarge:
            raise ApiError(HTTP_413_REQUEST_ENTITY_TOO_LARGE, _TOO_LARGE) from None
        if not data:
            raise ApiError(400, "the body is empty: send the code as a tar.gz archive")
        code_hash, created = await code_store.put(access.project.id, data)
        log.info("code uploaded", project=access.project.name, hash=code_hash, size=len(data), created=created)
        return UploadedCode(hash=code_hash, size=len(data), created=created)

    @post("/get_info", status_code=HTTP_200_OK, summary="Whether the project has code of this sha256",
          description="404 when it has not: upload it.", responses=NOT_FOUND_ERRORS)
    async def get_info(self, access: ProjectAccess, data: GetCodeInfoRequest, code_store: CodeStore) -> CodeInfo:
        stored = await code_store.info(access.project.id, data.hash)
        if stored is None:
            raise NotFound(f"no code with sha256 {data.hash} in project {access.project.name}")
        return CodeInfo(hash=stored.hash, size=stored.size)
