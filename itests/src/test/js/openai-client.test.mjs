// Drives a running Halyard with the official OpenAI client (npm "openai"). Run by ServingIT inside
// the Pax Exam container as: node --test openai-client.test.mjs, with HALYARD_BASE_URL set.
// Expected texts are the demo model's greedy references (models/halyard-shakespeare-moe).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = (process.env.HALYARD_BASE_URL ?? 'http://127.0.0.1:8181') + '/v1';
const client = new OpenAI({ baseURL, apiKey: process.env.HALYARD_API_KEY ?? 'open-access', maxRetries: 0, timeout: 60_000 });
const model = 'halyard-shakespeare-moe';
const CHAT_REFERENCE = "If you have no more than you, sir, sir, sir,\nAnd, I'll be a people, and I'll be\nthey of the city.";

test('models.list names the demo model', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(model), `models: ${ids}`);
});

test('completions.create continues a prompt greedily as the reference does', async () => {
  const r = await client.completions.create({ model, prompt: 'First Citizen:\n', max_tokens: 40, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].text, 'What, I am away?');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage.prompt_tokens, 6);
  assert.equal(r.usage.completion_tokens, 9);
});

test('chat.completions.create renders the chat template', async () => {
  const r = await client.chat.completions.create({
    model, temperature: 0, messages: [{ role: 'user', content: 'What news from Verona?' }] });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, CHAT_REFERENCE);
  assert.equal(r.usage.prompt_tokens, 27);
});

test('streamed chat chunks add up to the same text, then usage', async () => {
  const stream = await client.chat.completions.create({
    model, temperature: 0, stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'What news from Verona?' }] });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, CHAT_REFERENCE);
  assert.equal(finish, 'stop');
  assert.ok(chunks > 10, `streamed in ${chunks} chunks`);
  assert.equal(usage.completion_tokens, 44);
});

test('streamed completion with stop sequence and n=2', async () => {
  const stream = await client.completions.create({
    model, prompt: 'ROMEO:\nO, ', max_tokens: 20, temperature: 0, n: 2, stop: [' with'], stream: true });
  const texts = ['', ''];
  const finish = [null, null];
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      texts[c.index] += c.text;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  assert.deepEqual(texts, ['ruster, I am away', 'ruster, I am away']);
  assert.deepEqual(finish, ['stop', 'stop']);
});

test('logprobs come back per token', async () => {
  const r = await client.chat.completions.create({
    model, temperature: 0, max_tokens: 5, logprobs: true, top_logprobs: 2,
    messages: [{ role: 'user', content: 'What news from Verona?' }] });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, 5);
  assert.equal(lp[0].top_logprobs.length, 2);
  assert.ok(lp[0].logprob <= 0);
  assert.equal(lp.map(t => t.token).join(''), r.choices[0].message.content);
});

test('errors arrive as the client\'s typed errors', async () => {
  await assert.rejects(client.completions.create({ model: 'no-such-model', prompt: 'x' }),
    e => e instanceof OpenAI.NotFoundError && /no-such-model/.test(e.message));
  await assert.rejects(client.completions.create({ model, prompt: 'x', max_tokens: 100000 }),
    e => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' || /max_tokens/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model, messages: [] }),
    e => e instanceof OpenAI.BadRequestError && e.param === 'messages');
});
