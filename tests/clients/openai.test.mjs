// dsv4 serve through the official OpenAI client: chat completions whole and streamed, tool
// calls, tool results, stop sequences, usage, errors, the legacy completions endpoint and
// prefix reuse across turns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, hasDsml, promptTokens } from './server.mjs';

let server;
let client;

before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

// What the chunks of a streamed chat completion add up to, checking each delta.
async function collect(stream) {
  const out = { content: '', reasoning: '', chunks: [], order: [] };
  for await (const chunk of stream) {
    out.chunks.push(chunk);
    const delta = chunk.choices[0]?.delta ?? {};
    if (delta.content) {
      assert.ok(!hasDsml(delta.content), `DSML in a content delta: ${delta.content}`);
      out.content += delta.content;
      out.order.push('content');
    }
    if (delta.reasoning_content) {
      out.reasoning += delta.reasoning_content;
      out.order.push('reasoning');
    }
  }
  return out;
}

test('the models list names the loaded model', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), ['tiny']);
});

test('a chat completion reports usage as dsv4 counts the prompt', async () => {
  const messages = [{ role: 'user', content: 'Name three colours' }];
  const r = await client.chat.completions.create({
    model: 'any-name', messages, max_tokens: 12, seed: 4,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'any-name');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.prompt_tokens, promptTokens(messages, 'thinking', server.model));
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('streaming gives the same text as a whole response for the same seed', async () => {
  for (const reasoning_effort of ['high', 'none']) {
    const request = {
      model: 'tiny', messages: [{ role: 'user', content: 'Write a poem' }], max_tokens: 40, seed: 9,
      reasoning_effort,
    };
    const whole = await client.chat.completions.create(request);
    const streamed = await collect(await client.chat.completions.create({
      ...request, stream: true, stream_options: { include_usage: true },
    }));
    const message = whole.choices[0].message;
    assert.equal(streamed.content, message.content);
    assert.equal(streamed.reasoning, message.reasoning_content ?? '');
    assert.ok(!hasDsml(message.content));
    // Reasoning comes first and stays out of the content.
    assert.ok(streamed.order.indexOf('content') === -1 ||
              streamed.order.lastIndexOf('reasoning') < streamed.order.indexOf('content'));
    if (reasoning_effort === 'none') assert.equal(streamed.reasoning, '');
    const usage = streamed.chunks.at(-1).usage;
    assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
    assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
  }
});

test('a forced tool call is parsed into tool_calls', async () => {
  const request = {
    model: 'tiny',
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [weatherTool],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    max_tokens: 16,
    seed: 2,
  };
  const whole = await client.chat.completions.create(request);
  const message = whole.choices[0].message;
  assert.equal(message.tool_calls.length >= 1, true);
  assert.equal(message.tool_calls[0].type, 'function');
  assert.equal(message.tool_calls[0].function.name, 'get_weather');
  assert.equal(typeof JSON.parse(message.tool_calls[0].function.arguments), 'object');
  assert.match(message.tool_calls[0].id, /^call_/);
  assert.ok(!hasDsml(message.content));

  // The client's stream helper assembles the same call from the deltas.
  const stream = client.chat.completions.stream(request);
  const done = [];
  stream.on('tool_calls.function.arguments.done', (e) => done.push(e));
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.equal(call.function.arguments, message.tool_calls[0].function.arguments);
  assert.equal(done[0].name, 'get_weather');
});

test('a prompt that ends inside a string argument streams that argument', async () => {
  // continue_final_message: the model continues the assistant message, here in the middle of
  // a DSML parameter, so what it writes is the value of "city", whatever the random weights.
  const request = {
    model: 'tiny',
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: '\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name="get_weather">\n' +
          '<｜DSML｜parameter name="city" string="true">Par',
      },
    ],
    continue_final_message: true,
    tools: [weatherTool],
    reasoning_effort: 'none',
    max_tokens: 8,
    seed: 6,
  };
  const stream = client.chat.completions.stream(request);
  const deltas = [];
  stream.on('tool_calls.function.arguments.delta', (e) => deltas.push(e.arguments_delta));
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  assert.ok(args.city.startsWith('Par'), call.function.arguments);
  assert.ok(deltas.length > 1, 'the arguments arrive in pieces');
  assert.equal(deltas.join(''), call.function.arguments);
  assert.ok(!hasDsml(final.choices[0].message.content));
});

test('a tool result turn is rendered and answered', async () => {
  const messages = [
    { role: 'user', content: 'What is the weather in Paris?' },
    {
      role: 'assistant', content: '',
      tool_calls: [{
        id: 'call_1', type: 'function',
        function: { name: 'get_weather', arguments: '{"city": "Paris"}' },
      }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 24 °C' },
  ];
  const r = await client.chat.completions.create({
    model: 'tiny', messages, tools: [weatherTool], max_tokens: 6, seed: 1,
  });
  assert.equal(r.choices[0].message.role, 'assistant');
  const rendered = [{ role: 'system', content: '', tools: [weatherTool] }, ...messages];
  assert.equal(r.usage.prompt_tokens, promptTokens(rendered, 'thinking', server.model));
});

test('stop sequences end the text where they first occur', async () => {
  const request = {
    model: 'tiny', messages: [{ role: 'user', content: 'Count to ten' }], max_tokens: 40, seed: 13,
    reasoning_effort: 'none',
  };
  const free = (await client.chat.completions.create(request)).choices[0].message.content;
  const at = [...free].findIndex((c, i) => i > 3 && /[a-z]/i.test(c));
  if (at < 0) return;  // nothing usable in this run
  const stop = [...free][at];
  const stopped = await client.chat.completions.create({ ...request, stop: [stop] });
  assert.equal(stopped.choices[0].message.content, free.slice(0, free.indexOf(stop)));
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  const streamed = await collect(await client.chat.completions.create({
    ...request, stop: [stop], stream: true,
  }));
  assert.equal(streamed.content, stopped.choices[0].message.content);
});

test('bad requests raise the client errors with the field named', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages: [{ role: 'wizard', content: 'x' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 &&
      e.error.param === 'messages[0].role' && /unknown role/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.error.param === 'messages',
  );
  await assert.rejects(
    client.chat.completions.create({
      model: 'tiny', messages: [{ role: 'user', content: 'x' }], max_tokens: -1,
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.error.param === 'max_tokens',
  );
});

test('the completions endpoint answers whole and streamed alike', async () => {
  const request = { model: 'tiny', prompt: 'Once upon a time', max_tokens: 24, seed: 8 };
  const whole = await client.completions.create(request);
  assert.equal(whole.object, 'text_completion');
  let text = '';
  for await (const chunk of await client.completions.create({ ...request, stream: true })) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, whole.choices[0].text);
  assert.ok(!hasDsml(text));
});

test('a second turn prefills only its new tokens', async () => {
  // The reply must go back byte for byte: random weights may produce bytes that are not
  // UTF-8, which JSON carries as U+FFFD, so try seeds until a reply is clean text.
  let first;
  let request;
  for (let seed = 1; seed <= 64; ++seed) {
    request = {
      model: 'tiny', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8, seed,
      reasoning_effort: 'none',
    };
    first = await client.chat.completions.create(request);
    const content = first.choices[0].message.content;
    if (content && !content.includes('\uFFFD')) break;
    first = undefined;
  }
  assert.ok(first, 'no clean reply in 64 seeds');
  const second = await client.chat.completions.create({
    ...request,
    messages: [...request.messages, first.choices[0].message, { role: 'user', content: 'And then?' }],
  });
  const held = first.usage.prompt_tokens + first.usage.completion_tokens -
    (first.choices[0].finish_reason === 'length' ? 1 : 0);
  const cached = second.usage.prompt_tokens_details.cached_tokens;
  assert.equal(cached, held);
  const fresh = second.usage.prompt_tokens - cached;
  assert.ok(fresh > 0 && fresh < 16, `prefilled ${fresh}`);
  assert.match(server.log(), new RegExp(`\\(${fresh} prefilled, ${cached} cached\\)`));
});
