/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format at `/metrics`. Label values come from a closed set (routes, codes, kinds), never from
 * user input, so series cannot be multiplied by a caller.
 */
type Labels = Record<string, string>;

const key = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map((name) => `${name}="${labels[name]!.replace(/["\\\n]/g, '_')}"`)
    .join(',');

interface Series {
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: Map<string, number>;
  buckets?: number[];
  histograms?: Map<string, { counts: number[]; sum: number; count: number }>;
}

export class Metrics {
  readonly #series = new Map<string, Series>();

  #get(name: string, type: Series['type'], help: string): Series {
    let series = this.#series.get(name);
    if (!series) {
      series = { help, type, values: new Map() };
      this.#series.set(name, series);
    }
    return series;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const series = this.#get(name, 'counter', help);
    const id = key(labels);
    series.values.set(id, (series.values.get(id) ?? 0) + by);
  }

  gauge(name: string, help: string, labels: Labels, delta: number): void {
    const series = this.#get(name, 'gauge', help);
    const id = key(labels);
    series.values.set(id, (series.values.get(id) ?? 0) + delta);
  }

  observe(name: string, help: string, value: number, buckets: number[], labels: Labels = {}): void {
    const series = this.#get(name, 'histogram', help);
    series.buckets ??= buckets;
    series.histograms ??= new Map();
    const id = key(labels);
    let histogram = series.histograms.get(id);
    if (!histogram) {
      histogram = { counts: series.buckets.map(() => 0), sum: 0, count: 0 };
      series.histograms.set(id, histogram);
    }
    for (let i = 0; i < series.buckets.length; i++) if (value <= series.buckets[i]!) histogram.counts[i]!++;
    histogram.sum += value;
    histogram.count++;
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.#series) {
      lines.push(`# HELP ${name} ${series.help}`, `# TYPE ${name} ${series.type}`);
      if (series.type !== 'histogram') {
        for (const [labels, value] of series.values)
          lines.push(`${name}${labels ? `{${labels}}` : ''} ${value}`);
        continue;
      }
      for (const [labels, histogram] of series.histograms ?? []) {
        const prefix = labels ? `${labels},` : '';
        series.buckets!.forEach((bound, i) => {
          lines.push(`${name}_bucket{${prefix}le="${bound}"} ${histogram.counts[i]}`);
        });
        lines.push(`${name}_bucket{${prefix}le="+Inf"} ${histogram.count}`);
        lines.push(
          `${name}_sum${labels ? `{${labels}}` : ''} ${histogram.sum}`,
          `${name}_count${labels ? `{${labels}}` : ''} ${histogram.count}`,
        );
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Buckets for time to first token, seconds. */
export const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];
