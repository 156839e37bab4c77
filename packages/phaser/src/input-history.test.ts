import { describe, expect, it } from 'vitest';
import { InputHistory } from './input-history.js';

describe('InputHistory', () => {
  it('recalls earlier lines with Up and returns to the draft with Down', () => {
    const history = new InputHistory();
    history.push('Is the gate open?');
    history.push('Why not?');
    expect(history.up('Who are y')).toBe('Why not?');
    expect(history.up('Why not?')).toBe('Is the gate open?');
    expect(history.up('Is the gate open?')).toBe('Is the gate open?'); // stays at the oldest
    expect(history.down('Is the gate open?')).toBe('Why not?');
    expect(history.down('Why not?')).toBe('Who are y');
    expect(history.browsing).toBe(false);
    expect(history.down('Who are y')).toBe('Who are y');
  });

  it('keeps no blanks or immediate repeats, and only the newest lines', () => {
    const history = new InputHistory(3);
    for (const line of ['a', ' ', 'b', 'b', 'c', 'd']) history.push(line);
    expect(history.entries).toEqual(['b', 'c', 'd']);
  });

  it('starts over from the newest line after sending', () => {
    const history = new InputHistory();
    history.push('one');
    history.push('two');
    history.up('');
    history.up('two');
    history.push('one again');
    expect(history.up('')).toBe('one again');
  });

  it('does nothing without history', () => {
    const history = new InputHistory();
    expect(history.up('typing')).toBe('typing');
    expect(history.down('typing')).toBe('typing');
  });
});
