import type {
  ChatCompletionMessageParam,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import { isStopWord } from './words.js';

/** The plain text of any message (text parts joined; images and audio have none). */
export function messageText(message: ChatCompletionMessageParam): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => ('text' in part ? part.text : 'refusal' in part ? part.refusal : ''))
    .filter(Boolean)
    .join('\n');
}

/** The index of the last item that passes `test`, or -1. */
export function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

/** The function calls an assistant message made (none for any other message). */
export function functionCalls(
  message: ChatCompletionMessageParam,
): Array<{ id: string; name: string; arguments: string }> {
  if (message.role !== 'assistant') return [];
  return (message.tool_calls ?? []).flatMap((c) =>
    c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
  );
}

/** The `tool` messages that end the conversation, i.e. results the model has not answered yet. */
export function trailingToolResults(
  messages: readonly ChatCompletionMessageParam[],
): ChatCompletionToolMessageParam[] {
  const out: ChatCompletionToolMessageParam[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role !== 'tool') break;
    out.unshift(message);
  }
  return out;
}

/** The name the player gave ("my name is Aria", "call me Aria", "I'm Aria"), latest first. */
export function playerName(messages: readonly ChatCompletionMessageParam[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role !== 'user') continue;
    const match = /\b(?:my name is|my name's|call me|i am|i['’]m)\s+(\p{Lu}[\p{L}'’-]+)/iu.exec(
      messageText(message),
    );
    const name = match?.[1];
    if (name && /^\p{Lu}/u.test(name) && !isStopWord(name.toLowerCase())) return name;
  }
  return undefined;
}
