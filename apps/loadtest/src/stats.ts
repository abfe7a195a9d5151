/** Collects latency samples (ms) and summarizes them; exact percentiles over a bounded run. */
export class LatencyRecorder {
  private samples: Float64Array;
  private n = 0;

  constructor(capacity = 1 << 16) {
    this.samples = new Float64Array(capacity);
  }

  record(ms: number): void {
    if (this.n === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** p in [0, 100]; nearest-rank percentile. */
  summary(): LatencySummary {
    if (this.n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const sorted = this.samples.slice(0, this.n).sort();
    const at = (p: number) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))]!;
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i]!;
    return { count: this.n, p50: at(50), p90: at(90), p99: at(99), max: sorted[this.n - 1]!, mean: sum / this.n };
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Formats milliseconds for a table: `0.84 ms`, `12.3 ms`, `1.52 s`. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}
