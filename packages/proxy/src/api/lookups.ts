import { type Assistant, ErrorCode, type MessageContent, type Run, type Thread } from '@parley/protocol';
import { notFound, ProxyError } from '../errors.js';
import { GAME_OWNER } from '../policy/policy.js';
import type { Owner } from '../store/types.js';
import type { Services } from './context.js';

/** A thread of the caller's, or 404. */
export async function findThread(services: Services, owner: Owner, id: string): Promise<Thread> {
  const found = await services.store.getThread(owner, id);
  if (!found) throw notFound('thread', id);
  return found;
}

/** An assistant the caller may use (their own or the game's), or 404 naming `param`. */
export async function findAssistant(
  services: Services,
  owner: Owner,
  id: string,
  param?: string,
): Promise<Assistant> {
  const found = await services.assistantFor(owner, id);
  if (!found) throw notFound('assistant', id, param);
  return found;
}

/** An assistant the player owns and may change (the game's own are read-only). */
export async function ownAssistant(services: Services, owner: Owner, id: string): Promise<Assistant> {
  const found = await services.store.getAssistant(owner, id);
  if (found) return found;
  if (await services.store.getAssistant(GAME_OWNER, id)) {
    throw new ProxyError(
      ErrorCode.PermissionDenied,
      'This assistant is defined by the game and is read-only.',
    );
  }
  throw notFound('assistant', id);
}

/** A run of the caller's thread, the live copy when there is one (fresher between persistence points). */
export async function findRun(services: Services, owner: Owner, threadId: string, id: string): Promise<Run> {
  const stored = await services.store.getRun(owner, threadId, id);
  if (!stored) throw notFound('run', id);
  return services.engine.liveRun(id) ?? stored;
}

/** 400 thread_busy while the thread has an active run; `doing` completes "Can't … thread_x". */
export async function noActiveRun(
  services: Services,
  owner: Owner,
  threadId: string,
  doing: string,
): Promise<void> {
  const active = await services.engine.activeRun(owner, threadId);
  if (active) {
    throw new ProxyError(
      ErrorCode.ThreadBusy,
      `Can't ${doing} ${threadId} while a run ${active.id} is active.`,
      {
        param: 'thread_id',
      },
    );
  }
}

/** Policy on new messages: length of each, and how many a thread may hold. */
export async function checkMessages(
  services: Services,
  owner: Owner,
  threadId: string | undefined,
  inputs: ReadonlyArray<{ content: string | MessageContent[] }>,
): Promise<void> {
  const { guard, store } = services;
  for (const [index, input] of inputs.entries()) {
    const text = typeof input.content === 'string' ? input.content : partsText(input.content);
    guard.messageText(text, inputs.length > 1 ? `messages[${index}].content` : 'content');
  }
  const existing = threadId ? (await store.allMessages(owner, threadId)).length : 0;
  if (existing + inputs.length > guard.policy.maxMessagesPerThread) {
    throw new ProxyError(
      ErrorCode.InvalidValue,
      `A thread holds at most ${guard.policy.maxMessagesPerThread} messages on this server; start a new one.`,
      { param: 'thread_id' },
    );
  }
}

/** Policy on what an assistant or a run may set: the model, the instructions' length, the tool count. */
export function checkAssistantFields(
  services: Services,
  fields: {
    model?: string | null | undefined;
    instructions?: string | null | undefined;
    tools?: unknown[] | null | undefined;
  },
): void {
  services.guard.model(fields.model);
  services.guard.instructions(fields.instructions);
  services.guard.tools(fields.tools);
}

/** The text of content parts, read as `messageText` reads a stored message's. */
function partsText(parts: readonly MessageContent[]): string {
  return parts
    .map((part) => (part.type === 'text' ? part.text.value : part.type === 'refusal' ? part.refusal : ''))
    .join('');
}
