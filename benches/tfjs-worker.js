// TensorFlow.js's wasm backend (XNNPACK) running our network, in a dedicated classic worker so
// each thread count is its own instance of the library. The network is the shipped model as
// benches/tfjs_export.py lays it out. Messages in: {type:'load', tfjsUrl, networkUrl,
// weightsUrl, threads, tensor (NCHW float32), shape} then {type:'run'}; each answers with its
// timings, taken inside the worker.

/* global importScripts, tf */

let run = null;

/** The layers of network.json as one function from an NHWC tensor to the model's outputs. */
function buildNetwork(network, weights) {
  const tensor = ({ offset, shape }) =>
    tf.tensor(weights.subarray(offset, offset + shape.reduce((a, b) => a * b, 1)), shape, 'float32');
  const steps = network.layers.map((layer) => {
    switch (layer.op) {
      case 'conv':
      case 'depthwise': {
        const filter = tensor(layer.filter);
        const bias = tensor(layer.bias);
        const op = layer.op === 'conv' ? tf.fused.conv2d : tf.fused.depthwiseConv2d;
        const activation = layer.relu6 ? 'relu6' : 'linear';
        return (values) => op({ x: values.get(layer.input), filter, bias, strides: layer.stride, pad: layer.pad, activation });
      }
      case 'add':
        return (values) => tf.add(values.get(layer.inputs[0]), values.get(layer.inputs[1]));
      case 'mean':
        return (values) => tf.mean(values.get(layer.input), [1, 2]);
      case 'flatten':
        return (values) => values.get(layer.input);
      case 'dense': {
        const weight = tensor(layer.weight);
        const bias = tensor(layer.bias);
        return (values) => tf.fused.matMul({ a: values.get(layer.input), b: weight, bias });
      }
      default:
        throw new Error(`unknown layer ${layer.op}`);
    }
  });
  return (image) => tf.tidy(() => {
    const values = new Map([[network.input, image]]);
    network.layers.forEach((layer, i) => values.set(layer.output, steps[i](values)));
    return network.outputs.map((name) => values.get(name));
  });
}

const handlers = {
  async load({ tfjsUrl, networkUrl, weightsUrl, threads, tensor, shape }) {
    importScripts(`${tfjsUrl}/core/tf-core.min.js`, `${tfjsUrl}/wasm/tf-backend-wasm.min.js`);
    tf.wasm.setWasmPaths(`${tfjsUrl}/wasm/`);
    // One thread means the single-threaded SIMD build, as a page that is not isolated gets.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
    if (threads > 1) tf.wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js could not start its wasm backend');
    await tf.ready();
    const [network, weights] = await Promise.all([
      fetch(networkUrl).then((r) => r.json()),
      fetch(weightsUrl).then((r) => r.arrayBuffer()),
    ]);
    const forward = buildNetwork(network, new Float32Array(weights));
    const image = tf.tidy(() => tf.transpose(tf.tensor(tensor, shape, 'float32'), [0, 2, 3, 1]));
    run = async () => {
      const outputs = forward(image);
      const logits = await outputs[0].data();
      outputs.forEach((t) => t.dispose());
      return logits;
    };
    return {
      version: tf.version_core,
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      // Which of its wasm builds it fetched, and the thread count it reports.
      wasmFile: performance.getEntriesByType('resource').map((e) => e.name.split('/').pop()).find((f) => f.endsWith('.wasm')),
      reportedThreads: tf.wasm.getThreadsCount(),
    };
  },
  async run() {
    const t0 = performance.now();
    const logits = await run();
    return { wallMs: performance.now() - t0, logits: Array.from(logits) };
  },
};

self.onmessage = async ({ data }) => {
  try {
    postMessage({ ok: await handlers[data.type](data) });
  } catch (error) {
    postMessage({ error: String(error?.message ?? error) });
  }
};
