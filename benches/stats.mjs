// Summaries of timing samples: the same nearest-rank quantiles as the native `bench --json`.
export function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.round((s.length - 1) * q)];
  return { median_ms: at(0.5), p90_ms: at(0.9), min_ms: s[0], runs: s.length };
}
