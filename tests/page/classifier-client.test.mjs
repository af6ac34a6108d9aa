// The page's side of the inference worker, with stand-in workers (no browser needed): a worker
// whose pool start never answers is replaced by one on one thread, which answers everything the
// silent one was asked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClassifierClient } from '../../www/js/classifier-client.js';

const READY = { type: 'ready', labels: ['Bread', 'Rice'], modelBytes: 1, cold: {} };
const THREADED = { name: 'threads', build: 'relaxed-simd', threads: 1, starting: 2 };

/**
 * A stand-in for the engine's worker: records what it is sent and whether it was ended; `reply`
 * answers as the real worker would. `silent` workers never answer classify or own-load.
 */
class StandInWorker {
  constructor(name, { engine, silent }) {
    this.name = name;
    this.sent = [];
    this.terminated = false;
    this.silent = silent;
    this.cancelled = new Set();
    queueMicrotask(() => {
      this.reply({ type: 'progress', loaded: 1, total: 1 });
      this.reply({ ...READY, engine });
    });
  }

  reply(data) {
    if (!this.terminated) this.onmessage?.({ data });
  }

  postMessage(message) {
    this.sent.push(message);
    if (this.silent) return;
    if (message.type === 'classify') queueMicrotask(() => this.reply({ type: 'result', id: message.id, result: { label: 'Rice', by: this.name }, worker_ms: 1 }));
    if (message.type === 'own-load') queueMicrotask(() => this.reply({ type: 'own-ready', id: message.id, labels: ['a'] }));
    if (message.type === 'cancel') this.cancelled.add(message.id);
    if (message.type === 'evaluate') {
      queueMicrotask(() => {
        this.reply({ type: 'evaluation-start', id: message.id, total: 2, skipped: 0 });
        const cancelled = this.cancelled.has(message.id);
        if (!cancelled) for (const index of [0, 1]) this.reply({ type: 'evaluation-photo', id: message.id, index, by: this.name });
        this.reply({ type: 'evaluation-done', id: message.id, report: { photos: cancelled ? 0 : 2 }, cancelled });
      });
    }
  }

  terminate() {
    this.terminated = true;
  }
}

/**
 * A client over stand-in workers: the first runs `engine` and answers nothing after ready, as a
 * worker stopped in its pool start; any replacement answers everything.
 */
function clientWith(engine, limitMs) {
  const workers = [];
  const client = new ClassifierClient('worker.js', {
    poolAnswerLimitMs: limitMs,
    createWorker: (url, { name }) => {
      const worker = new StandInWorker(name, { engine: workers.length ? { ...engine, starting: 0 } : engine, silent: !workers.length });
      workers.push(worker);
      return worker;
    },
  });
  return { client, workers };
}

const engineEvent = (client) => new Promise((resolve) => {
  client.addEventListener('engine', ({ detail }) => resolve(detail), { once: true });
});

test('a worker that says how its pool started is kept', { timeout: 5_000 }, async () => {
  const { client, workers } = clientWith(THREADED, 50);
  await client.ready;
  workers[0].reply({ type: 'engine', engine: { build: 'relaxed-simd', threads: 2 }, pool_ms: 40 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(workers.length, 1);
  assert.equal(workers[0].terminated, false);
});

test('a one-thread build is not watched', { timeout: 5_000 }, async () => {
  const { client, workers } = clientWith({ name: 'relaxed-simd', build: 'relaxed-simd', threads: 1, starting: 0 }, 50);
  await client.ready;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(workers.length, 1);
});

test('a worker silent about its pool is replaced on one thread, which answers what it was asked', { timeout: 5_000 }, async () => {
  const { client, workers } = clientWith(THREADED, 50);
  let progress = 0;
  client.addEventListener('progress', () => progress++);
  const info = await client.ready;
  assert.equal(info.engine.starting, 2);
  const own = client.loadOwn('model bytes', '{}');
  const photo = client.classify('photo bytes');
  const evaluation = [];
  const evaluated = new Promise((resolve) => {
    client.evaluate([{ path: 'Rice/a.jpg' }, { path: 'Rice/b.jpg' }], (message) => {
      evaluation.push(message);
      if (message.type === 'evaluation-done') resolve();
    });
  });
  const engine = await engineEvent(client);
  assert.equal(workers.length, 2);
  assert.equal(workers[0].terminated, true);
  assert.equal(workers[1].name, 'classifier engine=threads pool=off');
  assert.deepEqual(engine.engine, { ...THREADED, starting: 0 });
  assert.match(engine.pool_error, /no answer within 0.05 s, so the engine restarted on one thread/);
  assert.deepEqual(await photo, { label: 'Rice', by: workers[1].name, worker_ms: 1 });
  assert.deepEqual((await own).labels, ['a']);
  await evaluated;
  assert.deepEqual(evaluation.map((m) => m.type), ['evaluation-start', 'evaluation-photo', 'evaluation-photo', 'evaluation-done']);
  // The replacement was sent what the silent worker had not answered, in the order first sent.
  assert.deepEqual(workers[1].sent.map((m) => m.type), ['own-load', 'classify', 'evaluate']);
  assert.deepEqual(workers[1].sent, workers[0].sent);
  // The page's model download was shown once: the replacement's, from the cache, is not shown.
  assert.equal(progress, 1);
});

test('the person\'s model, already loaded, is loaded again in the replacement before anything else', { timeout: 5_000 }, async () => {
  const workers = [];
  const client = new ClassifierClient('worker.js', {
    poolAnswerLimitMs: 50,
    createWorker: (url, { name }) => {
      const worker = new StandInWorker(name, { engine: workers.length ? { ...THREADED, starting: 0 } : THREADED, silent: false });
      workers.push(worker);
      return worker;
    },
  });
  await client.ready;
  await client.loadOwn('model bytes', '{}');
  // From here the first worker stops answering, as in a stall.
  workers[0].silent = true;
  const photo = client.classify('photo bytes');
  await engineEvent(client);
  assert.equal((await photo).by, 'classifier engine=threads pool=off');
  assert.deepEqual(workers[1].sent.map((m) => m.type), ['own-load', 'classify']);
});

test('after the person forgets their model, the replacement does not load it', { timeout: 5_000 }, async () => {
  const { client, workers } = clientWith(THREADED, 50);
  await client.ready;
  workers[0].silent = false;
  await client.loadOwn('model bytes', '{}');
  client.forgetOwn();
  workers[0].silent = true;
  await engineEvent(client);
  assert.deepEqual(workers[1].sent, []);
});

test('a replacement that fails to start fails everything waiting, with its reason', { timeout: 5_000 }, async () => {
  const workers = [];
  const client = new ClassifierClient('worker.js', {
    poolAnswerLimitMs: 50,
    createWorker: (url, { name }) => {
      const worker = new StandInWorker(name, { engine: THREADED, silent: true });
      if (workers.length) {
        worker.reply = () => {}; // never ready
        queueMicrotask(() => worker.onmessage({ data: { type: 'failed', message: 'Could not download the model (HTTP 503).' } }));
      }
      workers.push(worker);
      return worker;
    },
  });
  await client.ready;
  const photo = client.classify('photo bytes');
  await assert.rejects(photo, /HTTP 503/);
  // Nothing asked for later waits for ever.
  await assert.rejects(client.classify('another photo'), /HTTP 503/);
  const evaluation = await new Promise((resolve) => client.evaluate([{ path: 'Rice/a.jpg' }], resolve));
  assert.deepEqual([evaluation.type, evaluation.message], ['error', 'Could not download the model (HTTP 503).']);
});

test('a folder evaluation the silent worker had begun reaches the page once per photo', { timeout: 5_000 }, async () => {
  const { client, workers } = clientWith(THREADED, 50);
  await client.ready;
  const evaluation = [];
  const evaluated = new Promise((resolve) => {
    client.evaluate([{ path: 'Rice/a.jpg' }, { path: 'Rice/b.jpg' }], (message) => {
      evaluation.push(message);
      if (message.type === 'evaluation-done') resolve();
    });
  });
  // The first worker began, told of its first photo, then stopped.
  workers[0].reply({ type: 'evaluation-start', id: 1, total: 2, skipped: 0 });
  workers[0].reply({ type: 'evaluation-photo', id: 1, index: 0, by: workers[0].name });
  await evaluated;
  assert.deepEqual(evaluation.map((m) => [m.type, m.index, m.by]), [
    ['evaluation-start', undefined, undefined],
    ['evaluation-photo', 0, 'classifier'],
    ['evaluation-photo', 1, 'classifier engine=threads pool=off'],
    ['evaluation-done', undefined, undefined],
  ]);
});

test('a folder evaluation cancelled while the worker was silent is not run again by the replacement', { timeout: 5_000 }, async () => {
  const { client, workers } = clientWith(THREADED, 50);
  await client.ready;
  const evaluation = [];
  const evaluated = new Promise((resolve) => {
    const cancel = client.evaluate([{ path: 'Rice/a.jpg' }, { path: 'Rice/b.jpg' }], (message) => {
      evaluation.push(message);
      if (message.type === 'evaluation-done') resolve();
    });
    cancel();
  });
  await evaluated;
  assert.deepEqual(workers[1].sent.map((m) => m.type), ['evaluate', 'cancel']);
  assert.deepEqual(evaluation.map((m) => m.type), ['evaluation-start', 'evaluation-done']);
  assert.equal(evaluation.at(-1).cancelled, true);
});
