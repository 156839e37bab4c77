import { describe, expect, expectTypeOf, it } from 'vitest';
import { ProxyError } from '../errors.js';
import type { RunParams as EngineRunParams } from '../runs/engine.js';
import { createAssistant } from './assistants.js';
import { chatCompletion } from './chat.js';
import { parse } from './issues.js';
import { parsePageQuery } from './query.js';
import { createRun, createThreadAndRun, type RunParams, submitToolOutputs } from './runs.js';
import { createMessage, createThread } from './threads.js';

function failure(fn: () => unknown): ProxyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error('expected a ProxyError');
}

describe('request schemas', () => {
  it("a run's parameters are what the run engine takes", () => {
    expectTypeOf<RunParams>().toExtend<EngineRunParams>();
    const params: EngineRunParams = parse(createRun, { assistant_id: 'asst_1', stream: true });
    expect(params).toEqual({ assistant_id: 'asst_1', stream: true });
  });

  it('stores a text part in the shape OpenAI answers with', () => {
    expect(parse(createMessage, { role: 'user', content: [{ type: 'text', text: 'Hi' }] })).toEqual({
      role: 'user',
      content: [{ type: 'text', text: { value: 'Hi', annotations: [] } }],
    });
  });

  it('names the parameter of a bad tool, content part or role', () => {
    expect(failure(() => parse(createAssistant, { tools: [{ type: 'web_browser' }] }))).toMatchObject({
      param: 'tools[0].type',
      message:
        "Invalid value for 'tools[0].type': expected one of 'function', 'code_interpreter', 'file_search'.",
    });
    expect(
      failure(() => parse(createAssistant, { tools: [{ type: 'function', function: { name: 'a b' } }] })),
    ).toMatchObject({
      param: 'tools[0].function.name',
      message: "Invalid 'tools[0].function.name': 'a b' does not match /^[a-zA-Z0-9_-]+$/.",
    });
    expect(
      failure(() => parse(createAssistant, { tools: [{ type: 'function', function: {} }] })),
    ).toMatchObject({ code: 'missing_required_parameter', param: 'tools[0].function.name' });
    expect(failure(() => parse(createMessage, { role: 'system', content: 'x' }))).toMatchObject({
      code: 'invalid_value',
      message: "Invalid value for 'role': expected one of 'user', 'assistant'.",
    });
    expect(failure(() => parse(createMessage, { content: 'x' }))).toMatchObject({
      code: 'missing_required_parameter',
      param: 'role',
    });
    expect(failure(() => parse(createMessage, { role: 'user', content: [{ type: 'audio' }] }))).toMatchObject(
      {
        param: 'content[0].type',
      },
    );
  });

  it('explains a value of neither accepted form by the last one, as before', () => {
    expect(failure(() => parse(createMessage, { role: 'user', content: 42 }))).toMatchObject({
      param: 'content',
      message: "Invalid type for 'content': expected an array, but got a number.",
    });
    expect(failure(() => parse(createMessage, { role: 'user', content: 'x'.repeat(256_001) }))).toMatchObject(
      {
        param: 'content',
        message: expect.stringContaining('string too long'),
      },
    );
    expect(failure(() => parse(createAssistant, { response_format: { type: 'xml' } }))).toMatchObject({
      param: 'response_format.type',
    });
    expect(parse(createAssistant, { response_format: 'auto' })).toEqual({ response_format: 'auto' });
  });

  it('refuses unknown fields at any depth by their full name', () => {
    expect(
      failure(() => parse(createThread, { messages: [{ role: 'user', content: 'x', extra: 1 }] })),
    ).toMatchObject({ code: 'unknown_parameter', param: 'messages[0].extra' });
    expect(
      failure(() =>
        parse(chatCompletion, { model: 'm', messages: [{ role: 'user', content: 'x' }], logit_bias: {} }),
      ),
    ).toMatchObject({ code: 'unknown_parameter', param: 'logit_bias' });
    expect(
      failure(() => parse(createThreadAndRun, { assistant_id: 'a', additional_instructions: 'x' })),
    ).toMatchObject({ code: 'unknown_parameter', param: 'additional_instructions' });
  });

  it('keeps the wording of ranges and lengths', () => {
    expect(failure(() => parse(createAssistant, { temperature: 3 }))).toMatchObject({
      message: "Invalid 'temperature': 3 is above the maximum of 2.",
    });
    expect(failure(() => parse(chatCompletion, { model: 'm', messages: [] }))).toMatchObject({
      param: 'messages',
      message: "Invalid 'messages': expected an array with minimum length 1.",
    });
    expect(
      failure(() => parse(submitToolOutputs, { tool_outputs: Array.from({ length: 129 }, () => ({})) })),
    ).toMatchObject({
      param: 'tool_outputs',
      message:
        "Invalid 'tool_outputs': array too long. Expected an array with maximum length 128, but got an array with length 129 instead.",
    });
    expect(failure(() => parse(createRun, { assistant_id: '' }))).toMatchObject({
      message: "Invalid 'assistant_id': string too short. Expected a string with minimum length 1.",
    });
  });

  it('accepts integers beyond 2^53 where OpenAI did (a seed)', () => {
    const seed = 2 ** 60;
    expect(parse(chatCompletion, { model: 'm', messages: [{ role: 'user' }], seed }).seed).toBe(seed);
  });
});

describe('list pages', () => {
  it('defaults to 20 newest first and passes cursors through', () => {
    expect(parsePageQuery(new URLSearchParams(''))).toEqual({ limit: 20, order: 'desc' });
    expect(parsePageQuery(new URLSearchParams('limit=5&order=asc&after=msg_1&run_id=x'))).toEqual({
      limit: 5,
      order: 'asc',
      after: 'msg_1',
    });
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'limit=', 'order=up', 'order='])(
    '?%s is a 400 naming the parameter',
    (query) => {
      expect(failure(() => parsePageQuery(new URLSearchParams(query)))).toMatchObject({
        code: 'invalid_value',
        param: query.split('=')[0],
      });
    },
  );
});
