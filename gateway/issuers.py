"""External token issuers (any OpenID Connect provider: NHS CIS2, Entra ID, a council's IdP),
trusted by configuration, each with its own claims adapter.

    issuers:
      - issuer: https://login.example.org/tenant       # must equal the token's iss
        audience: https://kinlink.example/api          # must be in the token's aud
        algorithms: [RS256, ES256]                     # pinned; never none or HS*
        claims:                                        # kinlink field <- the issuer's claim
          client_id: azp
          agency: extension_agency
          role: roles                                  # a list: the first value is used
          purposes: extension_purposes
          user: sub
        fixed: {agency: health}                        # values the issuer never varies
        pages:                                         # optional: staff sign in to the pages here
          name: Wessex County Council staff sign-in
          client_id: kinlink-pages
          client_secret_env: KINLINK_PAGES_SECRET      # the secret is read from this variable
          scope: openid kinlink

Keys come only from the issuer's JWKS (found through its discovery document), cached and
re-fetched when a token names a key not yet seen, so rotation needs no restart.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml
from jwt import PyJWKClient

from gateway.tokens import Caller, InvalidToken

__all__ = ["ExternalIssuer", "IssuerConfigError", "load_issuers"]

_FORBIDDEN_ALGORITHMS = {"none", "HS256", "HS384", "HS512"}
_FIELDS = ("client_id", "agency", "role", "purposes", "user")


class IssuerConfigError(ValueError):
    pass


@dataclass
class ExternalIssuer:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    claims: dict[str, str]
    fixed: dict[str, Any] = field(default_factory=dict)
    leeway: int = 30
    #: Staff sign-in to the pages through this issuer (authorization code with PKCE), if set.
    pages: dict[str, str] | None = None
    _jwks: PyJWKClient | None = None
    _discovery: dict[str, Any] | None = None

    def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            with urllib.request.urlopen(url, timeout=5) as response:  # a configured https URL
                document = json.load(response)
            if document.get("issuer") != self.issuer:
                raise InvalidToken("issuer discovery document names another issuer")
            self._discovery = document
        return self._discovery

    def _keys(self) -> PyJWKClient:
        if self._jwks is None:
            self._jwks = PyJWKClient(self.discovery()["jwks_uri"], cache_keys=True, lifespan=300)
        return self._jwks

    def validate(self, token: str, header: dict[str, Any]) -> Caller:
        if header.get("alg") not in self.algorithms:
            raise InvalidToken("token algorithm not accepted")
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise InvalidToken("not an access token (typ must be at+jwt)")
        if not isinstance(header.get("kid"), str):
            raise InvalidToken("token has no key id")
        try:
            key = self._keys().get_signing_key(header["kid"])
        except (jwt.PyJWKClientError, OSError) as exc:
            raise InvalidToken("token signed by an unknown key") from exc
        try:
            claims = jwt.decode(token, key=key, algorithms=list(self.algorithms),
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("token is for another audience") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("token signature or claims invalid") from exc
        mapped = {name: self.fixed.get(name, claims.get(self.claims.get(name, name)))
                  for name in _FIELDS}
        role = mapped["role"]
        if isinstance(role, list):
            role = role[0] if role else None
        purposes = mapped["purposes"]
        if isinstance(purposes, str):
            purposes = purposes.split()
        if not all(isinstance(mapped[k], str) and mapped[k] for k in ("client_id", "agency")) \
                or not isinstance(role, str) or not isinstance(purposes, list):
            raise InvalidToken("token lacks the claims this issuer is configured to map")
        return Caller(mapped["client_id"], mapped["agency"], role,
                      tuple(str(p) for p in purposes), mapped["user"], str(claims["jti"]),
                      self.issuer, (claims.get("cnf") or {}).get("jkt"))


def load_issuers(path: Path) -> dict[str, ExternalIssuer]:
    """Trusted issuers by issuer URL; a bad file is an error naming the file and the field."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise IssuerConfigError(f"{path}: cannot read issuers ({exc})") from exc
    issuers: dict[str, ExternalIssuer] = {}
    for n, entry in enumerate(document.get("issuers") or []):
        where = f"{path}: issuers[{n}]"
        if not isinstance(entry, dict):
            raise IssuerConfigError(f"{where}: must be a mapping")
        for required in ("issuer", "audience", "algorithms"):
            if not entry.get(required):
                raise IssuerConfigError(f"{where}.{required}: required")
        algorithms = tuple(entry["algorithms"])
        bad = [a for a in algorithms if a in _FORBIDDEN_ALGORITHMS or not isinstance(a, str)]
        if bad:
            raise IssuerConfigError(f"{where}.algorithms: {bad[0]!r} is never accepted")
        claims = entry.get("claims") or {}
        unknown = [k for k in claims if k not in _FIELDS]
        if unknown:
            raise IssuerConfigError(f"{where}.claims.{unknown[0]}: not a field kinlink maps")
        pages = entry.get("pages")
        if pages is not None:
            missing = [k for k in ("name", "client_id") if not (isinstance(pages, dict)
                                                               and pages.get(k))]
            if missing:
                raise IssuerConfigError(f"{where}.pages.{missing[0]}: required")
        issuers[entry["issuer"]] = ExternalIssuer(entry["issuer"], entry["audience"], algorithms,
                                                  dict(claims), dict(entry.get("fixed") or {}),
                                                  pages=dict(pages) if pages else None)
    return issuers
