// The Files and Batch APIs through the official OpenAI client (npm "openai"): upload, create,
// poll, download; cancellation; a bad input file. Run by BatchIT inside the Pax Exam container
// as: node --test openai-batch.test.mjs, with HALYARD_BASE_URL set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';

const baseURL = (process.env.HALYARD_BASE_URL ?? 'http://127.0.0.1:8181') + '/v1';
const client = new OpenAI({ baseURL, apiKey: process.env.HALYARD_API_KEY ?? 'open-access', maxRetries: 0, timeout: 60_000 });
const model = 'halyard-shakespeare-moe';
const CHAT_REFERENCE = "If you have no more than you, sir, sir, sir,\nAnd, I'll be a people, and I'll be\nthey of the city.";
const ENDED = ['completed', 'failed', 'expired', 'cancelled'];

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function upload(lines, name = 'batch.jsonl') {
  const jsonl = lines.map(l => JSON.stringify(l)).join('\n') + '\n';
  return client.files.create({ file: await toFile(Buffer.from(jsonl), name), purpose: 'batch' });
}

async function awaitEnd(id, timeoutMs = 90_000) {
  const end = Date.now() + timeoutMs;
  let b;
  while (Date.now() < end) {
    b = await client.batches.retrieve(id);
    if (ENDED.includes(b.status)) return b;
    await sleep(250);
  }
  throw new Error(`batch ${id} still ${b?.status} after ${timeoutMs} ms`);
}

function chat(id, content, extra = {}) {
  return { custom_id: id, method: 'POST', url: '/v1/chat/completions',
    body: { model, temperature: 0, messages: [{ role: 'user', content }], ...extra } };
}

test('upload, create, poll and download a batch of chat completions', async () => {
  const lines = [chat('verona', 'What news from Verona?')];
  for (let i = 0; i < 11; i++) lines.push(chat(`line-${i}`, `Speak, line ${i}.`, { max_tokens: 12 }));
  lines.push(chat('too-long', 'x', { max_tokens: 100000 }));
  const file = await upload(lines);
  assert.equal(file.object, 'file');
  assert.equal(file.purpose, 'batch');
  assert.ok(file.bytes > 0);
  const listed = [];
  for await (const f of client.files.list()) listed.push(f.id);
  assert.ok(listed.includes(file.id));

  const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions',
    completion_window: '24h', metadata: { job: 'itest' } });
  assert.equal(created.object, 'batch');
  assert.equal(created.status, 'validating');
  assert.deepEqual(created.metadata, { job: 'itest' });

  const b = await awaitEnd(created.id);
  assert.equal(b.status, 'completed');
  assert.deepEqual(b.request_counts, { total: 13, completed: 12, failed: 1 });
  assert.ok(b.completed_at >= b.in_progress_at && b.in_progress_at >= b.created_at);

  const out = (await (await client.files.content(b.output_file_id)).text()).trim().split('\n').map(l => JSON.parse(l));
  assert.equal(out.length, 12);
  assert.equal(new Set(out.map(r => r.custom_id)).size, 12, 'every line once');
  const verona = out.find(r => r.custom_id === 'verona');
  assert.equal(verona.response.status_code, 200);
  assert.equal(verona.response.body.object, 'chat.completion');
  assert.equal(verona.response.body.choices[0].message.content, CHAT_REFERENCE);

  const errors = (await (await client.files.content(b.error_file_id)).text()).trim().split('\n').map(l => JSON.parse(l));
  assert.equal(errors.length, 1);
  assert.equal(errors[0].custom_id, 'too-long');
  assert.equal(errors[0].response.status_code, 400);
  assert.equal(errors[0].response.body.error.code, 'context_length_exceeded');

  const ids = [];
  for await (const x of client.batches.list({ limit: 5 })) ids.push(x.id);
  assert.ok(ids.includes(b.id));
  const outFile = await client.files.retrieve(b.output_file_id);
  assert.equal(outFile.purpose, 'batch_output');
  const deleted = await client.files.delete(file.id);
  assert.equal(deleted.deleted, true);
  await assert.rejects(client.files.retrieve(file.id), e => e instanceof OpenAI.NotFoundError);
});

test('cancelling a batch keeps what is done and answers the rest with batch_cancelled', async () => {
  const lines = [];
  for (let i = 0; i < 40; i++) {
    lines.push({ custom_id: `c-${i}`, method: 'POST', url: '/v1/completions',
      body: { model, prompt: `ROMEO ${i}:\n`, max_tokens: 120, temperature: 0, ignore_eos: true } });
  }
  const file = await upload(lines, 'cancel.jsonl');
  const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/completions', completion_window: '24h' });
  let b;
  do {
    await sleep(100);
    b = await client.batches.retrieve(created.id);
  } while (b.status === 'validating');
  const cancelling = await client.batches.cancel(created.id);
  assert.ok(['cancelling', 'cancelled'].includes(cancelling.status), cancelling.status);
  b = await awaitEnd(created.id);
  assert.equal(b.status, 'cancelled');
  assert.ok(b.cancelled_at >= b.cancelling_at);
  assert.equal(b.request_counts.total, 40);
  assert.equal(b.request_counts.completed + b.request_counts.failed, 40);
  assert.ok(b.request_counts.failed > 0);
  const errors = (await (await client.files.content(b.error_file_id)).text()).trim().split('\n').map(l => JSON.parse(l));
  assert.ok(errors.every(r => r.error.code === 'batch_cancelled'));
  await assert.rejects(client.batches.cancel(created.id), e => e.status === 409);
});

test('a bad input file fails validation with the lines named; bad requests get 4xx', async () => {
  const good = chat('a', 'hi');
  const file = await upload([good, { custom_id: 'b', method: 'POST', url: '/v1/embeddings', body: { model } }, good]);
  const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const b = await awaitEnd(created.id);
  assert.equal(b.status, 'failed');
  assert.deepEqual(b.errors.data.map(e => [e.line, e.code]), [[2, 'mismatched_endpoint'], [3, 'duplicate_custom_id']]);
  await assert.rejects(client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }),
    e => e instanceof OpenAI.BadRequestError && e.param === 'endpoint');
  await assert.rejects(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/completions', completion_window: '24h' }),
    e => e instanceof OpenAI.NotFoundError);
  await assert.rejects(client.batches.create({ input_file_id: file.id, endpoint: '/v1/completions', completion_window: 'soon' }),
    e => e instanceof OpenAI.BadRequestError && e.param === 'completion_window');
  await assert.rejects(client.files.create({ file: await toFile(Buffer.from('{}\n'), 'x.jsonl'), purpose: 'fine-tune' }),
    e => e instanceof OpenAI.BadRequestError && e.param === 'purpose');
});
