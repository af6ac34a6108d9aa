// The page's side of the inference worker: a promise per photo, events for loading progress.

export class ClassifierClient extends EventTarget {
  constructor(workerUrl) {
    super();
    this.pending = new Map();
    this.nextId = 1;
    this.worker = new Worker(workerUrl, { type: 'module' });
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = ({ data }) => {
        if (data.type === 'progress') this.dispatchEvent(new CustomEvent('progress', { detail: data }));
        else if (data.type === 'ready') resolve(data);
        else if (data.type === 'failed') reject(new Error(data.message));
        else this.settle(data);
      };
      // A worker that fails to even load (e.g. a missing script) only reports here.
      this.worker.onerror = (event) => reject(new Error(event.message || 'The classifier could not start.'));
    });
  }

  settle(data) {
    const entry = this.pending.get(data.id);
    if (!entry) return;
    this.pending.delete(data.id);
    if (data.type === 'result') entry.resolve({ ...data.result, worker_ms: data.worker_ms });
    else entry.reject(new Error(data.message));
  }

  /** Classifies a File/Blob in the worker; resolves with predictions and timings. */
  classify(blob) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'classify', id, blob });
    });
  }
}
