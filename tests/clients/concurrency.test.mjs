// Many clients at once against the one inference worker: 16 clients × 4 requests, both APIs,
// streamed and not, all answered; the worker's log shows the jobs ran one at a time. A client
// that aborts its stream cancels its generation, and the server answers afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startServer } from './server.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

const jobSpans = (log) =>
  [...log.matchAll(/ran (\d+\.\d+)-(\d+\.\d+) s/g)].map((m) => [Number(m[1]), Number(m[2])]);

test('16 clients × 4 requests are all answered and run one at a time', async () => {
  const before = jobSpans(server.log()).length;
  const clients = 16;
  const perClient = 4;
  const run = async (c) => {
    const openai = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
    const results = [];
    for (let i = 0; i < perClient; ++i) {
      const content = `client ${c} request ${i}`;
      const kind = (c + i) % 4;
      if (kind === 0) {
        const r = await openai.chat.completions.create({
          model: 'tiny', messages: [{ role: 'user', content }], max_tokens: 4,
        });
        results.push(r.usage.completion_tokens > 0);
      } else if (kind === 1) {
        let chunks = 0;
        for await (const chunk of await openai.chat.completions.create({
          model: 'tiny', messages: [{ role: 'user', content }], max_tokens: 4, stream: true,
        })) chunks += chunk.choices.length;
        results.push(chunks > 0);
      } else if (kind === 2) {
        const m = await anthropic.messages.create({
          model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content }],
        });
        results.push(m.usage.output_tokens > 0);
      } else {
        const m = await anthropic.messages.stream({
          model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content }],
        }).finalMessage();
        results.push(m.usage.output_tokens > 0);
      }
    }
    return results;
  };
  const all = (await Promise.all(Array.from({ length: clients }, (_, c) => run(c)))).flat();
  assert.equal(all.length, clients * perClient);
  assert.ok(all.every(Boolean));

  // Each log line is written before its response goes out, but may still be in the pipe.
  for (let i = 0; i < 100 && jobSpans(server.log()).length < before + clients * perClient; ++i) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const spans = jobSpans(server.log()).slice(before).sort((a, b) => a[0] - b[0]);
  assert.equal(spans.length, clients * perClient);
  for (let i = 1; i < spans.length; ++i) {
    assert.ok(spans[i][0] >= spans[i - 1][1], `jobs overlap: ${spans[i - 1]} and ${spans[i]}`);
  }
});

test('an aborted stream cancels its generation and the server carries on', async () => {
  const openai = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
  // A long prompt keeps the worker in prefill well after the first chunk has arrived.
  const stream = await openai.chat.completions.create({
    model: 'tiny', messages: [{ role: 'user', content: 'hello '.repeat(1000) }], stream: true,
  });
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0].delta.role, 'assistant');
    break;  // leaving the loop aborts the request
  }
  for (let i = 0; i < 300 && !/finish cancelled/.test(server.log()); ++i) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(server.log(), /finish cancelled/);
  const r = await openai.chat.completions.create({
    model: 'tiny', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 2,
  });
  assert.equal(r.choices[0].message.role, 'assistant');
});
