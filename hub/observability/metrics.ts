/**
 * A small Prometheus text-format metrics registry: counters, gauges and histograms with labels, and
 * summaries read from a collector. Its output passes `promtool check metrics` (test/hub/metrics-promtool.test.ts).
 * No dependency; cheap enough for the alarm hot path (a map lookup and an add).
 */
type Labels = Record<string, string>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram' | 'summary',
  ) {}
  abstract render(): string[];
  header(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
  }
}

export class Counter extends Metric {
  private values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => (k ? `${this.name}{${k}} ${v}` : `${this.name} ${v}`));
  }
}

export class Gauge extends Metric {
  private values = new Map<string, number>();
  private collector?: () => number | Array<[Labels, number]>;
  constructor(name: string, help: string, collector?: () => number | Array<[Labels, number]>) {
    super(name, help, 'gauge');
    this.collector = collector;
  }
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  dec(labels?: Labels, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels?: Labels): number {
    if (this.collector) {
      const c = this.collector();
      if (typeof c === 'number') return c;
      const wanted = labelKey(labels);
      return c.find(([l]) => labelKey(l) === wanted)?.[1] ?? 0;
    }
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    if (this.collector) {
      const c = this.collector();
      if (typeof c === 'number') return [`${this.name} ${c}`];
      return c.map(([l, v]) => {
        const k = labelKey(l);
        return k ? `${this.name}{${k}} ${v}` : `${this.name} ${v}`;
      });
    }
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => (k ? `${this.name}{${k}} ${v}` : `${this.name} ${v}`));
  }
}

export class Histogram extends Metric {
  private series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly bounds: number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { buckets: new Array(this.bounds.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) s.buckets[i]!++;
    s.sum += value;
    s.count++;
  }
  count(labels?: Labels): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  render(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? ',' : '';
      this.bounds.forEach((b, i) => out.push(`${this.name}_bucket{${k}${sep}le="${b}"} ${s.buckets[i]}`));
      out.push(`${this.name}_bucket{${k}${sep}le="+Inf"} ${s.count}`);
      out.push(k ? `${this.name}_sum{${k}} ${s.sum}` : `${this.name}_sum ${s.sum}`);
      out.push(k ? `${this.name}_count{${k}} ${s.count}` : `${this.name}_count ${s.count}`);
    }
    return out;
  }
}

/** What a summary reports: quantiles (φ, value) and the sum and count of the observations behind them. */
export interface SummarySnapshot {
  quantiles: Array<[number, number]>;
  sum: number;
  count: number;
}

/** A Prometheus summary computed elsewhere (e.g. Node's event-loop histogram): read when rendered. */
export class Summary extends Metric {
  constructor(
    name: string,
    help: string,
    private readonly collector: () => SummarySnapshot,
  ) {
    super(name, help, 'summary');
  }
  snapshot(): SummarySnapshot {
    return this.collector();
  }
  render(): string[] {
    const s = this.collector();
    return [...s.quantiles.map(([q, v]) => `${this.name}{quantile="${q}"} ${v}`), `${this.name}_sum ${s.sum}`, `${this.name}_count ${s.count}`];
  }
}

export class MetricsRegistry {
  private metrics = new Map<string, Metric>();
  private register<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as M;
    this.metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }
  gauge(name: string, help: string, collector?: () => number | Array<[Labels, number]>): Gauge {
    return this.register(new Gauge(name, help, collector));
  }
  histogram(name: string, help: string, bounds: number[]): Histogram {
    return this.register(new Histogram(name, help, bounds));
  }
  summary(name: string, help: string, collector: () => SummarySnapshot): Summary {
    return this.register(new Summary(name, help, collector));
  }
  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) lines.push(...m.header(), ...m.render());
    return lines.join('\n') + '\n';
  }
}
