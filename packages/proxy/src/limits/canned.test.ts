import { ErrorCode } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import { cannedLine, cannedReasonFor } from './canned.js';

describe('cannedLine', () => {
  it('puts the NPC in a stage direction before an in-character line', () => {
    expect(cannedLine('Brom', 'budget')).toMatch(/^\(Brom [a-z ]+\.\) \S.*[.!?]$/);
  });

  it('is deterministic, and varies with the NPC and the seed', () => {
    expect(cannedLine('Brom', 'budget', 'thread_1')).toBe(cannedLine('Brom', 'budget', 'thread_1'));
    const lines = new Set(
      Array.from({ length: 40 }, (_, i) => cannedLine('Brom', 'budget', `thread_${i}`).replace('Brom', '')),
    );
    expect(lines.size).toBeGreaterThan(1);
    const npcs = new Set(
      ['Brom', 'Mira', 'Aldo', 'Kess', 'Tova', 'Ilse'].map((npc) =>
        cannedLine(npc, 'budget').replace(npc, ''),
      ),
    );
    expect(npcs.size).toBeGreaterThan(1);
  });

  it('says something different for each reason, and leaves out the stage direction without a name', () => {
    const budget = cannedLine(undefined, 'budget');
    expect(budget).not.toMatch(/^\(/);
    expect(cannedLine(undefined, 'rate_limited')).not.toBe(budget);
    expect(cannedLine('  ', 'unavailable')).not.toMatch(/^\(/);
  });
});

describe('cannedReasonFor', () => {
  it('maps the limiter errors and nothing else', () => {
    expect(cannedReasonFor(new ProxyError(ErrorCode.BudgetExceeded, 'spent'))).toBe('budget');
    expect(cannedReasonFor(new ProxyError(ErrorCode.RateLimited, 'slow'))).toBe('rate_limited');
    expect(cannedReasonFor(new ProxyError(ErrorCode.Unavailable, 'down'))).toBe('unavailable');
    expect(cannedReasonFor(new ProxyError(ErrorCode.InsufficientQuota, 'no credit'))).toBeUndefined();
    expect(cannedReasonFor(new ProxyError(ErrorCode.InvalidValue, 'bad'))).toBeUndefined();
    expect(cannedReasonFor(new Error('bug'))).toBeUndefined();
  });
});
