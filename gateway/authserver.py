"""The embedded OAuth 2 authorization server: discovery, JWKS, and the client-credentials grant.

For the default one-machine install. In production the same resource server trusts an external
OIDC issuer instead (not yet built: see the issue note).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import JSONResponse

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
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
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
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        if grant_type != "client_credentials":
            return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode()
                client_id, _, client_secret = decoded.partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _oauth_error("invalid_client", "malformed Basic credentials", 401)
        if not client_id or not client_secret:
            return _oauth_error("invalid_client", "client authentication required", 401)
        client = request.app.state.clients.authenticate(client_id, client_secret)
        if client is None:
            return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
        access_token = request.app.state.issuer.issue(client)
        return JSONResponse(
            {"access_token": access_token, "token_type": "Bearer",
             "expires_in": request.app.state.settings.token_lifetime_seconds,
             "scope": " ".join(f"purpose:{p}" for p in client.purposes)},
            headers={"Cache-Control": "no-store"},
        )

    return router
