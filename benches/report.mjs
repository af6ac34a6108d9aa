// The benchmark's table (stderr) and the flat JSON kept in benches/results/.
const fmt = (ms) => (ms === undefined || ms === null ? '-' : `${ms.toFixed(1)} ms`);
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;

const threadNote = (threads) => (threads > 1 ? `, ${threads} threads` : '');

export function report(r) {
  const e2e = r.e2e_real_page?.total ?? r.e2e_bench_page.total;
  const plain = r.ours.simd128;
  const relaxed = r.ours['relaxed-simd'];
  const threaded = r.ours.threads;
  const ort = r.ort.ort;
  const [ortThreadedName, ortThreaded] = Object.entries(r.ort).find(([name]) => name !== 'ort') ?? [];
  const tfjs = r.tfjs.tfjs;
  const tfjsThreaded = Object.entries(r.tfjs).find(([name]) => name !== 'tfjs')?.[1];
  const flat = {
    native_ms: r.native.inference.median_ms,
    native_p90_ms: r.native.inference.p90_ms,
    wasm_ms: plain.wall.median_ms,
    wasm_p90_ms: plain.wall.p90_ms,
    wasm_inference_only_ms: plain.inference.median_ms,
    wasm_relaxed_simd_ms: relaxed?.wall.median_ms ?? null,
    wasm_relaxed_simd_p90_ms: relaxed?.wall.p90_ms ?? null,
    wasm_threads_ms: threaded?.wall.median_ms ?? null,
    wasm_threads_p90_ms: threaded?.wall.p90_ms ?? null,
    threads: r.threads.threads ?? null,
    page_build: r.page_build,
    // What the page itself settled on (its engine line), e.g. "wasm relaxed-simd, 1 thread".
    page_engine: r.e2e_real_page?.engine ?? null,
    ort_web_ms: ort.wall.median_ms,
    ort_web_p90_ms: ort.wall.p90_ms,
    ort_web_threads_ms: ortThreaded?.wall.median_ms ?? null,
    ort_web_threads_p90_ms: ortThreaded?.wall.p90_ms ?? null,
    tfjs_wasm_ms: tfjs?.wall.median_ms ?? null,
    tfjs_wasm_p90_ms: tfjs?.wall.p90_ms ?? null,
    tfjs_wasm_threads_ms: tfjsThreaded?.wall.median_ms ?? null,
    tfjs_wasm_threads_p90_ms: tfjsThreaded?.wall.p90_ms ?? null,
    cold_start_ms: r.cold.total.median_ms,
    cold_start_private_ms: r.cold_private.total.median_ms,
    e2e_12mp_ms: e2e.median_ms,
    e2e_12mp_p90_ms: e2e.p90_ms,
    e2e_12mp_source: r.e2e_real_page ? 'dist/index.html' : 'benches/page.html',
    first_visit_brotli_bytes: r.first_visit.total.bytes,
    first_visit_before_ready_brotli_bytes: r.first_visit.before_ready.bytes,
    wasm_bytes: r.sizes.wasm.raw,
    wasm_gzip_bytes: r.sizes.wasm.gzip,
    wasm_brotli_bytes: r.sizes.wasm.brotli,
    model_bytes: r.sizes.model.raw,
    model_gzip_bytes: r.sizes.model.gzip,
    model_brotli_bytes: r.sizes.model.brotli,
    wasm_relaxed_brotli_bytes: r.sizes.wasm_relaxed.brotli,
    wasm_threads_brotli_bytes: r.sizes.wasm_threads.brotli,
    ratio_wasm_vs_ort_web: plain.wall.median_ms / ort.wall.median_ms,
    ratio_wasm_relaxed_simd_vs_ort_web: relaxed ? relaxed.wall.median_ms / ort.wall.median_ms : null,
    ratio_threads_vs_ort_web_threads: threaded && ortThreaded ? threaded.wall.median_ms / ortThreaded.wall.median_ms : null,
    ratio_wasm_relaxed_simd_vs_tfjs_wasm: relaxed && tfjs ? relaxed.wall.median_ms / tfjs.wall.median_ms : null,
    ratio_threads_vs_tfjs_wasm_threads: threaded && tfjsThreaded ? threaded.wall.median_ms / tfjsThreaded.wall.median_ms : null,
    ratio_threads_vs_relaxed_simd: threaded && relaxed ? threaded.wall.median_ms / relaxed.wall.median_ms : null,
    ratio_relaxed_simd_vs_simd128: relaxed ? relaxed.wall.median_ms / plain.wall.median_ms : null,
    ratio_wasm_vs_native: plain.wall.median_ms / r.native.inference.median_ms,
    details: r,
  };
  const row = (name, s, note = '') => `${name.padEnd(44)}${fmt(s?.median_ms).padStart(11)}${fmt(s?.p90_ms).padStart(11)}  ${note}`;
  // wasm + model + first inference, and its parts.
  const coldRow = (name, c) => row(name, c.total,
    `(fetch+compile ${fmt(c.fetch_compile.median_ms)}, model ${fmt(c.model_load.median_ms)}, first ${fmt(c.first_inference.median_ms)}; pool after ready ${fmt(c.pool_start.median_ms)})`);
  const lines = [
    '',
    `${'same model, one thread unless named'.padEnd(44)}${'median'.padStart(11)}${'p90'.padStart(11)}`,
    row('native tract (release), inference', r.native.inference),
    ...Object.entries(r.ours).map(([name, o]) => row(`our wasm ${name}${threadNote(r.threads[name])}, classifyRgba`, o.wall,
      `(tract run alone: ${fmt(o.inference.median_ms)})${name === r.page_build ? ` the page runs this build${r.threads[name] > 1 ? ', on the pool or one thread as it measures' : ''}` : ''}`)),
    ...Object.entries(r.ort).map(([name, o]) => row(`onnxruntime-web ${r.machine.onnxruntime_web}${name === 'ort' ? '' : threadNote(r.threads.threads)}, run`, o.wall)),
    ...Object.values(r.tfjs).map((t) => row(`TF.js wasm ${r.machine.tfjs}${threadNote(t.threads)}, predict`, t.wall,
      `(logits within ${t.max_logit_difference.toExponential(1)} of onnxruntime-web)`)),
    coldRow('cold start, returning visitor', r.cold),
    coldRow('cold start, private window', r.cold_private),
    `${''.padEnd(44)}model set-up, returning: ${Object.entries(r.cold.model_load_steps)
      .map(([step, m]) => `${step.replace(/_ms$/, '')} ${fmt(m.median_ms)}`).join(', ')}`,
    row('12 MP JPEG, file selection to result (bench)', r.e2e_bench_page.total, `(decode+resize ${fmt(r.e2e_bench_page.decode_resize.median_ms)})`),
    ...(r.e2e_real_page ? [row('12 MP JPEG, file selection to result (page)', r.e2e_real_page.total,
      r.e2e_real_page.engine ? `(engine: ${r.e2e_real_page.engine}; ${r.e2e_real_page.thread_choice})` : '')] : []),
    '',
    `ours / onnxruntime-web: simd128 ${flat.ratio_wasm_vs_ort_web.toFixed(2)}` +
      (relaxed ? `, relaxed-simd ${flat.ratio_wasm_relaxed_simd_vs_ort_web.toFixed(2)}    relaxed-simd / simd128: ${flat.ratio_relaxed_simd_vs_simd128.toFixed(2)}` : '') +
      `    wasm / native: ${flat.ratio_wasm_vs_native.toFixed(2)}`,
    ...(flat.ratio_threads_vs_ort_web_threads === null ? [] : [
      `${r.threads.threads} threads: ours / onnxruntime-web ${flat.ratio_threads_vs_ort_web_threads.toFixed(2)}` +
        `    ours ${r.threads.threads} threads / ours 1 thread (relaxed-simd): ${flat.ratio_threads_vs_relaxed_simd.toFixed(2)}`]),
    ...(flat.ratio_wasm_relaxed_simd_vs_tfjs_wasm === null ? [] : [
      `ours / TF.js wasm: relaxed-simd, one thread ${flat.ratio_wasm_relaxed_simd_vs_tfjs_wasm.toFixed(2)}` +
        (flat.ratio_threads_vs_tfjs_wasm_threads === null ? '' : `    ${r.threads.threads} threads ${flat.ratio_threads_vs_tfjs_wasm_threads.toFixed(2)}`)]),
    `top-1 on the sample: ${Object.entries(r.ours).map(([name, o]) => `${name} ${o.label}`).join(', ')}, onnxruntime-web ${ort.label}${ortThreaded ? ` (${ortThreadedName}: ${ortThreaded.label})` : ''}${tfjs ? `, TF.js ${tfjs.label}` : ''}, native photo ${r.native.photo}`,
    '',
    `first visit as serve sends it (brotli): ${(r.first_visit.before_ready.bytes / 1e6).toFixed(2)} MB until ready `
      + `(${r.first_visit.before_ready.files} files), ${(r.first_visit.total.bytes / 1e6).toFixed(2)} MB with the offline copy `
      + `(${r.first_visit.total.files} files; ${r.first_visit.total.largest.map((f) => `${f.path.split('/').pop()} ${(f.bytes / 1e6).toFixed(2)} MB`).join(', ')})`,
    '',
    `${'size'.padEnd(14)}${'raw'.padStart(12)}${'gzip'.padStart(12)}${'brotli'.padStart(12)}`,
    ...Object.entries(r.sizes).map(([k, s]) => `${k.padEnd(14)}${kb(s.raw).padStart(12)}${kb(s.gzip).padStart(12)}${kb(s.brotli).padStart(12)}`),
    '',
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, load ${r.machine.load_1min_before.toFixed(2)} -> ${r.machine.load_1min_after.toFixed(2)}; Chromium ${r.machine.chromium}`,
  ];
  console.log(lines.join('\n'));
  return flat;
}
