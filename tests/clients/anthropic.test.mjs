// dsv4 serve through the official Anthropic client: messages whole and streamed (the
// Anthropic event sequence), thinking blocks, tool_use and tool_result, stop sequences,
// usage with cache reads, and errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startServer, hasDsml, promptTokens } from './server.mjs';

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Anthropic({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
// The same tool as encoding_dsv4 messages carry it.
const weatherFunction = {
  type: 'function',
  function: {
    name: weatherTool.name, description: weatherTool.description,
    parameters: weatherTool.input_schema,
  },
};

const textOf = (message, type = 'text') =>
  message.content.filter((b) => b.type === type).map((b) => b[type]).join('');

test('a message reports thinking and usage as dsv4 counts the prompt', async () => {
  const messages = [{ role: 'user', content: 'Name three colours' }];
  const m = await client.messages.create({ model: 'claude-any', max_tokens: 16, messages });
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.equal(m.model, 'claude-any');
  assert.ok(['end_turn', 'max_tokens'].includes(m.stop_reason));
  for (const block of m.content) assert.ok(['thinking', 'text'].includes(block.type));
  assert.ok(!hasDsml(textOf(m)));
  assert.equal(m.usage.input_tokens + m.usage.cache_read_input_tokens,
    promptTokens(messages, 'thinking', server.model));
  assert.ok(m.usage.output_tokens >= 1 && m.usage.output_tokens <= 16);
});

test('streamed and whole messages agree and follow the event sequence', async () => {
  for (const thinking of [{ type: 'enabled', budget_tokens: 1024 }, { type: 'disabled' }]) {
    const request = {
      model: 'tiny', max_tokens: 40, temperature: 0, thinking,
      messages: [{ role: 'user', content: 'Write a poem' }],
    };
    const whole = await client.messages.create(request);
    const stream = client.messages.stream(request);
    const events = [];
    stream.on('streamEvent', (e) => events.push(e));
    stream.on('text', (delta) => assert.ok(!hasDsml(delta), `DSML in a text delta: ${delta}`));
    const final = await stream.finalMessage();
    assert.equal(textOf(final), textOf(whole));
    assert.equal(textOf(final, 'thinking'), textOf(whole, 'thinking'));
    if (thinking.type === 'disabled') assert.equal(textOf(final, 'thinking'), '');
    assert.equal(final.stop_reason, whole.stop_reason);
    assert.equal(final.usage.output_tokens, whole.usage.output_tokens);

    const types = events.map((e) => e.type);
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-2), 'message_delta');
    assert.equal(types.at(-1), 'message_stop');
    // Every block opens, takes deltas at its own index, and closes before the next opens.
    let open = null;
    for (const e of events) {
      if (e.type === 'content_block_start') { assert.equal(open, null); open = e.index; }
      if (e.type === 'content_block_delta') assert.equal(e.index, open);
      if (e.type === 'content_block_stop') { assert.equal(e.index, open); open = null; }
    }
    assert.equal(open, null);
  }
});

test('a forced tool choice gives a tool_use block', async () => {
  const request = {
    model: 'tiny', max_tokens: 16, tools: [weatherTool],
    tool_choice: { type: 'tool', name: 'get_weather' },
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
  };
  const m = await client.messages.create(request);
  const use = m.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(m.content));
  assert.equal(use.name, 'get_weather');
  assert.equal(typeof use.input, 'object');
  assert.match(use.id, /^toolu_/);
  assert.ok(!hasDsml(textOf(m)));

  const final = await client.messages.stream(request).finalMessage();
  const streamedUse = final.content.find((b) => b.type === 'tool_use');
  assert.equal(streamedUse.name, 'get_weather');
  assert.equal(typeof streamedUse.input, 'object');
});

test('a prefill that ends inside a string argument streams that argument', async () => {
  // The model continues the assistant prefill in the middle of a DSML parameter, so what it
  // writes is the value of "city", whatever the random weights.
  const request = {
    model: 'tiny', max_tokens: 8, tools: [weatherTool], thinking: { type: 'disabled' },
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: '\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name="get_weather">\n' +
          '<｜DSML｜parameter name="city" string="true">Par',
      },
    ],
  };
  const stream = client.messages.stream(request);
  const pieces = [];
  stream.on('inputJson', (delta) => pieces.push(delta));
  const final = await stream.finalMessage();
  const use = final.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(final.content));
  assert.equal(use.name, 'get_weather');
  assert.ok(use.input.city.startsWith('Par'), JSON.stringify(use.input));
  assert.ok(pieces.length > 1, 'the input arrives in pieces');
  assert.deepEqual(JSON.parse(pieces.join('')), use.input);
  const whole = await client.messages.create(request);
  assert.equal(whole.content.find((b) => b.type === 'tool_use').name, 'get_weather');
});

test('a tool_result turn is rendered and answered', async () => {
  const messages = [
    { role: 'user', content: 'What is the weather in Paris?' },
    {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
    },
    {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny, 24 °C' }],
    },
  ];
  const m = await client.messages.create({
    model: 'tiny', max_tokens: 6, tools: [weatherTool], messages,
  });
  assert.equal(m.role, 'assistant');
  const rendered = [
    { role: 'system', content: '', tools: [weatherFunction] },
    messages[0],
    {
      role: 'assistant', content: '',
      tool_calls: [{
        id: 'toolu_1', type: 'function',
        function: { name: 'get_weather', arguments: { city: 'Paris' } },
      }],
    },
    { role: 'tool', tool_call_id: 'toolu_1', content: 'Sunny, 24 °C' },
  ];
  assert.equal(m.usage.input_tokens + m.usage.cache_read_input_tokens,
    promptTokens(rendered, 'thinking', server.model));
});

test('stop sequences end the text and are reported', async () => {
  const request = {
    model: 'tiny', max_tokens: 40, temperature: 0, thinking: { type: 'disabled' },
    messages: [{ role: 'user', content: 'Count to ten' }],
  };
  const free = textOf(await client.messages.create(request));
  const at = [...free].findIndex((c, i) => i > 3 && /[a-z]/i.test(c));
  if (at < 0) return;  // nothing usable in this run
  const stop = [...free][at];
  const stopped = await client.messages.create({ ...request, stop_sequences: [stop] });
  assert.equal(textOf(stopped), free.slice(0, free.indexOf(stop)));
  assert.equal(stopped.stop_reason, 'stop_sequence');
  assert.equal(stopped.stop_sequence, stop);
  const streamed = await client.messages.stream({ ...request, stop_sequences: [stop] }).finalMessage();
  assert.equal(textOf(streamed), textOf(stopped));
  assert.equal(streamed.stop_sequence, stop);
});

test('bad requests raise the client errors', async () => {
  await assert.rejects(
    client.messages.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.BadRequestError && e.status === 400 &&
      e.error.type === 'error' && e.error.error.type === 'invalid_request_error' &&
      /max_tokens/.test(e.message),
  );
  await assert.rejects(
    client.messages.create({ model: 'tiny', max_tokens: 4, messages: [{ role: 'system', content: 'x' }] }),
    (e) => e instanceof Anthropic.BadRequestError && /messages\[0\]\.role/.test(e.message),
  );
  await assert.rejects(
    client.messages.create({ model: 'tiny', max_tokens: 4, messages: [] }),
    (e) => e instanceof Anthropic.BadRequestError && /messages/.test(e.message),
  );
});

test('a second turn reads its prefix from the session', async () => {
  let first;
  let request;
  // Anthropic has no seed: each attempt samples afresh.
  for (let attempt = 0; attempt < 64 && !first; ++attempt) {
    request = {
      model: 'tiny', max_tokens: 6, thinking: { type: 'disabled' },
      messages: [{ role: 'user', content: 'Hello there' }],
    };
    const m = await client.messages.create(request);
    if (textOf(m) && !textOf(m).includes('\uFFFD')) first = m;
  }
  assert.ok(first, 'no clean reply in 64 prompts');
  const second = await client.messages.create({
    ...request,
    messages: [...request.messages, { role: 'assistant', content: textOf(first) },
      { role: 'user', content: 'And then?' }],
  });
  const held = first.usage.input_tokens + first.usage.cache_read_input_tokens +
    first.usage.output_tokens - (first.stop_reason === 'max_tokens' ? 1 : 0);
  assert.equal(second.usage.cache_read_input_tokens, held);
  assert.ok(second.usage.input_tokens > 0 && second.usage.input_tokens < 16);
});
