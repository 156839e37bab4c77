import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createParley } from './parley.js';
import { memoryStore } from './store.js';
import { REPLY, rejection, startTestProxy, type TestProxy } from './test-proxy.js';

let proxy: TestProxy;
beforeEach(async () => {
  proxy = await startTestProxy();
});
afterEach(async () => {
  await proxy.close();
});

const npc = () =>
  createParley({ url: proxy.url, store: memoryStore() }).npc({
    id: 'guard',
    name: 'Brom',
    instructions: 'Guard.',
  });
const rateLimited = { code: 'rate_limit_exceeded', message: 'Slow down.' };

describe('retries', () => {
  it('retries an idempotent request after a rate limit, waiting as long as Retry-After says', async () => {
    proxy.failures.push({
      method: 'GET',
      path: /^\/v1\/assistants$/,
      status: 429,
      error: rateLimited,
      headers: { 'retry-after': '1' },
    });
    const started = Date.now();
    await npc().ensure();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.calls('GET', /^\/v1\/assistants\?/)).toHaveLength(2);
  });

  it('retries network failures and 5xx of the ensure steps, then says', async () => {
    const retryNow = { 'retry-after': '0' };
    proxy.failures.push(
      { method: 'GET', path: /^\/v1\/assistants$/, destroy: true },
      {
        method: 'POST',
        path: /^\/v1\/assistants$/,
        status: 502,
        error: { code: 'upstream_error' },
        headers: retryNow,
      },
      { method: 'POST', path: /^\/v1\/threads$/, status: 503, headers: retryNow },
    );
    expect(await npc().conversation().say('Open the gate!').text).toBe(REPLY);
    expect(proxy.calls('GET', /^\/v1\/assistants\?/)).toHaveLength(2);
    expect(proxy.calls('POST', /^\/v1\/assistants$/)).toHaveLength(2);
    expect(proxy.calls('POST', /^\/v1\/threads$/)).toHaveLength(2);
    expect(proxy.assistants).toHaveLength(1);
  });

  it('gives up after three retries', async () => {
    for (let i = 0; i < 5; i++) {
      proxy.failures.push({
        method: 'GET',
        path: /^\/v1\/assistants$/,
        status: 502,
        error: { code: 'upstream_error' },
        headers: { 'retry-after': '0' },
      });
    }
    expect(await rejection(npc().ensure())).toMatchObject({ code: 'upstream', status: 502, retryable: true });
    expect(proxy.calls('GET', /^\/v1\/assistants\?/)).toHaveLength(4);
  });

  it('does not retry what waiting will not fix, nor a Retry-After beyond 30 s', async () => {
    proxy.failures.push({
      method: 'GET',
      path: /^\/v1\/assistants$/,
      status: 429,
      error: { code: 'budget_exceeded', message: 'Out of words.' },
      headers: { 'retry-after': '0' },
    });
    expect(await rejection(npc().ensure())).toMatchObject({ code: 'budget', retryable: false });
    proxy.failures.push({
      method: 'GET',
      path: /^\/v1\/assistants$/,
      status: 429,
      error: rateLimited,
      headers: { 'retry-after': '120' },
    });
    expect(await rejection(npc().ensure())).toMatchObject({ code: 'rate_limited', retryAfter: 120_000 });
    expect(proxy.calls('GET', /^\/v1\/assistants\?/)).toHaveLength(2);
  });

  it('never retries the POSTs that start a run (and add the line) or add a message', async () => {
    const talk = npc().conversation();
    proxy.failures.push({
      method: 'POST',
      path: /\/runs$/,
      status: 503,
      headers: { 'retry-after': '0' },
    });
    expect(await rejection(talk.say('One').text)).toMatchObject({ code: 'upstream', retryable: true });
    expect(proxy.calls('POST', /\/runs$/)).toHaveLength(1);

    proxy.failures.push({ method: 'POST', path: /\/runs$/, destroy: true });
    expect(await rejection(talk.say('Two').text)).toMatchObject({ code: 'network', retryable: true });
    expect(proxy.calls('POST', /\/runs$/)).toHaveLength(2);

    proxy.failures.push({
      method: 'POST',
      path: /\/messages$/,
      status: 503,
      headers: { 'retry-after': '0' },
    });
    expect(await rejection(talk.tell('The player left.'))).toMatchObject({ code: 'upstream' });
    expect(proxy.calls('POST', /\/messages$/)).toHaveLength(1);
  });
});
