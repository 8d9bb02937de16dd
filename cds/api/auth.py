"""The EHR-authentication dependency for the CDS routes (discovery, service calls, feedback).

Health, readiness and metrics do not use it, and CORS preflight (OPTIONS) never reaches a route.
With CDS_JWT_REQUIRED=false there is no authenticator and every caller is let through (the app
logs a loud warning at start-up).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from cds.api.state import State
from cds.security import VerifiedClient

# Declared for the OpenAPI document only (so /docs shows the lock); the header is parsed and
# checked by the authenticator itself, which answers every failure with the same bare 401.
_bearer_scheme = HTTPBearer(auto_error=False, bearerFormat="JWT")


async def authenticate_ehr(
    request: Request, state: State, _: Annotated[object, Depends(_bearer_scheme)]
) -> VerifiedClient | None:
    if state.authenticator is None:
        return None
    client = await state.authenticator.authenticate(
        request.headers.get("authorization"), request.url.path
    )
    request.state.cds_client = client  # for audit and logs: issuer and tenant, never the token
    return client


RequireEhr = Depends(authenticate_ehr)
AuthenticatedEhr = Annotated[VerifiedClient | None, RequireEhr]
