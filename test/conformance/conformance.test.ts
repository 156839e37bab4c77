import { describe } from 'vitest';
import { MODES, type Mode, useSharedHarnesses } from '../support/proxy.js';
import { audioSuite } from './suites/audio.js';
import { badInputSuite } from './suites/bad-input.js';
import { chatSuite } from './suites/chat.js';
import { fakeUpstreamSuite } from './suites/fake-upstream.js';
import { objectsSuite } from './suites/objects.js';
import { resumeSuite } from './suites/resume.js';
import { runsSuite } from './suites/runs.js';

/**
 * The proxy's conformance suite, driven through the official `openai` SDK (and raw HTTP where the wire
 * itself is under test). Every suite runs against the offline model and against a fake OpenAI upstream.
 * The suites share one proxy per mode (plus an aux proxy with short timings) because each proxy boots a
 * PGlite database, which costs seconds; persistence and crash recovery live in persistence.test.ts.
 */
describe.each(MODES)('%s upstream', (mode: Mode) => {
  const shared = useSharedHarnesses(mode);
  describe('objects: assistants, threads, messages', () => objectsSuite(shared));
  describe('runs', () => runsSuite(shared));
  describe('chat completions pass-through', () => chatSuite(shared));
  describe('resumable streams', () => resumeSuite(shared));
  describe('audio: speech and transcription', () => audioSuite(shared));
  if (mode === 'fake')
    describe('fake upstream: failures and request building', () => fakeUpstreamSuite(shared));
  if (mode === 'offline') describe('bad input never 500s', () => badInputSuite(shared));
});
