import { describe } from 'vitest';
import { MemoryEventLog } from './event-log.js';
import { MemoryRunRegistry } from './registry.js';
import { MemoryRunSignals } from './signals.js';
import { eventLogContract, registryContract, signalsContract } from './test-contract.js';

describe('the in-process run registry', () => {
  registryContract((instanceId) => new MemoryRunRegistry(instanceId), { shared: false });
});

describe('the in-process event log', () => {
  eventLogContract(() => new MemoryEventLog(), { shared: false });
});

describe('in-process run signals', () => {
  signalsContract(() => new MemoryRunSignals(), { shared: false });
});
