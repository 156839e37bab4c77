import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createModerator, loadModerationConfig } from './moderation.js';

describe('moderation', () => {
  it('is off unless configured', async () => {
    const moderator = createModerator(loadModerationConfig({}));
    expect(await moderator.check('fuck this gate')).toEqual({ flagged: false });
  });

  it('local: flags listed words through case, accents and look-alike digits, but only whole words', async () => {
    const moderator = createModerator(loadModerationConfig({ PARLEY_MODERATION: 'local' }));
    expect((await moderator.check('Open the gate, you SH1T guard!')).flagged).toBe(true);
    expect((await moderator.check('kill yourself')).flagged).toBe(true);
    expect((await moderator.check('I come from Scunthorpe with a shitake... no, shiitake')).flagged).toBe(
      false,
    );
    expect((await moderator.check('Good morning, Brom!')).flagged).toBe(false);
  });

  it('uses the configured list and refusal', async () => {
    const moderator = createModerator(
      loadModerationConfig({
        PARLEY_MODERATION: 'local',
        PARLEY_MODERATION_WORDS: 'dragonfire',
        PARLEY_MODERATION_REFUSAL: '({name} spits.) No.',
      }),
    );
    expect((await moderator.check('tell me of DRAGONFIRE')).flagged).toBe(true);
    expect((await moderator.check('shit')).flagged).toBe(false);
    expect(moderator.refusal('Brom')).toBe('(Brom spits.) No.');
  });

  it('openai: asks the moderation endpoint, and falls back to the list when it fails', async () => {
    let calls = 0;
    let fail = false;
    const server = createServer((req, res) => {
      calls++;
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (fail) {
          res.writeHead(500).end('{}');
          return;
        }
        const flagged = body.includes('threat');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'modr-1',
            model: 'omni-moderation-latest',
            results: [{ flagged, categories: {}, category_scores: {} }],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new OpenAI({
      apiKey: 'k',
      baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
      maxRetries: 0,
    });
    const moderator = createModerator(loadModerationConfig({ PARLEY_MODERATION: 'openai' }), client);
    expect(await moderator.check('a veiled threat')).toEqual({ flagged: true, by: 'openai' });
    expect((await moderator.check('hello')).flagged).toBe(false);
    fail = true;
    expect(await moderator.check('you shit')).toEqual({ flagged: true, by: 'local' });
    expect(calls).toBeGreaterThanOrEqual(3);
    server.close();
  });
});
