// A real OpenID provider (panva/oidc-provider) on loopback for kinlink's external-issuer tests.
// Usage: node provider.mjs PORT AUDIENCE CLIENT_ID CLIENT_SECRET [PAGES_REDIRECT_URI]
// With a redirect URI it also registers 'kinlink-pages' (authorization code + PKCE) and turns on
// the provider's development sign-in pages, so a browser can sign a member of staff in.
// Issues RFC 9068 JWT access tokens (typ at+jwt) for the client-credentials grant. The resource
// (audience) is AUDIENCE unless the client asks, with a `resource` parameter (RFC 8707), for one
// of the comma-separated KINLINK_TEST_RESOURCES. KINLINK_TEST_PROFILE shapes the claims:
//   council (default)  agency, role and purposes as a council's IdP would be configured to add
//   entra              as Microsoft Entra ID shapes an app-only token: typ JWT, RS256, azp, app
//                      roles (role and purposes), uti and no jti or client_id
//   cis2               NHS CIS2 style: nhsid_useruid, nhsid_nrbac_roles and selected_roleid
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const [port, audience, clientId, clientSecret, pagesRedirect] = process.argv.slice(2);
const profile = process.env.KINLINK_TEST_PROFILE || 'council';
const resources = new Set([audience, ...(process.env.KINLINK_TEST_RESOURCES || '').split(',').filter(Boolean)]);
const issuer = `http://127.0.0.1:${port}`;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const keys = [
  { ...ec.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: randomUUID() },
  { ...rsa.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: randomUUID() },
];

const claimsByProfile = {
  council: {
    council_agency: 'police',
    council_role: 'mash-police-officer',
    council_purposes: ['s47-enquiry', 'mash-triage'],
  },
  entra: {
    roles: ['Kinlink.Police', 'Purpose.s47-enquiry', 'Purpose.mash-triage'],
    tid: '00000000-0000-4000-8000-000000000001',
    ver: '2.0',
  },
  cis2: {
    nhsid_useruid: '900000000001',
    selected_roleid: '800000000002',
    nhsid_nrbac_roles: [
      { person_orgid: '700000000001', person_roleid: '800000000001', org_code: 'X1A',
        role_name: '"Admin & Clerical":"Admin":"Receptionist"', role_code: 'S8001:G8001:R8010' },
      { person_orgid: '700000000002', person_roleid: '800000000002', org_code: 'X2B',
        role_name: '"Clinical":"Clinical Provision":"Health Visitor"', role_code: 'S8000:G8000:R8003' },
    ],
  },
};

// Entra's shape: typ JWT, the client as azp, the token ID as uti (Entra access tokens carry no jti).
async function entraShape(ctx, token, jwt) {
  jwt.header = { typ: 'JWT' };
  jwt.payload.azp = jwt.payload.client_id;
  jwt.payload.uti = jwt.payload.jti;
  delete jwt.payload.client_id;
  delete jwt.payload.jti;
  delete jwt.payload.scope; // app-only tokens carry roles, not scp
}

const pagesClient = pagesRedirect ? [{
  client_id: 'kinlink-pages',
  client_secret: 'pages-secret',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: [pagesRedirect],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'ES256',
}] : [];

const provider = new Provider(issuer, {
  clients: [...pagesClient, {
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: Boolean(pagesRedirect) },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (!resources.has(resourceIndicator)) throw new errors.InvalidTarget();
        return {
          scope: 'kinlink',
          audience: resourceIndicator,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: profile === 'entra' ? 'RS256' : 'ES256' } },
        };
      },
    },
  },
  formats: { customizers: { jwt: profile === 'entra' ? entraShape : undefined } },
  extraTokenClaims: () => claimsByProfile[profile],
});
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer} (${profile})`);
});
