/** @module A tiny Prometheus registry: counters and gauges that any part registers, served at GET /1.0/metrics. */

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: 'counter' | 'gauge';
  readonly values: Map<string, { labels: Labels; value: number }>;
  collect?: () => Array<{ labels: Labels; value: number }>;
}

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, kind: Family['kind']): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { name, help, kind, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /** A counter; returns an incrementer bound to the labels. */
  counter(name: string, help: string, labels: Labels = {}): (by?: number) => void {
    const f = this.family(name, help, 'counter');
    const k = key(labels);
    const slot = f.values.get(k) ?? { labels, value: 0 };
    f.values.set(k, slot);
    return (by = 1) => {
      slot.value += by;
    };
  }

  /** A gauge computed when scraped (lag, queue sizes, connections). */
  gauge(name: string, help: string, collect: () => Array<{ labels: Labels; value: number }> | number): void {
    const f = this.family(name, help, 'gauge');
    f.collect = () => {
      const v = collect();
      return typeof v === 'number' ? [{ labels: {}, value: v }] : v;
    };
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.kind}`);
      const samples = f.collect ? f.collect() : [...f.values.values()];
      for (const s of samples) {
        const l = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',');
        out.push(`${f.name}${l ? `{${l}}` : ''} ${s.value}`);
      }
    }
    return `${out.join('\n')}\n`;
  }
}
