// The page's side of the inference worker: a promise per photo, events for loading progress.

export class ClassifierClient extends EventTarget {
  /**
   * `engine`: the engine build to ask for by name (the browser still decides whether it can run
   * it). It travels in the worker's name, not its URL: a service worker may answer the script from
   * its cache, and the worker's own URL then has no query.
   */
  constructor(workerUrl, { engine } = {}) {
    super();
    this.pending = new Map();
    this.evaluations = new Map();
    this.nextId = 1;
    this.worker = new Worker(workerUrl, { type: 'module', name: engine ? `classifier engine=${engine}` : 'classifier' });
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = ({ data }) => {
        if (data.type === 'progress' || data.type === 'engine') this.dispatchEvent(new CustomEvent(data.type, { detail: data }));
        else if (data.type === 'ready') resolve(data);
        else if (data.type === 'failed') reject(new Error(data.message));
        else this.settle(data);
      };
      // A worker that fails to even load (e.g. a missing script) only reports here.
      this.worker.onerror = (event) => reject(new Error(event.message || 'The classifier could not start.'));
    });
  }

  settle(data) {
    const evaluation = this.evaluations.get(data.id);
    if (evaluation) {
      evaluation(data);
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
    this.evaluations.set(id, onMessage);
    this.worker.postMessage({ type: 'evaluate', id, entries });
    return () => this.worker.postMessage({ type: 'cancel', id });
  }

  /** Sends `message` with a fresh id; resolves with the worker's answer to it, rejects on its error. */
  request(message) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  /** Classifies a File/Blob in the worker; resolves with predictions and timings. */
  classify(blob) {
    return this.request({ type: 'classify', blob });
  }

  /** Loads the person's own model beside ours; resolves with its labels and load time. */
  loadOwn(model, metadata) {
    return this.request({ type: 'own-load', model, metadata });
  }

  /** Drops the person's own model from the worker. */
  forgetOwn() {
    this.worker.postMessage({ type: 'own-forget' });
  }
}
