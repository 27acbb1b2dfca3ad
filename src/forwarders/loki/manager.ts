/**
 * @module The Loki targets of a server: one forwarder per enabled target, rebuilt when its `loki.*` keys change,
 * removed (with LXD's `sys_monitor_disabled` security event) when its URL is unset; status and Prometheus metrics.
 */
import { hostname as osHostname } from 'node:os';
import type { Fabric } from '../../core/fabric.js';
import type { EventStore } from '../../core/store.js';
import type { ConfigService } from '../../service/config.js';
import type { Logger } from '../../service/log.js';
import type { Metrics } from '../../service/metrics.js';
import type { Publisher } from '../../service/publisher.js';
import { LokiClient } from './client.js';
import { defineLokiConfig, type LokiTargetSettings, lokiTargets } from './config.js';
import { formatOptions } from './format.js';
import { type ForwarderCounters, type ForwarderStatus, LokiForwarder, type RejectedEntry } from './forwarder.js';

export const FORWARDER_STATE_PREFIX = 'forwarder.loki.';
/** How long a removed target may take to deliver the `sys_monitor_disabled` event before it stops anyway. */
const REMOVAL_DRAIN_MS = 2000;
/** How long a healthy target may take on shutdown to deliver what is stored (such as `sys_shutdown`). */
const CLOSE_DRAIN_MS = 1000;

export interface LokiManagerDeps {
  readonly store: EventStore;
  readonly fabric: Fabric;
  readonly publisher: Publisher;
  readonly config: ConfigService;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** this member's name (`none` standalone) */
  readonly location: string;
  readonly hostname?: string;
  /** the HTTPS address the server listens on (LXD's `core.https_address`), for the OWASP `host_ip` and `port` */
  readonly httpsAddress?: () => string | undefined;
}

interface Running {
  readonly settings: LokiTargetSettings;
  readonly fingerprint: string;
  readonly forwarder: LokiForwarder;
}

export class LokiManager {
  private readonly running = new Map<string, Running>();
  private readonly draining = new Map<string, Promise<void>>();
  private readonly counters = new Map<string, ForwarderCounters>();
  private queue: Promise<void> = Promise.resolve();
  private unlisten: (() => void) | undefined;
  private closed = false;
  private readonly hostname: string;

  constructor(private readonly deps: LokiManagerDeps) {
    this.hostname = deps.hostname ?? osHostname();
    defineLokiConfig(deps.config);
    this.registerMetrics();
  }

  /** Start every configured target and follow configuration changes. */
  async start(): Promise<void> {
    this.unlisten = this.deps.config.onChange((keys) => {
      if (keys.some((k) => k.startsWith('loki.') || k === 'core.https_address')) return this.reconcile();
    });
    await this.reconcile();
  }

  forwarder(name: string): LokiForwarder | undefined {
    return this.running.get(name)?.forwarder;
  }

  names(): string[] {
    return [...this.running.keys()];
  }

  async status(): Promise<ForwarderStatus[]> {
    return Promise.all([...this.running.values()].map((r) => r.forwarder.status()));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unlisten?.();
    await this.queue;
    // As LXD flushes its last batch on stop; what does not make it in time is sent after the next start.
    const head = await this.deps.store.headId();
    await Promise.all([...this.running.values()].map((r) => r.forwarder.drainAndStop(head, CLOSE_DRAIN_MS)));
    this.running.clear();
    await Promise.all(this.draining.values());
  }

  /** Bring the running forwarders in line with the configuration; serialised, so changes apply in order. */
  reconcile(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      const wanted = lokiTargets(this.deps.config);
      for (const [name, r] of [...this.running]) {
        if (!wanted.has(name)) await this.remove(name, r);
      }
      for (const [name, settings] of wanted) {
        const fingerprint = JSON.stringify([settings, this.httpsAddress() ?? '']);
        const current = this.running.get(name);
        if (current?.fingerprint === fingerprint) continue;
        if (current) {
          // The cursor is kept: a changed target carries on where the old settings stopped.
          await current.forwarder.stop();
          this.running.delete(name);
        }
        await this.draining.get(name);
        const forwarder = this.create(settings);
        await forwarder.start();
        this.running.set(name, { settings, fingerprint, forwarder });
        this.deps.log.info(current ? 'Loki target reconfigured' : 'Loki target enabled', {
          target: name,
          url: settings.url,
          types: settings.types.join(','),
        });
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch((err: Error) =>
      this.deps.log.error('Applying Loki configuration failed', { err: err.message }),
    );
    return p;
  }

  private async remove(name: string, r: Running): Promise<void> {
    this.running.delete(name);
    let id = 0;
    try {
      // LXD emits this when Loki is unset while a client exists; the target gets a moment to deliver it too.
      const [stored] = await this.deps.publisher.publishRaw({
        type: 'security',
        metadata: { name: 'sys_monitor_disabled', level: 'warning', description: 'Loki monitoring disabled' },
      });
      id = stored?.id ?? 0;
    } catch (err) {
      this.deps.log.error('Publishing sys_monitor_disabled failed', { err: (err as Error).message });
    }
    this.deps.log.warn('Loki target disabled', { target: name });
    const done = r.forwarder
      .drainAndStop(id, REMOVAL_DRAIN_MS, true)
      .then(() => this.deps.store.setState(FORWARDER_STATE_PREFIX + name, undefined))
      .catch((err: Error) => this.deps.log.error('Stopping a Loki target failed', { target: name, err: err.message }))
      .finally(() => this.draining.delete(name));
    this.draining.set(name, done);
  }

  private create(s: LokiTargetSettings): LokiForwarder {
    const client = new LokiClient({
      url: s.url,
      username: s.username,
      password: s.password,
      bearerToken: s.bearerToken,
      tenant: s.tenant,
      caCert: s.caCert,
      timeoutMs: s.timeoutMs,
    });
    const format = formatOptions({
      types: s.types,
      loglevel: s.loglevel,
      labels: s.labels,
      instance: s.instance,
      hostname: this.hostname,
      location: this.deps.location,
      httpsAddress: this.httpsAddress(),
    });
    return new LokiForwarder(
      {
        name: s.name,
        url: s.url,
        types: s.types,
        format,
        client,
        stateKey: FORWARDER_STATE_PREFIX + s.name,
        batchMaxBytes: s.batchMaxBytes,
        batchBacklogMaxBytes: s.batchBacklogMaxBytes,
        batchMaxWaitMs: s.batchMaxWaitMs,
        minBackoffMs: s.minBackoffMs,
        maxBackoffMs: s.maxBackoffMs,
      },
      {
        store: this.deps.store,
        fabric: this.deps.fabric,
        log: this.deps.log,
        counters: this.countersFor(s.name),
        onRejected: (r) => this.recordRejection(r),
      },
    );
  }

  /** A skipped entry becomes a `logging` event, so that the gap is in the audit trail and in Loki itself. */
  private recordRejection(r: RejectedEntry): Promise<unknown> {
    return this.deps.publisher.publishRaw({
      type: 'logging',
      metadata: {
        message: 'Loki rejected an event; it was skipped',
        level: 'error',
        context: { target: r.target, event_id: String(r.eventId), status: String(r.status), reason: r.reason },
      },
    });
  }

  private countersFor(target: string): ForwarderCounters {
    let c = this.counters.get(target);
    if (!c) {
      const m = this.deps.metrics;
      const labels = { forwarder: 'loki', target };
      c = {
        sent: m.counter('herald_forwarder_entries_sent_total', 'Entries the target acknowledged', labels),
        rejected: m.counter('herald_forwarder_entries_rejected_total', 'Entries the target rejected (skipped)', labels),
        retries: m.counter('herald_forwarder_retries_total', 'Pushes that failed and were retried', labels),
        batches: m.counter('herald_forwarder_batches_total', 'Pushes the target acknowledged', labels),
      };
      this.counters.set(target, c);
    }
    return c;
  }

  private httpsAddress(): string | undefined {
    return this.deps.httpsAddress?.() ?? this.deps.config.get('core.https_address');
  }

  private registerMetrics(): void {
    const m = this.deps.metrics;
    const each = (pick: (g: ReturnType<LokiForwarder['gauges']>) => number) => () =>
      [...this.running.values()].map((r) => ({
        labels: { forwarder: 'loki', target: r.settings.name },
        value: pick(r.forwarder.gauges()),
      }));
    m.gauge(
      'herald_forwarder_cursor',
      'Highest event id delivered (or skipped) to the target',
      each((g) => g.cursor),
    );
    m.gauge(
      'herald_forwarder_lag_events',
      'Events stored after the cursor',
      each((g) => g.lagEvents),
    );
    m.gauge(
      'herald_forwarder_lag_seconds',
      'Age of the oldest event not yet delivered',
      each((g) => g.lagSeconds),
    );
    m.gauge(
      'herald_forwarder_last_success_timestamp_seconds',
      'Time of the last acknowledged push',
      each((g) => g.lastSuccess),
    );
    m.gauge(
      'herald_forwarder_up',
      '1 when the last push succeeded, 0 while retrying',
      each((g) => g.up),
    );
  }
}
