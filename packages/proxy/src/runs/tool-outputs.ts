import { ErrorCode, type Run, type RunStep, type Usage } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import { endStep } from './transitions.js';

/**
 * Checks the outputs a client submits for a waiting run, with OpenAI's wording: the run must be waiting,
 * every id must be one of its calls, and every call needs an output. Returns the outputs by call id.
 */
export function acceptToolOutputs(
  run: Run,
  outputs: ReadonlyArray<{ tool_call_id?: string | undefined; output?: string | undefined }>,
): Map<string, string> {
  const expected = run.required_action?.submit_tool_outputs.tool_calls.map((call) => call.id);
  if (run.status !== 'requires_action' || !expected) {
    throw new ProxyError(
      ErrorCode.InvalidRunState,
      `Runs in status "${run.status}" do not accept tool outputs.`,
    );
  }
  const given = new Map<string, string>();
  for (const entry of outputs) {
    if (!entry.tool_call_id || !expected.includes(entry.tool_call_id)) {
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `Invalid tool_call_id: ${entry.tool_call_id ?? '(missing)'}`,
        {
          param: 'tool_outputs',
        },
      );
    }
    given.set(entry.tool_call_id, entry.output ?? '');
  }
  if (expected.some((id) => !given.has(id))) {
    throw new ProxyError(
      ErrorCode.MissingParameter,
      `Expected tool outputs for call_ids ${JSON.stringify(expected)}, got ${JSON.stringify([...given.keys()])}`,
      { param: 'tool_outputs' },
    );
  }
  return given;
}

/** The waiting tool-call step, completed with the outputs given (and its segment's usage, once known). */
export function answeredStep(
  pending: RunStep | undefined,
  given: ReadonlyMap<string, string>,
  change: { now: number; usage: Usage | null },
): RunStep | undefined {
  if (pending?.step_details.type !== 'tool_calls') return undefined;
  const tool_calls = pending.step_details.tool_calls.map((call) =>
    call.type === 'function'
      ? { ...call, function: { ...call.function, output: given.get(call.id) ?? '' } }
      : call,
  );
  return endStep({ ...pending, step_details: { type: 'tool_calls', tool_calls } }, 'completed', change);
}
