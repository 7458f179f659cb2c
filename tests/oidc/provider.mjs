// A real OpenID Connect provider for Gatehouse's staff sign-in test
// (crates/server/tests/oidc_sign_in.rs), built on the npm package
// oidc-provider. Test-only: an in-memory store, a key made at start-up.
//
//   node provider.mjs <redirect-uri>
//
// Listens on 127.0.0.1 on a free port, prints one JSON line
// {"issuer": "http://127.0.0.1:PORT"} and serves until stdin closes (so it
// stops with the test that started it). One public client, `gatehouse`, with
// PKCE required (oidc-provider requires it for public clients).
//
// Its login and consent pages are deliberately tiny HTML forms: the login
// form takes an account name, which becomes the subject (`sub`) of the ID
// token; the consent form has one button. The test follows them as a browser
// would.

import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const redirectUri = process.argv[2];
if (!redirectUri) {
  console.error('usage: node provider.mjs <redirect-uri>');
  process.exit(2);
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'gatehouse',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  });

  const page = (res, body) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html><html><body>${body}</body></html>`);
  };
  const form = async (req) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    return new URLSearchParams(raw);
  };

  server.on('request', async (req, res) => {
    const m = req.url.match(/^\/interaction\/([\w-]+)(\/login|\/confirm)?$/);
    if (!m) return provider.callback()(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const uid = m[1];
      if (req.method === 'GET' && details.prompt.name === 'login') {
        return page(res, `<h1>Sign in</h1><form method="post" action="/interaction/${uid}/login">`
          + '<input name="login"><button type="submit">Sign in</button></form>');
      }
      if (req.method === 'GET') {
        return page(res, `<h1>Allow Gatehouse?</h1><form method="post" action="/interaction/${uid}/confirm">`
          + '<button type="submit">Allow</button></form>');
      }
      if (m[2] === '/login') {
        const login = (await form(req)).get('login');
        return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      }
      // Consent: grant what was asked for.
      const { prompt: { details: asked }, params, session: { accountId } } = details;
      let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
      if (!grant) grant = new provider.Grant({ accountId, clientId: params.client_id });
      if (asked.missingOIDCScope) grant.addOIDCScope(asked.missingOIDCScope.join(' '));
      if (asked.missingOIDCClaims) grant.addOIDCClaims(asked.missingOIDCClaims);
      const grantId = await grant.save();
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${e.message}`);
    }
  });

  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

// Stop when the test that started us goes away (and never die of a closed stdout).
process.stdout.on('error', () => {});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
