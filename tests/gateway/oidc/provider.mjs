// A real OpenID provider (panva/oidc-provider) on loopback for kinlink's external-issuer test.
// Usage: node provider.mjs PORT AUDIENCE CLIENT_ID CLIENT_SECRET [PAGES_REDIRECT_URI]
// With a redirect URI it also registers 'kinlink-pages' (authorization code + PKCE) and turns on
// the provider's development sign-in pages, so a browser can sign a member of staff in.
// Issues RFC 9068 JWT access tokens (typ at+jwt, ES256) for the client-credentials grant, with
// the claims a council's IdP would be configured to add (agency, role, purposes).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, audience, clientId, clientSecret, pagesRedirect] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: randomUUID() };

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
  jwks: { keys: [signingKey] },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: Boolean(pagesRedirect) },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'kinlink',
        audience,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  extraTokenClaims: () => ({
    council_agency: 'police',
    council_role: 'mash-police-officer',
    council_purposes: ['s47-enquiry', 'mash-triage'],
  }),
});
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
