import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCode, OFFLINE_MODEL } from '@parley/protocol';
import { z } from 'zod';
import { ProxyError } from '../errors.js';
import { tools } from '../schemas/assistants.js';
import { integer, jsonObject, metadata, temperature, text } from '../schemas/fields.js';
import { parse } from '../schemas/issues.js';

/**
 * Route names, for the endpoint allowlist. Admin routes are not listed: they need the admin token and are
 * never reachable with a player's token.
 */
export const ROUTES = [
  'assistants.create',
  'assistants.list',
  'assistants.retrieve',
  'assistants.modify',
  'assistants.delete',
  'threads.create',
  'threads.retrieve',
  'threads.modify',
  'threads.delete',
  'threads.createAndRun',
  'messages.create',
  'messages.list',
  'messages.retrieve',
  'messages.modify',
  'messages.delete',
  'runs.create',
  'runs.list',
  'runs.retrieve',
  'runs.modify',
  'runs.cancel',
  'runs.submitToolOutputs',
  'runs.events',
  'steps.list',
  'steps.retrieve',
  'files.create',
  'files.list',
  'files.retrieve',
  'files.delete',
  'files.content',
  'vectorStores.create',
  'vectorStores.list',
  'vectorStores.retrieve',
  'vectorStores.modify',
  'vectorStores.delete',
  'vectorStores.search',
  'vectorStores.files.create',
  'vectorStores.files.list',
  'vectorStores.files.retrieve',
  'vectorStores.files.update',
  'vectorStores.files.delete',
  'vectorStores.files.content',
  'vectorStores.fileBatches.create',
  'vectorStores.fileBatches.retrieve',
  'vectorStores.fileBatches.cancel',
  'vectorStores.fileBatches.files',
  'embeddings.create',
  'moderations.create',
  'chat.completions',
  'models.list',
  'usage.read',
  'audio.speech',
  'audio.transcriptions',
  'audio.translations',
] as const;
export type RouteName = (typeof ROUTES)[number];

/** Owner of the assistants the game defines in its config file (no player id starts with `parley:`). */
export const GAME_OWNER = 'parley:game';

const gameAssistant = z.strictObject({
  id: text({ min: 1, max: 64, pattern: /^asst_[A-Za-z0-9_-]+$/ }),
  name: text({ min: 1, max: 256 }),
  instructions: text({ max: 256_000 }),
  model: text({ min: 1, max: 256 }).optional(),
  description: text({ max: 512 }).nullish(),
  tools: tools.optional(),
  /** E.g. `{ "file_search": { "vector_store_ids": ["vs_lore_library"] } }`. */
  tool_resources: jsonObject.nullish(),
  temperature: temperature.nullish(),
  metadata: metadata.nullish(),
});

/** A lore folder's name: it becomes the id of its vector store, `vs_lore_<name>`. */
const LORE_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/;

/** A folder of the game's lore files, indexed at start-up into the read-only vector store `vs_lore_<name>`. */
export interface LoreFolder {
  name: string;
  /** Absolute path of the folder. */
  path: string;
}

/** An assistant the game defines in its config file: every player can use it, none can change it. */
export type GameAssistant = z.output<typeof gameAssistant>;

export interface Policy {
  /** Routes players may call; everything else answers 404 as if it did not exist. */
  endpoints: ReadonlySet<RouteName>;
  /** Models a request may name (the default model and the offline model are always allowed). */
  models: ReadonlySet<string>;
  /** Output tokens per turn: a request asking for more is clamped, none asked means this. */
  maxOutputTokens: number;
  maxInstructionsChars: number;
  maxMessageChars: number;
  maxMessagesPerThread: number;
  maxToolsPerAssistant: number;
  maxToolCallsPerRun: number;
  /** Whether players may create their own assistants (owned by them) besides the game's. */
  playerAssistants: boolean;
  assistants: GameAssistant[];
  /** Voices `POST /v1/audio/speech` may name (OpenAI's built-in voices by default). */
  voices: ReadonlySet<string>;
  /** Text-to-speech models (the offline model is always allowed: it is the local voice). */
  speechModels: ReadonlySet<string>;
  /** Speech-to-text models, for transcriptions and translations. */
  transcriptionModels: ReadonlySet<string>;
  /** The largest audio file a transcription may upload, in bytes. */
  maxAudioBytes: number;
  /** The longest audio a transcription may upload, in seconds. */
  maxAudioSeconds: number;
  /** Folders of lore files, each indexed into a read-only vector store every player may search. */
  lore: LoreFolder[];
}

/** OpenAI's built-in voices: the ones the offline voice speaks in too. */
export const OPENAI_VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'fable',
  'onyx',
  'nova',
  'sage',
  'shimmer',
  'verse',
] as const;

/** Safe defaults: what a game needs for NPC conversations, nothing more. */
export function defaultPolicy(): Policy {
  return {
    endpoints: new Set(ROUTES),
    models: new Set(),
    maxOutputTokens: 1024,
    maxInstructionsChars: 16_000,
    maxMessageChars: 4000,
    maxMessagesPerThread: 500,
    maxToolsPerAssistant: 16,
    maxToolCallsPerRun: 8,
    playerAssistants: true,
    assistants: [],
    voices: new Set(OPENAI_VOICES),
    speechModels: new Set(['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts']),
    transcriptionModels: new Set(['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe']),
    // A push-to-talk line is seconds long: 10 MB is minutes of compressed audio, 120 s is generous.
    maxAudioBytes: 10 * 1024 * 1024,
    maxAudioSeconds: 120,
    lore: [],
  };
}

/** The policy file (`PARLEY_CONFIG`): every field optional, unknown fields refused (a typo is an error). */
const policyFile = z.strictObject({
  $schema: z.string().optional(),
  endpoints: z.array(z.enum(ROUTES)).optional(),
  models: z.array(text({ min: 1, max: 256 })).optional(),
  maxOutputTokens: integer({ min: 1 }).optional(),
  maxInstructionsChars: integer({ min: 1 }).optional(),
  maxMessageChars: integer({ min: 1 }).optional(),
  maxMessagesPerThread: integer({ min: 1 }).optional(),
  maxToolsPerAssistant: integer({ min: 0 }).optional(),
  maxToolCallsPerRun: integer({ min: 1 }).optional(),
  playerAssistants: z.boolean().optional(),
  assistants: z.array(gameAssistant).max(1000).optional(),
  voices: z
    .array(text({ min: 1, max: 64 }))
    .max(1000)
    .optional(),
  speechModels: z.array(text({ min: 1, max: 256 })).optional(),
  transcriptionModels: z.array(text({ min: 1, max: 256 })).optional(),
  maxAudioBytes: integer({ min: 1 }).optional(),
  maxAudioSeconds: integer({ min: 1 }).optional(),
  /** Lore folders by name, each a path (relative to the policy file's folder). */
  lore: z
    .record(
      z.string().regex(LORE_NAME, 'a lore name is 1–48 lower-case letters, digits, - or _'),
      text({ min: 1, max: 4096 }),
    )
    .optional(),
});

/**
 * Reads the policy from a JSON file (`PARLEY_CONFIG`), over the defaults. A bad file stops the proxy at
 * start-up with a message naming the field, rather than running with a policy nobody wrote.
 */
export function loadPolicy(path: string | undefined, extraModels?: string): Policy {
  const policy = withModels(defaultPolicy(), extraModels);
  if (!path) return policy;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `PARLEY_CONFIG: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let file: z.output<typeof policyFile>;
  try {
    file = parse(policyFile, raw);
  } catch (error) {
    throw new Error(`PARLEY_CONFIG: ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    ...policy,
    ...(file.endpoints ? { endpoints: new Set(file.endpoints) } : {}),
    maxOutputTokens: file.maxOutputTokens ?? policy.maxOutputTokens,
    maxInstructionsChars: file.maxInstructionsChars ?? policy.maxInstructionsChars,
    maxMessageChars: file.maxMessageChars ?? policy.maxMessageChars,
    maxMessagesPerThread: file.maxMessagesPerThread ?? policy.maxMessagesPerThread,
    maxToolsPerAssistant: file.maxToolsPerAssistant ?? policy.maxToolsPerAssistant,
    maxToolCallsPerRun: file.maxToolCallsPerRun ?? policy.maxToolCallsPerRun,
    playerAssistants: file.playerAssistants ?? policy.playerAssistants,
    assistants: (file.assistants ?? []).map((entry) => ({ ...entry })),
    ...(file.voices ? { voices: new Set(file.voices) } : {}),
    ...(file.speechModels ? { speechModels: new Set(file.speechModels) } : {}),
    ...(file.transcriptionModels ? { transcriptionModels: new Set(file.transcriptionModels) } : {}),
    maxAudioBytes: file.maxAudioBytes ?? policy.maxAudioBytes,
    maxAudioSeconds: file.maxAudioSeconds ?? policy.maxAudioSeconds,
    lore: loreFolders(path, file.lore ?? {}),
    ...(file.models ? { models: new Set([...file.models, ...policy.models]) } : {}),
  };
}

/** The lore folders, resolved from the policy file's folder; a folder that is not there stops the start. */
function loreFolders(configPath: string, lore: Record<string, string>): LoreFolder[] {
  return Object.entries(lore).map(([name, folder]) => {
    const path = resolve(dirname(configPath), folder);
    let isFolder = false;
    try {
      isFolder = statSync(path).isDirectory();
    } catch {
      // reported below
    }
    if (!isFolder) throw new Error(`PARLEY_CONFIG: ${configPath}: lore.${name}: ${path} is not a folder`);
    return { name, path };
  });
}

/** `PARLEY_MODELS`: a comma-separated list added to the allowlist. */
function withModels(policy: Policy, extra: string | undefined): Policy {
  const names = (extra ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return names.length === 0 ? policy : { ...policy, models: new Set([...policy.models, ...names]) };
}

/** The checks the routes and the run engine apply; each throws OpenAI's error body shape when violated. */
export class PolicyGuard {
  constructor(
    readonly policy: Policy,
    private readonly defaultModel: string,
    /** Offline, a model name is never used (the offline model answers), so any name is fine. */
    private readonly anyModel = false,
  ) {}

  /** 404 for a route the policy does not open, exactly as for a route that does not exist. */
  route(name: RouteName, method: string, path: string): void {
    if (!this.policy.endpoints.has(name)) {
      throw new ProxyError(ErrorCode.NotFound, `Invalid URL (${method} ${path})`);
    }
  }

  model(model: string | null | undefined, param = 'model'): void {
    if (this.anyModel || !model || model === this.defaultModel || model === OFFLINE_MODEL) return;
    if (!this.policy.models.has(model)) {
      throw new ProxyError(
        ErrorCode.ModelNotAllowed,
        `The model '${model.slice(0, 64)}' is not allowed on this server.`,
        {
          param,
        },
      );
    }
  }

  instructions(text: string | null | undefined, param = 'instructions'): void {
    if (text && text.length > this.policy.maxInstructionsChars) {
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `Instructions are limited to ${this.policy.maxInstructionsChars} characters on this server.`,
        { param },
      );
    }
  }

  messageText(text: string, param = 'content'): void {
    if (text.length > this.policy.maxMessageChars) {
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `Messages are limited to ${this.policy.maxMessageChars} characters on this server.`,
        {
          param,
        },
      );
    }
  }

  tools(tools: readonly unknown[] | null | undefined, param = 'tools'): void {
    if (tools && tools.length > this.policy.maxToolsPerAssistant) {
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `At most ${this.policy.maxToolsPerAssistant} tools per assistant on this server.`,
        {
          param,
        },
      );
    }
  }

  /** A text-to-speech model: listed in `speechModels`, or the offline model (the local voice). */
  speechModel(model: string, param = 'model'): void {
    if (model === OFFLINE_MODEL || this.policy.speechModels.has(model)) return;
    throw new ProxyError(
      ErrorCode.ModelNotAllowed,
      `The speech model '${model.slice(0, 64)}' is not allowed on this server.`,
      { param },
    );
  }

  /** A speech-to-text model, listed in `transcriptionModels`. */
  transcriptionModel(model: string, param = 'model'): void {
    if (this.policy.transcriptionModels.has(model)) return;
    throw new ProxyError(
      ErrorCode.ModelNotAllowed,
      `The transcription model '${model.slice(0, 64)}' is not allowed on this server.`,
      { param },
    );
  }

  voice(voice: string, param = 'voice'): void {
    if (this.policy.voices.has(voice)) return;
    const known = [...this.policy.voices].slice(0, 20).join(', ');
    throw new ProxyError(
      ErrorCode.InvalidValue,
      `The voice '${voice.slice(0, 64)}' is not available on this server; choose one of: ${known}.`,
      { param },
    );
  }

  /** The output-token cap for a turn: what was asked, never more than the policy allows. */
  outputTokens(requested: number | null | undefined): number {
    return Math.min(requested ?? this.policy.maxOutputTokens, this.policy.maxOutputTokens);
  }
}
