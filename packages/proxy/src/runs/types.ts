import type { Assistant, Run, Usage } from '@parley/protocol';
import type { ProxyConfig } from '../config.js';
import type { Semantic } from '../knowledge/search.js';
import type { Limiter } from '../limits/limiter.js';
import type { Moderator } from '../ops/moderation.js';
import type { PolicyGuard } from '../policy/policy.js';
import type { Owner } from '../store/types.js';
import type { RunEventLog } from './event-log.js';
import type { RunRegistry } from './registry.js';
import type { RunSignals } from './signals.js';
import type { RunStream } from './stream.js';

/** What a client may ask of a run beyond the assistant's settings: inferred from the request schema. */
export type { RunParams } from '../schemas/runs.js';

export interface StartedRun {
  run: Run;
  /** The run's events as an HTTP stream. */
  channel: RunStream;
  /** Log position the caller's stream should start after. */
  after: number;
}

/** What the engine enforces around each turn; every part is optional (tests run without them). */
export interface EngineGuards {
  /** Resolves an assistant id for a player: their own, or one the game defines. */
  assistant?: (owner: Owner, id: string) => Promise<Assistant | undefined>;
  limiter?: Limiter;
  moderator?: Moderator;
  policy?: PolicyGuard;
  /** Answer over-budget players with an in-character line instead of a 429. */
  cannedReplies?: boolean;
  /** Hybrid ranking for `file_search` when an embedding model is configured (the knowledge service's). */
  semantic?: Semantic | undefined;
  /** Upstream watchdogs, milliseconds: before the first token, between tokens, for the whole segment. */
  timeouts?: { firstTokenMs: number; idleMs: number; totalMs: number };
  onTurn?: (event: {
    owner: Owner;
    model: string;
    ttftMs: number | null;
    usage: Usage | null;
    status: string;
  }) => void;
}

/** The run state the engine keeps behind interfaces; in-process implementations by default. */
export interface RunState {
  registry?: RunRegistry;
  log?: RunEventLog;
  signals?: RunSignals;
}

export interface StartOptions {
  /** How long a streamed run may outlive its last reader (capped by the server's `resumeGraceMs`). */
  graceMs?: number;
  /** Show the passages' text in the run's `file_search` steps (`include[]=…results[*].content`). */
  searchContent?: boolean;
}

export type EngineConfig = Pick<ProxyConfig, 'runExpiresSeconds' | 'contextTokens' | 'resumeGraceMs'> & {
  /** How many characters of finished runs' event logs to keep for late resumes (default 64 Mi). */
  retiredLogBytes?: number;
  /** With a shared registry: how often to look for runs whose instance died (default 5 s). */
  sweepMs?: number;
};
