import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DEFAULT_PROXY_PORT, OFFLINE_MODEL } from '@parley/protocol';
import { type AuthConfig, loadAuthConfig } from './auth/config.js';
import { ConfigError } from './config-error.js';
import { type KnowledgeConfig, loadKnowledgeConfig } from './knowledge/config.js';
import { type LimitsConfig, loadLimitsConfig } from './limits/config.js';
import { loadModerationConfig, type ModerationConfig } from './ops/moderation.js';
import { loadPolicy, type Policy } from './policy/policy.js';

export { ConfigError };

export type UpstreamKind = 'openai' | 'azure' | 'compatible' | 'offline';

/** Where turns run. Secrets live here and nowhere else; nothing in this object is ever sent to a client. */
export interface UpstreamConfig {
  kind: UpstreamKind;
  apiKey?: string | undefined;
  baseURL?: string | undefined;
  organization?: string | undefined;
  project?: string | undefined;
  azure?: { endpoint: string; deployment?: string | undefined; apiVersion: string } | undefined;
  /** The model used when an assistant names none (or names the offline model while online). */
  defaultModel: string;
  /** Attempts after the first for retryable failures (rate limits, 5xx, connection errors). */
  maxRetries: number;
  /** Per-attempt timeout, milliseconds. */
  timeoutMs: number;
  offline: { tokenDelayMs: number; seed: number };
}

export interface ProxyConfig {
  host: string;
  port: number;
  upstream: UpstreamConfig;
  /** Embedded store directory (PGlite); ignored when `databaseUrl` is set. Undefined: in memory. */
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
  /**
   * With several instances (DATABASE_URL): this instance's id, how long its runs stay held after its last
   * heartbeat, and how often it looks for runs whose holder died.
   */
  cluster: { instanceId: string; leaseMs: number; sweepMs: number };
  /** Request bodies larger than this get 413. */
  maxBodyBytes: number;
  /** Seconds a run may wait for tool outputs before it expires. */
  runExpiresSeconds: number;
  /** Token budget for the thread history sent with each turn (older messages are dropped first). */
  contextTokens: number;
  /**
   * How long a run keeps going after every client streaming it has disconnected, so that a dropped
   * client can resume (milliseconds). 0 aborts the upstream request at once.
   */
  resumeGraceMs: number;
  /** Exact origins allowed to call from a browser; empty means no CORS headers at all. */
  corsOrigins: string[];
  /** `silent` for tests. */
  logLevel: 'silent' | 'info' | 'debug';
  auth: AuthConfig;
  limits: LimitsConfig;
  moderation: ModerationConfig;
  /** Uploaded files: size cap, per-player quotas; the embedding model. */
  knowledge: KnowledgeConfig;
  /** From the `PARLEY_CONFIG` file: endpoints, models, caps, the game's own assistants. */
  policy: Policy;
  /** Over budget: the NPC answers with an in-character line instead of a 429. */
  cannedReplies: boolean;
  /** Upstream watchdogs (ms): before the first token, between tokens, for a whole turn. */
  timeouts: { firstTokenMs: number; idleMs: number; totalMs: number };
}

type Env = Record<string, string | undefined>;

/** Every part's configuration error surfaces as a ConfigError naming what is wrong. */
function wrap<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
}

function int(env: Env, key: string, fallback: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new ConfigError(`${key} must be an integer ≥ ${min}, got '${raw}'`);
  return value;
}

function text(env: Env, key: string): string | undefined {
  const value = env[key]?.trim();
  return value ? value : undefined;
}

/**
 * Reads the proxy's configuration from environment variables (see the proxy README for the list).
 * The upstream is chosen by what is set: Azure endpoint → Azure OpenAI; `OPENAI_BASE_URL` → any
 * OpenAI-compatible server; `OPENAI_API_KEY` → OpenAI; nothing → the built-in offline model.
 */
export function loadConfig(env: Env = process.env): ProxyConfig {
  const apiKey = text(env, 'OPENAI_API_KEY');
  const baseURL = text(env, 'OPENAI_BASE_URL');
  const azureEndpoint = text(env, 'AZURE_OPENAI_ENDPOINT');
  const kind: UpstreamKind = azureEndpoint ? 'azure' : baseURL ? 'compatible' : apiKey ? 'openai' : 'offline';
  const model = text(env, 'PARLEY_MODEL');
  if (kind === 'compatible' && !model) {
    throw new ConfigError(
      'PARLEY_MODEL must name the model to use with OPENAI_BASE_URL (e.g. llama3.2 for Ollama)',
    );
  }
  const host = text(env, 'HOST') ?? '127.0.0.1';
  return {
    host,
    port: int(env, 'PORT', DEFAULT_PROXY_PORT),
    upstream: {
      kind,
      apiKey: kind === 'azure' ? (text(env, 'AZURE_OPENAI_API_KEY') ?? apiKey) : apiKey,
      baseURL,
      organization: text(env, 'OPENAI_ORG_ID') ?? text(env, 'OPENAI_ORGANIZATION'),
      project: text(env, 'OPENAI_PROJECT_ID') ?? text(env, 'OPENAI_PROJECT'),
      azure: azureEndpoint
        ? {
            endpoint: azureEndpoint,
            deployment: text(env, 'AZURE_OPENAI_DEPLOYMENT'),
            apiVersion: text(env, 'OPENAI_API_VERSION') ?? '2024-10-21',
          }
        : undefined,
      defaultModel:
        kind === 'offline'
          ? OFFLINE_MODEL
          : (model ?? (kind === 'azure' ? (text(env, 'AZURE_OPENAI_DEPLOYMENT') ?? '') : 'gpt-5.5')),
      maxRetries: int(env, 'PARLEY_UPSTREAM_RETRIES', 2),
      timeoutMs: int(env, 'PARLEY_UPSTREAM_TIMEOUT_MS', 60_000, 1),
      offline: {
        tokenDelayMs: int(env, 'PARLEY_OFFLINE_DELAY_MS', 40),
        seed: int(env, 'PARLEY_OFFLINE_SEED', 7),
      },
    },
    dataDir: text(env, 'PARLEY_DATA_DIR'),
    databaseUrl: text(env, 'DATABASE_URL'),
    cluster: {
      instanceId:
        text(env, 'PARLEY_INSTANCE_ID') ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      leaseMs: int(env, 'PARLEY_LEASE_MS', 15_000, 300),
      sweepMs: int(env, 'PARLEY_SWEEP_MS', 5_000, 100),
    },
    maxBodyBytes: int(env, 'PARLEY_MAX_BODY_BYTES', 1024 * 1024, 1024),
    runExpiresSeconds: int(env, 'PARLEY_RUN_EXPIRES_SECONDS', 600, 1),
    contextTokens: int(env, 'PARLEY_CONTEXT_TOKENS', 12_000, 256),
    resumeGraceMs: int(env, 'PARLEY_RESUME_GRACE_MS', 15_000),
    corsOrigins: (text(env, 'PARLEY_CORS_ORIGINS') ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    logLevel: env['PARLEY_LOG'] === 'silent' ? 'silent' : env['PARLEY_LOG'] === 'debug' ? 'debug' : 'info',
    auth: wrap(() => loadAuthConfig(env)),
    limits: wrap(() => loadLimitsConfig(env)),
    moderation: wrap(() => loadModerationConfig(env)),
    knowledge: wrap(() => loadKnowledgeConfig(env, kind)),
    policy: wrap(() => loadPolicy(text(env, 'PARLEY_CONFIG'), text(env, 'PARLEY_MODELS'))),
    cannedReplies: ['1', 'true', 'yes'].includes((env['PARLEY_BUDGET_CANNED_REPLY'] ?? '').toLowerCase()),
    timeouts: {
      firstTokenMs: int(env, 'PARLEY_FIRST_TOKEN_TIMEOUT_MS', 30_000, 1),
      idleMs: int(env, 'PARLEY_IDLE_TIMEOUT_MS', 30_000, 1),
      totalMs: int(env, 'PARLEY_TURN_TIMEOUT_MS', 180_000, 1),
    },
  };
}
