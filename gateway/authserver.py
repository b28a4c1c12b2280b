"""The embedded OAuth 2 authorization server: discovery, JWKS, and the client-credentials grant.

For the default one-machine install. Clients authenticate with ``private_key_jwt`` (RFC 7523) or a
client secret; a DPoP proof at the token endpoint binds the token to the client's key (RFC 9449).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import JSONResponse

from gateway.client_assertion import (
    JWT_BEARER,
    AssertionRejected,
    verify_client_assertion,
)
from gateway.dpop import DPoPError, verify_proof

__all__ = ["authorization_server"]


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="kinlink"'
    return JSONResponse({"error": error, "error_description": description}, status, headers=headers)


def authorization_server() -> APIRouter:
    router = APIRouter(tags=["authorization server"])

    @router.get("/.well-known/oauth-authorization-server")
    def discovery(request: Request) -> dict[str, object]:
        issuer = request.app.state.settings.issuer
        return {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/oauth/token",
            "jwks_uri": f"{issuer}/oauth/jwks.json",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic",
                                                      "client_secret_post"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "response_types_supported": [],
        }

    @router.get("/oauth/jwks.json")
    def jwks(request: Request) -> dict[str, object]:
        return request.app.state.keys.jwks()

    @router.post("/oauth/token")
    def token(
        request: Request,
        grant_type: Annotated[str, Form()],
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
        client_assertion_type: Annotated[str | None, Form()] = None,
        client_assertion: Annotated[str | None, Form(max_length=8192)] = None,
        authorization: Annotated[str | None, Header()] = None,
        dpop: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        if grant_type != "client_credentials":
            return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
        state = request.app.state
        endpoint = f"{state.settings.issuer}/oauth/token"
        if client_assertion_type is not None or client_assertion is not None:
            if client_assertion_type != JWT_BEARER or not client_assertion:
                return _oauth_error("invalid_client", "unsupported client assertion", 401)
            try:
                client = verify_client_assertion(client_assertion, state.clients, endpoint,
                                                 state.settings.issuer, state.assertion_replay)
            except AssertionRejected as exc:
                return _oauth_error("invalid_client", str(exc), 401)
        else:
            if authorization and authorization.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(authorization[6:], validate=True).decode()
                    client_id, _, client_secret = decoded.partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    return _oauth_error("invalid_client", "malformed Basic credentials", 401)
            if not client_id or not client_secret:
                return _oauth_error("invalid_client", "client authentication required", 401)
            client = state.clients.authenticate(client_id, client_secret)
            if client is None:
                return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
        jkt = None
        if dpop is not None:
            try:
                jkt = verify_proof(dpop, "POST", endpoint, state.dpop_replay)
            except DPoPError as exc:
                return _oauth_error("invalid_dpop_proof", str(exc))
        access_token = state.issuer.issue(client, jkt=jkt)
        return JSONResponse(
            {"access_token": access_token, "token_type": "DPoP" if jkt else "Bearer",
             "expires_in": state.settings.token_lifetime_seconds,
             "scope": " ".join(f"purpose:{p}" for p in client.purposes)},
            headers={"Cache-Control": "no-store"},
        )

    return router
