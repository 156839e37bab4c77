/**
 * Lines in a box drawn with box-drawing characters, each padded to the longest, indented by two spaces.
 * Widths count code points: every character used in the banners is one column wide.
 */
export function box(lines: readonly string[]): string {
  const width = Math.max(...lines.map((line) => [...line].length));
  const rule = '─'.repeat(width + 4);
  return [
    `  ┌${rule}┐`,
    ...lines.map((line) => `  │  ${line}${' '.repeat(width - [...line].length)}  │`),
    `  └${rule}┘`,
  ].join('\n');
}

/** Printed at start-up when no upstream is configured. */
export function offlineBanner(): string {
  return `\n${box([
    "Offline model, no key needed: NPCs answer with Parley's built-in model",
    "('parley-offline'), as no OPENAI_API_KEY or OPENAI_BASE_URL is set.",
    'For a real model set OPENAI_API_KEY (or OPENAI_BASE_URL + PARLEY_MODEL).',
  ])}\n`;
}
