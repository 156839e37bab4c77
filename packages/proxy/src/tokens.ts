/**
 * Cheap, deterministic token estimates.
 *
 * The proxy needs token counts for two things: usage accounting when the upstream reports none (the
 * offline model) and trimming thread history to a budget. Neither is worth a real tokenizer (a large
 * dependency, one per model family); an estimate within ~20% of cl100k/o200k for English is enough,
 * as long as it never returns 0 for non-empty text and is additive across whitespace, so a streamed
 * reply counts the same word by word as in one piece.
 */

/** Scripts written without spaces, where real tokenizers spend about one token per character. */
const DENSE_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;

/** One word, number, dense-script character, punctuation run or newline run per match. */
const SEGMENT =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]|[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]+)*|\p{N}+|\n+|[^\s\p{L}\p{M}\p{N}]+/gu;

/** Fixed cost of an image part; OpenAI bills a low-detail image at 85 tokens. */
const IMAGE_TOKENS = 85;
/** Per-message framing (`<|start|>role … <|end|>`), as in OpenAI's counting cookbook. */
const MESSAGE_OVERHEAD = 3;
/** Every reply is primed with `<|start|>assistant<|message|>`. */
const REPLY_PRIMING = 3;

/**
 * Estimates how many tokens `text` costs: about four characters per token for words (at least one
 * per word, one more for a contraction), up to three digits per token for numbers, one token per
 * character in scripts written without spaces, and short punctuation runs as one token.
 *
 * @example
 * estimateTokens('Well met, traveler.'); // 6
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const match of text.matchAll(SEGMENT)) {
    const segment = match[0];
    const first = segment.charAt(0);
    if (DENSE_CHAR.test(first)) tokens += 1;
    else if (first === '\n') tokens += 1;
    else if (/\p{N}/u.test(first)) tokens += Math.ceil(segment.length / 3);
    else if (/[\p{L}\p{M}]/u.test(first)) {
      const apostrophes = segment.match(/['’]/g)?.length ?? 0;
      tokens += Math.max(1, Math.round((segment.length - apostrophes) / 4)) + apostrophes;
    } else tokens += Math.ceil(segment.length / 3);
  }
  return tokens;
}

/** A content part as any chat message may carry it; only text-like parts cost text tokens. */
export interface TokenCountablePart {
  readonly type: string;
  readonly text?: string;
  readonly refusal?: string;
}

/**
 * The parts of a chat message that cost tokens. Structural so that the SDK's
 * `ChatCompletionMessageParam` (every role) and the proxy's own message shapes both fit.
 */
export interface TokenCountableMessage {
  readonly role: string;
  readonly content?: string | readonly TokenCountablePart[] | null;
  readonly name?: string;
  readonly tool_calls?: ReadonlyArray<{
    readonly function?: { readonly name: string; readonly arguments: string };
    readonly custom?: { readonly name: string; readonly input: string };
  }>;
}

/**
 * Estimates the prompt tokens of a list of chat messages: per-message framing, content, participant
 * names and the assistant's tool calls (name and JSON arguments), plus the reply priming that every
 * request pays once. Returns 0 for an empty list so that budgets can subtract it freely.
 *
 * @example
 * estimateMessageTokens([{ role: 'user', content: 'Open the gate!' }]); // 3 + 4 + 3 = 10
 */
export function estimateMessageTokens(messages: readonly TokenCountableMessage[]): number {
  if (messages.length === 0) return 0;
  let tokens = REPLY_PRIMING;
  for (const message of messages) {
    tokens += MESSAGE_OVERHEAD;
    const { content } = message;
    if (typeof content === 'string') tokens += estimateTokens(content);
    else if (content) {
      for (const part of content) {
        if (typeof part.text === 'string') tokens += estimateTokens(part.text);
        else if (typeof part.refusal === 'string') tokens += estimateTokens(part.refusal);
        else tokens += IMAGE_TOKENS;
      }
    }
    if (message.name) tokens += 1 + estimateTokens(message.name);
    for (const call of message.tool_calls ?? []) {
      // Framing of one call inside the message, like the message overhead.
      tokens += MESSAGE_OVERHEAD;
      if (call.function)
        tokens += estimateTokens(call.function.name) + estimateTokens(call.function.arguments);
      else if (call.custom) tokens += estimateTokens(call.custom.name) + estimateTokens(call.custom.input);
    }
  }
  return tokens;
}
