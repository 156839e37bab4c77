/** Default TCP port of `parley-proxy`. */
export const DEFAULT_PROXY_PORT = 8787;

/** Model name that every run carries when the built-in offline model answers. */
export const OFFLINE_MODEL = 'parley-offline';

/** Header the official SDK sends with Assistants calls; the proxy accepts and ignores it. */
export const ASSISTANTS_BETA_HEADER = 'OpenAI-Beta';
export const ASSISTANTS_BETA_VALUE = 'assistants=v2';

/** OpenAI's id prefixes, which Parley's ids keep. */
export const IdPrefix = {
  Assistant: 'asst_',
  Thread: 'thread_',
  Message: 'msg_',
  Run: 'run_',
  Step: 'step_',
  ToolCall: 'call_',
  File: 'file-',
  VectorStore: 'vs_',
  FileBatch: 'vsfb_',
  Moderation: 'modr-',
} as const;
export type IdPrefix = (typeof IdPrefix)[keyof typeof IdPrefix];

/** `GET /healthz` answer. */
export interface Health {
  ok: true;
  upstream: 'openai' | 'azure' | 'compatible' | 'offline';
  model: string;
}
