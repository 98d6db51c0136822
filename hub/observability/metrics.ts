/**
 * The hub's metrics on prom-client: one prom-client Registry per MetricsRegistry (several hubs may
 * run in one process, e.g. in tests: the library's global default register is never used), plus the
 * standard `process_*` and `nodejs_*` families (shared, see processRegistry below). Its output
 * passes `promtool check metrics` (test/integration/hub/metrics-promtool.test.ts).
 *
 * Call sites keep a small API: `metrics.counter(name, help)` etc. return the same metric for the
 * same name, labels are given at inc()/set()/observe() time and declared to prom-client on first use
 * (widened when a later call brings a label name not seen before: no series is lost), values can
 * be read back synchronously (`get`, `count`) for tests and health checks, and recording never
 * throws (a metric must not break the alarm path): invalid values are dropped.
 */
import { collectDefaultMetrics, Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry, Summary as PromSummary } from 'prom-client';

export type Labels = Record<string, string>;

/** A series' key in the read-back maps: its labels sorted by name. */
function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort();
  let k = '';
  for (const name of keys) k += `${name}=${JSON.stringify(String(labels[name]))},`;
  return k;
}

/**
 * A copy of `labels` with its names in sorted order, as the text shows them: prom-client prints a
 * series' labels in the order of the object that created it, and keeps that object (a caller may
 * reuse its own). Only new series need it.
 */
function sortedLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const k of Object.keys(labels).sort()) out[k] = String(labels[k]);
  return out;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The label names a prom-client metric accepts (prom-client keeps them as plain fields). */
interface Declared {
  labelNames: string[];
  sortedLabelNames: string[];
}

/**
 * Declares to `metric` the label names of `labels` it does not know yet. prom-client only accepts
 * label names given at construction; ours come with the first inc()/set()/observe(). Widening keeps
 * every series: prom-client keys a series by its present labels in sorted label-name order, so
 * adding a name leaves existing keys unchanged (checked by test/unit/core/metrics.unit.test.ts).
 * Returns false when a name is not a valid Prometheus label name (the value is then dropped).
 * `dropPlaceholder` removes the zero series prom-client keeps for a metric without labels.
 */
function declare(metric: object, labels: Labels, dropPlaceholder: () => void): boolean {
  const d = metric as Declared;
  const added = Object.keys(labels).filter((name) => !d.labelNames.includes(name));
  if (added.length === 0) return true;
  if (!added.every((name) => LABEL_NAME.test(name) && name !== 'le' && name !== 'quantile')) return false;
  if (d.labelNames.length === 0) dropPlaceholder();
  d.labelNames = [...d.labelNames, ...added];
  d.sortedLabelNames = [...d.labelNames].sort();
  return true;
}

export class Counter {
  private readonly values = new Map<string, number>();
  private unlabelledUsed = false;
  constructor(readonly prom: PromCounter) {}
  inc(labels?: Labels, by = 1): void {
    if (!Number.isFinite(by) || by < 0) return;
    const k = labelKey(labels);
    try {
      if (k !== '') {
        if (!declare(this.prom, labels!, () => this.dropPlaceholder())) return;
        this.prom.inc(this.values.has(k) ? labels! : sortedLabels(labels!), by);
      } else {
        this.unlabelledUsed = true;
        this.prom.inc(by);
      }
    } catch {
      return;
    }
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  private dropPlaceholder(): void {
    if (!this.unlabelledUsed) this.prom.remove({});
  }
}

type GaugeCollector = () => number | Array<[Labels, number]>;

export class Gauge {
  private readonly values = new Map<string, number>();
  private unlabelledUsed = false;
  private readonly collector?: GaugeCollector;
  readonly prom: PromGauge;
  constructor(name: string, help: string, registry: Registry, collector?: GaugeCollector) {
    this.collector = collector;
    this.prom = new PromGauge({
      name,
      help,
      registers: [registry],
      ...(collector ? { collect: () => this.collect(collector) } : {}),
    });
  }
  set(value: number, labels?: Labels): void {
    if (typeof value !== 'number') return;
    const k = labelKey(labels);
    // prom-client's set() replaces the series with the labels given: always in sorted order.
    if (!this.record(k, labels, true, (l) => (l ? this.prom.set(l, value) : this.prom.set(value)))) return;
    this.values.set(k, value);
  }
  inc(labels?: Labels, by = 1): void {
    if (!Number.isFinite(by)) return;
    const k = labelKey(labels);
    if (!this.record(k, labels, false, (l) => (l ? this.prom.inc(l, by) : this.prom.inc(by)))) return;
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
  private record(k: string, labels: Labels | undefined, sort: boolean, write: (labels: Labels | null) => void): boolean {
    try {
      if (k !== '') {
        if (!declare(this.prom, labels!, () => this.dropPlaceholder())) return false;
        write(sort || !this.values.has(k) ? sortedLabels(labels!) : labels!);
      } else {
        this.unlabelledUsed = true;
        write(null);
      }
      return true;
    } catch {
      return false;
    }
  }
  private dropPlaceholder(): void {
    if (!this.unlabelledUsed) this.prom.remove({});
  }
  /** prom-client's collect(): the gauge shows exactly what the collector returns now. */
  private collect(collector: GaugeCollector): void {
    const c = collector();
    if (typeof c === 'number') {
      this.prom.set(c);
      return;
    }
    this.prom.reset();
    // A list without unlabelled entries (e.g. no modem yet) shows no series, not a 0.
    this.prom.remove({});
    for (const [labels, v] of c) {
      if (typeof v !== 'number') continue;
      if (labelKey(labels) === '') this.prom.set(v);
      else if (declare(this.prom, labels, () => {})) this.prom.set(sortedLabels(labels), v);
    }
  }
}

export class Histogram {
  private readonly counts = new Map<string, number>();
  private unlabelledUsed = false;
  readonly prom: PromHistogram;
  constructor(
    name: string,
    help: string,
    registry: Registry,
    readonly bounds: number[],
  ) {
    this.prom = new PromHistogram({ name, help, buckets: bounds, registers: [registry] });
  }
  observe(value: number, labels?: Labels): void {
    if (!Number.isFinite(value)) return;
    const k = labelKey(labels);
    try {
      if (k !== '') {
        if (!declare(this.prom, labels!, () => this.dropPlaceholder())) return;
        this.prom.observe(this.counts.has(k) ? labels! : sortedLabels(labels!), value);
      } else {
        this.unlabelledUsed = true;
        this.prom.observe(value);
      }
    } catch {
      return;
    }
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  count(labels?: Labels): number {
    return this.counts.get(labelKey(labels)) ?? 0;
  }
  private dropPlaceholder(): void {
    if (!this.unlabelledUsed) this.prom.remove({});
  }
}

/**
 * A prom-client summary without labels whose quantiles cover the last complete window of
 * observations (roll() ends a window; the owner rolls it, e.g. every minute) while `_sum` and
 * `_count` count every observation since the start, as Prometheus expects of a summary (so
 * rate(_sum) / rate(_count) is the mean over any range). Before the first roll the quantiles are 0.
 * Each window's quantiles come from its own prom-client Summary (t-digest, fed as the observations
 * come: nothing is recomputed on the main thread when a window ends).
 */
export class Summary {
  private current: PromSummary;
  private last: PromSummary | null = null;
  private sum = 0;
  private n = 0;
  readonly prom: PromSummary;
  constructor(
    private readonly name: string,
    help: string,
    registry: Registry,
    readonly percentiles: number[],
  ) {
    this.current = this.window();
    const self = this;
    // The family as exported: quantiles of the last window, totals of all windows.
    class LastWindowSummary extends PromSummary {
      override async get() {
        const out = await super.get();
        const quantiles = self.last ? (await self.last.get()).values.filter((v) => v.metricName === undefined) : [];
        out.values = [
          ...(self.last ? quantiles : self.percentiles.map((quantile) => ({ labels: { quantile }, value: 0 }))),
          { metricName: `${name}_sum`, labels: {}, value: self.sum },
          { metricName: `${name}_count`, labels: {}, value: self.n },
        ];
        return out;
      }
    }
    this.prom = new LastWindowSummary({ name, help, percentiles: [], registers: [registry] });
  }
  private window(): PromSummary {
    return new PromSummary({ name: this.name, help: this.name, percentiles: this.percentiles, registers: [] });
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.current.observe(value);
    this.sum += value;
    this.n++;
  }
  /** Ends the current window: its quantiles are reported until the next roll. */
  roll(): void {
    this.last = this.current;
    this.current = this.window();
  }
  count(): number {
    return this.n;
  }
}

type Kind = Counter | Gauge | Histogram | Summary;

/**
 * `process_*` and `nodejs_*` (prom-client's default metrics) describe the process, not a hub, and
 * prom-client cannot stop them (they keep an event-loop delay monitor and a GC observer running):
 * collected once per process into this registry (not prom-client's global one) and shown by
 * every hub's /metrics, so that starting and stopping hubs does not pile them up.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // Gauges named like counters fail `promtool check metrics`; each is the sum of the family
    // without `_total` (e.g. sum(nodejs_active_handles) by type).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      processRegistry.removeSingleMetric(name);
    }
  }
  return processRegistry;
}

export class MetricsRegistry {
  /** This hub's own families (prom-client). */
  readonly registry = new Registry();
  private readonly metrics = new Map<string, Kind>();
  private readonly withProcess: boolean;

  /**
   * `processMetrics: false` leaves out the process_* and nodejs_* families. They are set up at the
   * first render() in the process (a process that never shows its metrics, e.g. the bridge, runs
   * none of their monitors).
   */
  constructor(o: { processMetrics?: boolean } = {}) {
    this.withProcess = o.processMetrics !== false;
  }

  private register<M extends Kind>(name: string, type: abstract new (...args: never[]) => M, create: () => M): M {
    const existing = this.metrics.get(name);
    if (existing) {
      if (!(existing instanceof type)) throw new TypeError(`metric ${name} is already registered as another type`);
      return existing;
    }
    const m = create();
    this.metrics.set(name, m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.register(name, Counter, () => new Counter(new PromCounter({ name, help: help || name, registers: [this.registry] })));
  }
  gauge(name: string, help: string, collector?: GaugeCollector): Gauge {
    return this.register(name, Gauge, () => new Gauge(name, help || name, this.registry, collector));
  }
  histogram(name: string, help: string, bounds: number[]): Histogram {
    return this.register(name, Histogram, () => new Histogram(name, help || name, this.registry, bounds));
  }
  summary(name: string, help: string, percentiles: number[]): Summary {
    return this.register(name, Summary, () => new Summary(name, help || name, this.registry, percentiles));
  }

  /** The Content-Type of render()'s text (Prometheus text exposition format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text exposition format 0.0.4: the process families, then the hub's. */
  async render(): Promise<string> {
    const [proc, own] = await Promise.all([this.withProcess ? processMetrics().metrics() : '', this.registry.metrics()]);
    return proc + own;
  }
}
