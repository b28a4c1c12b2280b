"""External token issuers (any OpenID Connect provider: NHS CIS2, Entra ID, a council's IdP),
trusted by configuration, each with its own claims adapter.

    issuers:
      - issuer: https://login.example.org/tenant       # must equal the token's iss
        audience: https://kinlink.example/api          # must be in the token's aud
        algorithms: [RS256, ES256]                     # pinned; never none or HS*
        adapter: generic                               # generic (default) | entra | cis2
        claims:                                        # kinlink field <- the issuer's claim(s)
          client_id: [azp, client_id]                  # a list: the first one present
          agency: extension_agency
          role: roles
          purposes: extension_purposes
          user: sub
          jti: jti
        roles: {Kinlink.Police: mash-police-officer}   # issuer role -> kinlink role (allow-list)
        fixed: {agency: health}                        # values the issuer never varies
        token_types: [at+jwt]                          # accepted JOSE typ (default at+jwt)
        discovery_url: https://login.example.org/tenant/.well-known/openid-configuration
                                                       # only where it is not under the issuer
                                                       # URL (Entra v1.0 tokens' sts.windows.net)
        pages:                                         # optional: staff sign in to the pages here
          name: Wessex County Council staff sign-in
          client_id: kinlink-pages
          client_secret_env: KINLINK_PAGES_SECRET      # the secret is read from this variable
          scope: openid kinlink

Adapters, because providers put the same facts in different places:

- ``generic``: each kinlink field from the claim of the same name unless ``claims`` says otherwise.
- ``entra`` (Microsoft Entra ID): the client is ``azp`` (v2) or ``appid`` (v1); app roles
  (``roles``) name the kinlink role through the ``roles`` table, and those starting with
  ``purpose_prefix`` (default ``Purpose.``) name purposes; the user is ``oid`` on a delegated token
  (one with ``scp``) and nobody on an app-only one; the token ID is ``uti``. Entra signs access
  tokens with ``typ: JWT``, so this adapter accepts that unless ``token_types`` says otherwise;
  ID-token-only claims (``nonce``, ``at_hash``, ``c_hash``) are then refused, and ``audience``
  must be the API's application ID URI, never a client's ID, so an ID token cannot pass as an
  access token.
- ``cis2`` (NHS CIS2 style): the member of staff's role is the ``nhsid_nrbac_roles`` entry whose
  ``person_roleid`` is ``selected_roleid``; its ``role_code`` (``S…:G…:R…``) is looked up in
  ``roles`` (the whole code, then each part, most specific first) and its ``org_code`` in
  ``organisations`` for the agency; the user is ``nhsid_useruid``. Purposes usually come from
  ``fixed``. It applies where those claims reach kinlink in a JWT access token.

A role list that maps to more than one kinlink role, or a role the ``roles`` table does not list,
is refused rather than guessed: the order of an IdP's list carries no meaning.

Keys come only from the issuer's JWKS (found through its discovery document), cached and
re-fetched when a token names a key not yet seen, at most once per ``JWKS_COOLDOWN_SECONDS``, so
rotation needs no restart and random key IDs cannot make kinlink hammer the provider.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml
from jwt import PyJWKClient

from gateway.tokens import Caller, InvalidToken

__all__ = ["ADAPTERS", "ClaimsAdapter", "ExternalIssuer", "IssuerConfigError", "load_issuers"]

_FORBIDDEN_ALGORITHMS = {"none", "HS256", "HS384", "HS512"}
_FIELDS = ("client_id", "agency", "role", "purposes", "user", "jti")
ADAPTERS = ("generic", "entra", "cis2")
#: Least time between two JWKS fetches caused by unknown key IDs, and between discovery retries.
JWKS_COOLDOWN_SECONDS = 30.0
_FETCH_TIMEOUT_SECONDS = 5.0
_ID_TOKEN_ONLY = ("nonce", "at_hash", "c_hash")

_DEFAULT_CLAIMS: dict[str, dict[str, tuple[str, ...]]] = {
    "generic": {name: (name,) for name in _FIELDS},
    "entra": {"client_id": ("azp", "appid"), "agency": ("agency",), "role": ("roles",),
              "purposes": ("roles",), "user": ("oid",), "jti": ("uti", "jti")},
    "cis2": {"client_id": ("client_id", "azp"), "agency": (), "role": (), "purposes": ("purposes",),
             "user": ("nhsid_useruid", "sub"), "jti": ("jti",)},
}


class IssuerConfigError(ValueError):
    pass


def _first(claims: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if claims.get(name) not in (None, "", []):
            return claims[name]
    return None


@dataclass(frozen=True)
class ClaimsAdapter:
    """How one issuer's claims become a kinlink :class:`Caller`."""

    kind: str = "generic"
    #: kinlink field -> the issuer's claim names, first present wins (defaults per ``kind``).
    claims: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    #: The issuer's role values -> kinlink roles. When given, only listed roles are accepted.
    roles: dict[str, str] | None = None
    #: CIS2 ``org_code`` -> kinlink agency.
    organisations: dict[str, str] = field(default_factory=dict)
    #: Entra app roles with this prefix name purposes, not roles.
    purpose_prefix: str = "Purpose."

    def _names(self, name: str) -> tuple[str, ...]:
        return self.claims.get(name) or _DEFAULT_CLAIMS[self.kind][name]

    def _role(self, values: Any) -> str:
        listed = values if isinstance(values, list) else [values] if values is not None else []
        if not all(isinstance(v, str) for v in listed):
            raise InvalidToken("role claim malformed")
        if self.kind == "entra":
            listed = [v for v in listed if not v.startswith(self.purpose_prefix)]
        mapped = {self.roles[v] for v in listed if v in self.roles} if self.roles is not None \
            else set(listed)
        if len(mapped) != 1:
            raise InvalidToken("token names no role, or more than one, this issuer may grant")
        return mapped.pop()

    def _cis2_selected_role(self, claims: dict[str, Any]) -> tuple[str, str | None]:
        """The kinlink role and agency of the role the user chose at sign-in."""
        selected = claims.get("selected_roleid")
        entries = claims.get("nhsid_nrbac_roles")
        if not isinstance(entries, list) or selected is None:
            raise InvalidToken("token lacks the selected CIS2 role")
        for entry in entries:
            if isinstance(entry, dict) and str(entry.get("person_roleid")) == str(selected):
                code = str(entry.get("role_code") or "")
                # The whole code first, then its parts from the most specific (R…) back.
                candidates = [code, *reversed(code.split(":"))]
                role = next((self.roles[c] for c in candidates if self.roles and c in self.roles),
                            None)
                if role is None:
                    raise InvalidToken("the selected CIS2 role is not one this issuer may grant")
                org = entry.get("org_code")
                agency = self.organisations.get(org) if isinstance(org, str) else None
                if agency is None and "agency" not in self.fixed:
                    raise InvalidToken("the selected CIS2 role's organisation is not one "
                                       "this issuer may speak for")
                return role, agency
        raise InvalidToken("the selected CIS2 role is not among the user's roles")

    def caller(self, claims: dict[str, Any], issuer: str, jkt: str | None) -> Caller:
        fixed = self.fixed
        mapped = {name: fixed[name] if name in fixed else _first(claims, self._names(name))
                  for name in _FIELDS}
        if self.kind == "cis2":
            if not {"role", "agency"} <= fixed.keys():
                role, agency = self._cis2_selected_role(claims)
                mapped["role"] = fixed.get("role", role)
                mapped["agency"] = fixed.get("agency", agency)
        elif "role" not in fixed:
            mapped["role"] = self._role(mapped["role"])
        if self.kind == "entra":
            if "purposes" not in fixed:
                roles = mapped["purposes"] if isinstance(mapped["purposes"], list) else []
                mapped["purposes"] = [r[len(self.purpose_prefix):] for r in roles
                                      if isinstance(r, str) and r.startswith(self.purpose_prefix)]
            if "user" not in fixed and "scp" not in claims:
                mapped["user"] = None  # an app-only token: no member of staff behind it
        purposes = mapped["purposes"]
        if isinstance(purposes, str):
            purposes = purposes.split()
        if not all(isinstance(mapped[k], str) and mapped[k]
                   for k in ("client_id", "agency", "role", "jti")) \
                or not isinstance(purposes, list):
            raise InvalidToken("token lacks the claims this issuer is configured to map")
        user = mapped["user"]
        return Caller(mapped["client_id"], mapped["agency"], mapped["role"],
                      tuple(str(p) for p in purposes), str(user) if user else None,
                      mapped["jti"], issuer, jkt)


@dataclass
class ExternalIssuer:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    claims: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    leeway: int = 30
    #: Staff sign-in to the pages through this issuer (authorization code with PKCE), if set.
    pages: dict[str, str] | None = None
    adapter: ClaimsAdapter | None = None
    #: Accepted JOSE ``typ`` values, lower case (RFC 9068's ``at+jwt`` unless configured).
    token_types: tuple[str, ...] = ("at+jwt", "application/at+jwt")
    #: Least time between fetches of the JWKS for unknown key IDs (and discovery retries).
    jwks_cooldown: float = JWKS_COOLDOWN_SECONDS
    #: Where the discovery document is, when not under the issuer URL (Entra v1 tokens).
    discovery_url: str | None = None
    _jwks: PyJWKClient | None = None
    _discovery: dict[str, Any] | None = None
    _discovery_failed_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.adapter is None:
            self.adapter = ClaimsAdapter(
                claims={k: (v,) if isinstance(v, str) else tuple(v) for k, v in self.claims.items()},
                fixed=dict(self.fixed))

    def discovery(self) -> dict[str, Any]:
        """The issuer's OpenID discovery document, fetched once; a failure is retried only after
        the cooldown, so an unreachable provider costs each request nothing but a refusal."""
        with self._lock:
            if self._discovery is not None:
                return self._discovery
            if time.monotonic() - self._discovery_failed_at < self.jwks_cooldown:
                raise InvalidToken("token issuer unavailable")
            url = self.discovery_url or \
                f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            try:
                with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_SECONDS) as response:
                    document = json.load(response)
                if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
                    raise ValueError("no jwks_uri")
            except (OSError, ValueError, urllib.error.URLError) as exc:
                self._discovery_failed_at = time.monotonic()
                raise InvalidToken("token issuer unavailable") from exc
            if document.get("issuer") != self.issuer:
                self._discovery_failed_at = time.monotonic()
                raise InvalidToken("issuer discovery document names another issuer")
            self._discovery = document
            return document

    def _keys(self) -> PyJWKClient:
        if self._jwks is None:
            self._jwks = PyJWKClient(self.discovery()["jwks_uri"], cache_keys=False,
                                     lifespan=300, timeout=_FETCH_TIMEOUT_SECONDS,
                                     cooldown_duration=self.jwks_cooldown)
        return self._jwks

    def validate(self, token: str, header: dict[str, Any]) -> Caller:
        if header.get("alg") not in self.algorithms:
            raise InvalidToken("token algorithm not accepted")
        typ = str(header.get("typ", "")).lower()
        if typ not in self.token_types:
            # The token's own typ is never echoed: it is attacker-chosen text bound for a header.
            raise InvalidToken("not an access token (its typ is not one this issuer's access "
                               "tokens carry)")
        if not isinstance(header.get("kid"), str):
            raise InvalidToken("token has no key id")
        try:
            key = self._keys().get_signing_key(header["kid"])
        except (jwt.PyJWKClientError, OSError) as exc:
            raise InvalidToken("token signed by an unknown key") from exc
        try:
            claims = jwt.decode(token, key=key, algorithms=list(self.algorithms),
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": ["iss", "aud", "exp", "iat"]})
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("token is for another audience") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("token signature or claims invalid") from exc
        if typ not in ("at+jwt", "application/at+jwt") and any(c in claims for c in _ID_TOKEN_ONLY):
            raise InvalidToken("an ID token is not an access token")
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if cnf is not None and not isinstance(jkt, str):
            raise InvalidToken("cnf claim malformed")
        assert self.adapter is not None
        return self.adapter.caller(claims, self.issuer, jkt)


def _string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
        raise IssuerConfigError(f"{where}: must map names to non-empty names")
    return dict(value)


def _claim_names(value: Any, where: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names or \
            not all(isinstance(n, str) and n for n in names):
        raise IssuerConfigError(f"{where}: must be a claim name or a list of claim names")
    return tuple(names)


def _issuer(entry: dict[str, Any], where: str) -> ExternalIssuer:
    for required in ("issuer", "audience", "algorithms"):
        if not entry.get(required):
            raise IssuerConfigError(f"{where}.{required}: required")
    if not isinstance(entry["algorithms"], list):
        raise IssuerConfigError(f"{where}.algorithms: must be a list")
    algorithms = tuple(entry["algorithms"])
    bad = [a for a in algorithms if not isinstance(a, str) or a in _FORBIDDEN_ALGORITHMS]
    if bad:
        raise IssuerConfigError(f"{where}.algorithms: {bad[0]!r} is never accepted")
    kind = entry.get("adapter", "generic")
    if kind not in ADAPTERS:
        raise IssuerConfigError(f"{where}.adapter: {kind!r} is not one of {', '.join(ADAPTERS)}")
    raw_claims = entry.get("claims") or {}
    if not isinstance(raw_claims, dict):
        raise IssuerConfigError(f"{where}.claims: must be a mapping")
    unknown = [k for k in raw_claims if k not in _FIELDS]
    if unknown:
        raise IssuerConfigError(f"{where}.claims.{unknown[0]}: not a field kinlink maps")
    claims = {k: _claim_names(v, f"{where}.claims.{k}") for k, v in raw_claims.items()}
    roles = _string_map(entry["roles"], f"{where}.roles") if "roles" in entry else None
    organisations = (_string_map(entry["organisations"], f"{where}.organisations")
                     if "organisations" in entry else {})
    fixed = entry.get("fixed") or {}
    if not isinstance(fixed, dict) or any(k not in _FIELDS for k in fixed):
        raise IssuerConfigError(f"{where}.fixed: must map kinlink fields ({', '.join(_FIELDS)})")
    if kind == "entra" and "agency" not in fixed and "agency" not in claims:
        raise IssuerConfigError(f"{where}.fixed.agency: required by the entra adapter "
                                "(Entra tokens name no agency) unless claims.agency is set")
    if kind == "cis2" and roles is None and "role" not in fixed:
        raise IssuerConfigError(f"{where}.roles: required by the cis2 adapter (role codes -> roles)")
    if kind == "cis2" and not organisations and "agency" not in fixed:
        raise IssuerConfigError(f"{where}.organisations: required by the cis2 adapter "
                                "(org codes -> agencies) unless fixed.agency is set")
    prefix = entry.get("purpose_prefix", "Purpose.")
    if not isinstance(prefix, str) or not prefix:
        raise IssuerConfigError(f"{where}.purpose_prefix: must be a non-empty string")
    default_types = ["JWT"] if kind == "entra" else ["at+jwt"]
    types = entry.get("token_types", default_types)
    if not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types):
        raise IssuerConfigError(f"{where}.token_types: must be a non-empty list")
    accepted = {t.lower() for t in types}
    if "at+jwt" in accepted:
        accepted.add("application/at+jwt")
    pages = entry.get("pages")
    if pages is not None:
        missing = [k for k in ("name", "client_id") if not (isinstance(pages, dict)
                                                           and pages.get(k))]
        if missing:
            raise IssuerConfigError(f"{where}.pages.{missing[0]}: required")
    discovery_url = entry.get("discovery_url")
    if discovery_url is not None and not (isinstance(discovery_url, str)
                                          and discovery_url.startswith(("https://", "http://"))):
        raise IssuerConfigError(f"{where}.discovery_url: must be an http(s) URL")
    adapter = ClaimsAdapter(kind, claims, dict(fixed), roles, organisations, prefix)
    return ExternalIssuer(entry["issuer"], entry["audience"], algorithms, dict(raw_claims),
                          dict(fixed), pages=dict(pages) if pages else None, adapter=adapter,
                          token_types=tuple(sorted(accepted)), discovery_url=discovery_url)


def load_issuers(path: Path) -> dict[str, ExternalIssuer]:
    """Trusted issuers by issuer URL; a bad file is an error naming the file and the field."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise IssuerConfigError(f"{path}: cannot read issuers ({exc})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("issuers") or [], list):
        raise IssuerConfigError(f"{path}: issuers: must be a list")
    issuers: dict[str, ExternalIssuer] = {}
    for n, entry in enumerate(document.get("issuers") or []):
        where = f"{path}: issuers[{n}]"
        if not isinstance(entry, dict):
            raise IssuerConfigError(f"{where}: must be a mapping")
        issuer = _issuer(entry, where)
        if issuer.issuer in issuers:
            raise IssuerConfigError(f"{where}.issuer: {issuer.issuer!r} is configured twice")
        issuers[issuer.issuer] = issuer
    return issuers
