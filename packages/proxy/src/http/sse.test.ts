import { describe, expect, it } from 'vitest';
import { formatEvent } from './sse.js';

describe('formatEvent', () => {
  it('writes id, event and data lines and a blank line', () => {
    expect(formatEvent({ id: 3, event: 'thread.run.created', data: '{"a":1}' })).toBe(
      'id: 3\nevent: thread.run.created\ndata: {"a":1}\n\n',
    );
  });

  it('splits multi-line data into several data lines so no line break can end the event early', () => {
    expect(formatEvent({ data: 'one\ntwo\r\nthree\rfour' })).toBe(
      'data: one\ndata: two\ndata: three\ndata: four\n\n',
    );
  });

  it('refuses CR or LF in single-line fields (field injection)', () => {
    expect(() => formatEvent({ event: 'x\nevent: evil', data: '{}' })).toThrow(/CR or LF/);
    expect(() => formatEvent({ id: '1\r\nretry: 1', data: '{}' })).toThrow(/CR or LF/);
  });
});
