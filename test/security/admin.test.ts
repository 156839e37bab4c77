/**
 * Operator surfaces: the admin routes (`/v1/admin/usage`, `/v1/admin/block`, `/metrics`) do not exist
 * for anyone without the admin token — the same 404 as a path that never existed, whatever the method
 * or credential — and not at all when no admin token is configured. Endpoints the policy leaves out
 * are just as invisible, to players and to anonymous callers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  as,
  bearer,
  call,
  expectError,
  FAKE_MODEL,
  gameJwt,
  newSession,
  PRODUCTION_AUTH,
  policyFile,
  type Reply,
  type Started,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

const ADMIN_ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/v1/admin/usage'],
  ['GET', '/v1/admin/usage?player=anon_x'],
  ['POST', '/v1/admin/block', { everyone: true, blocked: true }],
  ['GET', '/metrics'],
  // Other methods on the same paths must not betray that they exist (no 405).
  ['POST', '/metrics', {}],
  ['DELETE', '/metrics'],
  ['GET', '/v1/admin/block'],
  ['DELETE', '/v1/admin/usage'],
  ['POST', '/v1/admin/usage', {}],
];

/** Exactly what a path that never existed answers. */
function expectNoSuchRoute(reply: Reply, method: string, path: string): void {
  expectError(reply, 404, 'not_found');
  expect(reply.json.error.message).toBe(`Invalid URL (${method} ${new URL(path, 'http://x').pathname})`);
  expect(reply.headers['www-authenticate'], 'a challenge betrays a protected route').toBeUndefined();
  expect(reply.headers['allow']).toBeUndefined();
}

describe('with an admin token configured', () => {
  let server: Started;
  let player: string;
  beforeAll(async () => {
    server = await startProxy({ fake: true, env: PRODUCTION_AUTH });
    player = (await newSession(server.url)).token;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the admin token opens them (control)', async () => {
    const admin = as(server.url, bearer(ADMIN_TOKEN));
    expect((await admin('GET', '/v1/admin/usage')).status).toBe(200);
    expect((await admin('GET', '/metrics')).text).toContain('parley_requests_total');
    const lower = await call(server.url, 'GET', '/metrics', undefined, {
      authorization: `bearer ${ADMIN_TOKEN}`,
    });
    expect(lower.status).toBe(200);
  });

  it('without it, every admin route answers like a path that does not exist', async () => {
    const credentials: Array<[string, Record<string, string>]> = [
      ['no credentials', {}],
      ["a player's session token", bearer(player)],
      ["a player's game JWT", bearer(gameJwt('hero'))],
      ['a wrong admin token', bearer(`${ADMIN_TOKEN.slice(0, -1)}X`)],
      ['the admin token plus a character', bearer(`${ADMIN_TOKEN}x`)],
      ['the admin token minus a character', bearer(ADMIN_TOKEN.slice(0, -1))],
      ['the admin token in lower case', bearer(ADMIN_TOKEN.toLowerCase())],
      [
        'the admin token as Basic credentials',
        { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      ],
      ['the admin token as a raw header value', { authorization: ADMIN_TOKEN }],
      ['the admin token in another header', { 'x-admin-token': ADMIN_TOKEN, 'x-api-key': ADMIN_TOKEN }],
      ['the admin token in a cookie', { cookie: `admin=${ADMIN_TOKEN}` }],
      ['the session secret as a token', bearer(PRODUCTION_AUTH['PARLEY_SESSION_SECRET']!)],
    ];
    const cases = credentials.flatMap(([name, headers]) =>
      ADMIN_ROUTES.map(([method, path, body]) => ({ name, headers, method, path, body })),
    );
    await attackEach(
      'admin routes without the admin token',
      cases,
      (c) => `${c.method} ${c.path} with ${c.name}`,
      async ({ headers, method, path, body }) => {
        expectNoSuchRoute(await call(server.url, method, path, body, headers), method, path);
      },
    );
    await attackEach(
      'admin routes without the admin token',
      ADMIN_ROUTES.filter(([method]) => method === 'GET'),
      ([, path]) => `${path}?token=…`,
      async ([method, path]) => {
        const withQuery = `${path}${path.includes('?') ? '&' : '?'}token=${ADMIN_TOKEN}&admin_token=${ADMIN_TOKEN}`;
        expectNoSuchRoute(await call(server.url, method, withQuery), method, withQuery);
      },
    );
    // Nobody got blocked by any of the attempts above.
    const usage = await as(server.url, bearer(ADMIN_TOKEN))('GET', '/v1/admin/usage');
    expect(usage.json.blocked).toBe(false);
  });
});

describe('without an admin token configured', () => {
  let server: Started;
  beforeAll(async () => {
    const { PARLEY_ADMIN_TOKEN: _none, ...auth } = PRODUCTION_AUTH;
    server = await startProxy({ env: auth });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the admin routes do not exist for any credential', async () => {
    const session = (await newSession(server.url)).token;
    const cases = [{}, bearer(ADMIN_TOKEN), bearer(session), bearer('')].flatMap((headers) =>
      ADMIN_ROUTES.map(([method, path, body]) => ({ headers, method, path, body })),
    );
    await attackEach(
      'admin routes without the admin token',
      cases,
      (c) => `${c.method} ${c.path} ${JSON.stringify(c.headers).slice(0, 40)}`,
      async ({ headers, method, path, body }) => {
        expectNoSuchRoute(await call(server.url, method, path, body, headers), method, path);
      },
    );
  });
});

describe('endpoints left out of the policy', () => {
  let server: Started;
  let player: string;
  beforeAll(async () => {
    server = await startProxy({
      fake: true,
      env: {
        ...PRODUCTION_AUTH,
        PARLEY_CONFIG: policyFile({
          endpoints: [
            'threads.create',
            'threads.retrieve',
            'messages.create',
            'runs.create',
            'runs.retrieve',
          ],
        }),
      },
    });
    player = (await newSession(server.url)).token;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answer like paths that do not exist, to players and to anonymous callers alike', async () => {
    const closed: Array<[string, string, unknown?]> = [
      ['POST', '/v1/chat/completions', { model: FAKE_MODEL, messages: [{ role: 'user', content: 'hi' }] }],
      ['GET', '/v1/chat/completions'],
      ['POST', '/v1/assistants', { name: 'x' }],
      ['GET', '/v1/assistants'],
      ['DELETE', '/v1/assistants'],
      ['GET', '/v1/models'],
      ['POST', '/v1/models', {}],
      ['GET', '/v1/usage'],
      ['POST', '/v1/threads/runs', { assistant_id: 'asst_x' }],
      ['GET', '/v1/threads/thread_x/runs'],
      ['DELETE', '/v1/threads/thread_x'],
    ];
    const cases = [bearer(player), {}].flatMap((headers) =>
      closed.map(([method, path, body]) => ({ headers, method, path, body })),
    );
    const upstreamBefore = server.fake!.requests.length;
    await attackEach(
      'endpoints outside the policy',
      cases,
      (c) => `${c.method} ${c.path} ${'authorization' in c.headers ? 'as a player' : 'anonymously'}`,
      async ({ headers, method, path, body }) => {
        expectNoSuchRoute(await call(server.url, method, path, body, headers), method, path);
      },
    );
    expect(server.fake!.requests.length).toBe(upstreamBefore);
    await attack('endpoints outside the policy', async () => {
      const open = await call(server.url, 'POST', '/v1/threads', {}, bearer(player));
      expect(open.status, 'an endpoint the policy lists still works').toBe(200);
    });
  });
});
