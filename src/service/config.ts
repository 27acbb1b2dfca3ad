/** @module Server configuration (LXD's `GET/PUT/PATCH /1.0` `config`): typed keys validated with zod, kept in the store. */
import type { z } from 'zod';
import { HeraldError } from '../core/errors.js';
import type { EventStore } from '../core/store.js';
import type { Logger } from './log.js';

/** Where each key lives in the store's state table. */
export const CONFIG_STATE_PREFIX = 'config.';

/** One configuration key (or a family of keys matched by a pattern, such as `loki.<target>.api.url`). */
export interface ConfigKeyDef {
  /** an exact key, or a matcher (a RegExp will do) for a family of keys */
  readonly key: string | { readonly test: (key: string) => boolean };
  /** validates the value as given and returns its normal form */
  readonly schema: z.ZodType<string, string>;
  readonly description: string;
  /** what applies while the key is unset (shown by `herald config` help, never stored) */
  readonly defaultValue?: string;
  /** values that must not be echoed back in error messages */
  readonly secret?: boolean;
}

/** A key that is unknown or whose value is invalid: a 400 naming the key and the reason. */
export class ConfigError extends HeraldError {
  constructor(
    readonly key: string,
    readonly reason: string,
    value?: string,
  ) {
    super(
      'HERALD_ERR_BAD_REQUEST',
      value === undefined ? `Cannot set "${key}": ${reason}` : `Cannot set "${key}" to "${value}": ${reason}`,
      { key, reason },
    );
  }
}

export type ConfigListener = (changed: readonly string[]) => void | Promise<void>;

/** Values are compared, stored and returned as strings, as LXD's server config does. */
export class ConfigService {
  private readonly defs: ConfigKeyDef[] = [];
  private readonly listeners = new Set<ConfigListener>();
  /** serialises writers so that listeners always see the changes in the order they were made */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: EventStore,
    private readonly values: Map<string, string>,
    private readonly log?: Logger,
  ) {}

  /** Load every stored key. Keys no definition knows any more are kept (a later version may know them again). */
  static async open(store: EventStore, log?: Logger): Promise<ConfigService> {
    const values = new Map<string, string>();
    for (const [k, v] of await store.listState(CONFIG_STATE_PREFIX)) values.set(k.slice(CONFIG_STATE_PREFIX.length), v);
    return new ConfigService(store, values, log);
  }

  /** Register keys. A part of herald defines the keys it reads before it reads them. */
  define(defs: readonly ConfigKeyDef[]): void {
    this.defs.push(...defs);
  }

  definition(key: string): ConfigKeyDef | undefined {
    return this.defs.find((d) => (typeof d.key === 'string' ? d.key === key : d.key.test(key)));
  }

  definitions(): readonly ConfigKeyDef[] {
    return this.defs;
  }

  /** The value set for a key, undefined when unset. */
  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** The value set for a key, else its definition's default. */
  effective(key: string): string | undefined {
    return this.values.get(key) ?? this.definition(key)?.defaultValue;
  }

  /** Every set key, sorted: what `GET /1.0` shows as `config`. */
  all(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of [...this.values.keys()].sort()) out[k] = this.values.get(k) as string;
    return out;
  }

  /** Normal form of a value, or a ConfigError naming the key and why. */
  validate(key: string, value: string): string {
    const def = this.definition(key);
    if (!def) throw new ConfigError(key, 'unknown key');
    const r = def.schema.safeParse(value);
    if (!r.success)
      throw new ConfigError(key, r.error.issues[0]?.message ?? 'invalid value', def.secret ? undefined : value);
    return r.data;
  }

  /** LXD's PATCH: merge; a key given as "" is unset. All keys are validated before any is written. */
  patch(changes: Readonly<Record<string, string>>): Promise<string[]> {
    return this.write(() => {
      const next = new Map(this.values);
      for (const [k, v] of Object.entries(changes)) {
        if (v === '') next.delete(k);
        else next.set(k, this.validate(k, v));
      }
      return next;
    });
  }

  /** LXD's PUT: the given keys become the whole configuration. */
  replace(config: Readonly<Record<string, string>>): Promise<string[]> {
    return this.write(() => {
      const next = new Map<string, string>();
      for (const [k, v] of Object.entries(config)) if (v !== '') next.set(k, this.validate(k, v));
      return next;
    });
  }

  set(key: string, value: string): Promise<string[]> {
    return this.patch({ [key]: value });
  }

  unset(key: string): Promise<string[]> {
    return this.patch({ [key]: '' });
  }

  /** Called after each write that changed something, with the changed keys; awaited before the write resolves. */
  onChange(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private write(compute: () => Map<string, string>): Promise<string[]> {
    const run = async (): Promise<string[]> => {
      const next = compute();
      const changed: string[] = [];
      for (const k of new Set([...this.values.keys(), ...next.keys()])) {
        if (this.values.get(k) !== next.get(k)) changed.push(k);
      }
      changed.sort();
      for (const k of changed) {
        await this.store.setState(CONFIG_STATE_PREFIX + k, next.get(k));
        const v = next.get(k);
        if (v === undefined) this.values.delete(k);
        else this.values.set(k, v);
      }
      if (changed.length > 0) {
        for (const l of this.listeners) {
          try {
            await l(changed);
          } catch (err) {
            // The new configuration is stored either way; the part that failed to apply it reports why.
            this.log?.error('Applying configuration failed', { keys: changed.join(','), err: (err as Error).message });
          }
        }
      }
      return changed;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }
}
