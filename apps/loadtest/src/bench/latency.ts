/**
 * The latency arithmetic of the bench: the gateway's own histogram read from its /metrics page
 * (before and after a run, so only that run counts), and medians of repeated runs.
 */

/** Cumulative bucket counts of one histogram, summed over all its label sets: `le` (seconds) → count. */
export type Buckets = Map<number, number>;

/** Reads `<metric>_bucket` lines from a Prometheus text page, summing every label set per `le`. */
export function readBuckets(text: string, metric: string): Buckets {
  const out: Buckets = new Map();
  const prefix = `${metric}_bucket{`;
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const le = /[{,]le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + value);
  }
  return out;
}

/** A metric's value on a Prometheus text page, summed over its label sets; undefined when absent. */
export function readValue(text: string, metric: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (!(line.startsWith(`${metric} `) || line.startsWith(`${metric}{`))) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** What a run added to a histogram: `after − before`, bucket by bucket. */
export function bucketsBetween(before: Buckets, after: Buckets): Buckets {
  const out: Buckets = new Map();
  for (const [le, n] of after) out.set(le, n - (before.get(le) ?? 0));
  return out;
}

/**
 * The q-quantile (0–1) of a histogram's cumulative buckets, as Prometheus's `histogram_quantile`:
 * linear within the bucket the rank falls in; in the +Inf bucket, the highest finite bound.
 * Undefined when the histogram is empty.
 */
export function histogramQuantile(buckets: Buckets, q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is not in [0, 1]`);
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? buckets.get(bounds[bounds.length - 1]!) ?? 0;
  if (bounds.length === 0 || total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const count = buckets.get(le)!;
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lower;
      return count === below ? le : lower + ((le - lower) * (rank - below)) / (count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** The median of some runs' values (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
