// The page's side of the inference worker: a promise per photo, events for loading progress and
// the engine, and a watch over a threaded build's pool start.

/**
 * How long after ready the page waits to hear how a threaded build's pool started. The worker
 * answers within a second or two, or after its own limit on the start (engine-load.js). Firefox
 * now and then stops the engine's worker while its pool starts (6 page loads of 270 on a 2-core
 * machine), and such a worker never answers anything again: the page then replaces it with
 * one that runs the same build on one thread, and sends it everything still unanswered.
 */
const POOL_ANSWER_LIMIT_MS = 8_000;

export class ClassifierClient extends EventTarget {
  /**
   * `engine`: the engine build to ask for by name (the browser still decides whether it can run
   * it). It travels in the worker's name, not its URL: a service worker may answer the script from
   * its cache, and the worker's own URL then has no query. `poolAnswerLimitMs` and `createWorker`
   * are for tests.
   */
  constructor(workerUrl, { engine, poolAnswerLimitMs = POOL_ANSWER_LIMIT_MS, createWorker = (url, options) => new Worker(url, options) } = {}) {
    super();
    this.workerUrl = workerUrl;
    this.createWorker = createWorker;
    this.pending = new Map(); // id → { resolve, reject, message }
    this.evaluations = new Map(); // id → { onMessage, message, started, photos, cancelled }
    this.ownLoad = null; // The person's model as last sent, for a replacement worker.
    this.failure = null; // Why a replacement worker could not start: every answer from then on.
    this.nextId = 1;
    this.ready = new Promise((resolve, reject) => {
      this.start(engine ? `classifier engine=${engine}` : 'classifier', (info) => {
        resolve(info);
        if (info.engine.starting > 0) this.watchPool(info.engine, poolAnswerLimitMs);
      }, reject);
    });
    /** Resolves once the engine has settled on its threads: at ready, or when the pool has answered. */
    this.settled = this.ready.then((info) => info.engine.starting > 0
      && new Promise((resolve) => this.addEventListener('engine', resolve, { once: true })));
  }

  /**
   * Starts the worker named `name`; `onReady(info)` or `onFailed(error)` hears how its start went.
   * `progress`: whether its model download is shown (not for a replacement, after ready).
   */
  start(name, onReady, onFailed, { progress = true } = {}) {
    const worker = this.createWorker(this.workerUrl, { type: 'module', name });
    this.worker = worker;
    worker.onmessage = ({ data }) => {
      if (data.type === 'progress' && !progress) return;
      if (data.type === 'progress' || data.type === 'engine') this.dispatchEvent(new CustomEvent(data.type, { detail: data }));
      else if (data.type === 'ready') onReady(data);
      else if (data.type === 'failed') onFailed(new Error(data.message));
      else this.settle(data);
    };
    // A worker that fails to even load (e.g. a missing script) only reports here.
    worker.onerror = (event) => onFailed(new Error(event.message || 'The classifier could not start.'));
  }

  /** Replaces the worker with a one-thread one if it says nothing about its pool within `limitMs`. */
  watchPool(engine, limitMs) {
    const timer = setTimeout(() => this.replaceOnOneThread(engine, limitMs), limitMs);
    this.addEventListener('engine', () => clearTimeout(timer), { once: true });
  }

  /**
   * Ends the silent worker and starts the same build on one thread (its file is the one already
   * downloaded and saved for offline use), then sends it the person's model and every message
   * still waiting for an answer, in the order they were first sent.
   */
  replaceOnOneThread(engine, limitMs) {
    this.worker.terminate();
    const reason = `no answer within ${limitMs / 1000} s, so the engine restarted on one thread`;
    this.start(`classifier engine=${engine.name} pool=off`, (info) => {
      this.dispatchEvent(new CustomEvent('engine', { detail: { engine: info.engine, pool_error: reason } }));
    }, (error) => this.failAll(error), { progress: false });
    const waiting = [...this.pending, ...this.evaluations].sort(([a], [b]) => a - b).map(([, entry]) => entry);
    if (this.ownLoad && !waiting.some((entry) => entry.message === this.ownLoad)) this.worker.postMessage(this.ownLoad);
    for (const { message, cancelled } of waiting) {
      this.worker.postMessage(message);
      // A folder evaluation cancelled while the old worker was silent stops at once.
      if (cancelled) this.worker.postMessage({ type: 'cancel', id: message.id });
    }
  }

  /** Every unanswered request and evaluation fails with `error`, and so does every later one. */
  failAll(error) {
    this.failure = error;
    for (const { reject } of this.pending.values()) reject(error);
    for (const { onMessage } of this.evaluations.values()) onMessage({ type: 'error', message: error.message });
    this.pending.clear();
    this.evaluations.clear();
  }

  settle(data) {
    const evaluation = this.evaluations.get(data.id);
    if (evaluation) {
      // A replacement worker evaluates the folder again from its first photo: each photo reaches
      // the page once, and the report at the end counts every photo once.
      if (data.type === 'evaluation-start') {
        if (evaluation.started) return;
        evaluation.started = true;
      }
      if (data.type === 'evaluation-photo') {
        if (evaluation.photos.has(data.index)) return;
        evaluation.photos.add(data.index);
      }
      evaluation.onMessage(data);
      if (data.type === 'evaluation-done' || data.type === 'error') this.evaluations.delete(data.id);
      return;
    }
    const entry = this.pending.get(data.id);
    if (!entry) return;
    this.pending.delete(data.id);
    if (data.type === 'result') entry.resolve({ ...data.result, worker_ms: data.worker_ms });
    else if (data.type === 'own-ready') entry.resolve(data);
    else entry.reject(new Error(data.message));
  }

  /**
   * Evaluates a labelled folder (`entries`: `{file, path}`, path as in the folder) in the worker.
   * `onMessage` gets evaluation-start, one evaluation-photo per photo and evaluation-done (or
   * error, with a message, if the run could not start);
   * the returned function cancels after the photo in progress.
   */
  evaluate(entries, onMessage) {
    const id = this.nextId++;
    if (this.failure) {
      queueMicrotask(() => onMessage({ type: 'error', id, message: this.failure.message }));
      return () => {};
    }
    const message = { type: 'evaluate', id, entries };
    const evaluation = { onMessage, message, started: false, photos: new Set(), cancelled: false };
    this.evaluations.set(id, evaluation);
    this.worker.postMessage(message);
    return () => {
      evaluation.cancelled = true;
      this.worker.postMessage({ type: 'cancel', id });
    };
  }

  /**
   * Sends `message` with a fresh id: `{ sent, answer }`, the message as sent and a promise of the
   * worker's answer to it (rejected on its error).
   */
  send(message) {
    const sent = { ...message, id: this.nextId++ };
    if (this.failure) return { sent, answer: Promise.reject(this.failure) };
    const answer = new Promise((resolve, reject) => {
      this.pending.set(sent.id, { resolve, reject, message: sent });
    });
    this.worker.postMessage(sent);
    return { sent, answer };
  }

  /** Classifies a File/Blob in the worker; resolves with predictions and timings. */
  classify(blob) {
    return this.send({ type: 'classify', blob }).answer;
  }

  /** Loads the person's own model beside ours; resolves with its labels and load time. */
  loadOwn(model, metadata) {
    const { sent, answer } = this.send({ type: 'own-load', model, metadata });
    this.ownLoad = sent;
    return answer;
  }

  /** Drops the person's own model from the worker. */
  forgetOwn() {
    this.ownLoad = null;
    this.worker.postMessage({ type: 'own-forget' });
  }
}
