// A stand-in for the game's own reaction, which the README's sample uses.
declare function showCannedLine(): void;

// #region readme
import { type AssistantStreamEvent, ErrorCode, StreamEvent } from '@parley/protocol';

export function onEvent(event: AssistantStreamEvent) {
  if (event.event === StreamEvent.RunCompleted) console.log('usage', event.data.usage);
  if (event.event === StreamEvent.Error && event.data.code === ErrorCode.BudgetExceeded) showCannedLine();
}
// #endregion readme
