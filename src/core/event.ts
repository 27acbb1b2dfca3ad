/** @module The event model: LXD's envelope and metadata shapes plus herald's `maas` type, as zod schemas. */
import { z } from 'zod';
import { LOGRUS_LEVELS } from './levels.js';

export const LXD_EVENT_TYPES = ['logging', 'operation', 'lifecycle', 'ovn', 'security'] as const;
export const EVENT_TYPES = [...LXD_EVENT_TYPES, 'maas'] as const;
export type LxdEventType = (typeof LXD_EVENT_TYPES)[number];
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

const str = z.string();
const stringMap = z.record(z.string(), z.string());

/** `EventLifecycleRequestor` / `OperationRequestor`: none of the keys is omitempty in LXD. */
export const requestorSchema = z.strictObject({
  username: str.default(''),
  protocol: str.default(''),
  address: str.default(''),
});

export const securityRequestorSchema = z.strictObject({
  username: str.default(''),
  protocol: str.default(''),
  address: str.default(''),
  user_agent: str.default(''),
});

/** Types `logging` and `ovn` (`EventLogging`). A null context is what Go sends for a nil map; it becomes {}. */
export const loggingSchema = z.strictObject({
  message: str,
  level: z.enum(LOGRUS_LEVELS),
  context: stringMap.nullish().transform((v) => v ?? {}),
});

export const lifecycleSchema = z.strictObject({
  action: str,
  source: str,
  context: z.record(z.string(), z.unknown()).optional(),
  requestor: requestorSchema.optional(),
  name: str.optional(),
  project: str.optional(),
});

export const OPERATION_CLASSES = ['task', 'websocket', 'token', 'durable'] as const;

export const operationSchema = z.strictObject({
  id: str.min(1),
  class: z.enum(OPERATION_CLASSES),
  description: str.default(''),
  created_at: str,
  updated_at: str,
  status: str,
  status_code: z.int(),
  resources: z
    .record(z.string(), z.array(z.string()))
    .nullish()
    .transform((v) => v ?? null),
  metadata: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((v) => v ?? null),
  may_cancel: z.boolean().default(false),
  err: str.default(''),
  err_code: z.int().optional(),
  child_count: z.int().optional(),
  location: str.default(''),
  requestor: requestorSchema.optional(),
});

export const securitySchema = z.strictObject({
  name: str.min(1),
  level: z.enum(['info', 'warning']).optional(),
  description: str.default(''),
  request_path: str.optional(),
  project: str.optional(),
  request_method: str.optional(),
  requestor: securityRequestorSchema.optional(),
});

export const MAAS_LEVEL_NAMES = ['AUDIT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export const MAAS_ENDPOINTS = { API: 0, UI: 1, CLI: 2 } as const;

export const maasSchema = z.strictObject({
  event_type: str.min(1),
  level: z.enum(MAAS_LEVEL_NAMES).optional(),
  node: str.nullish().transform((v) => v ?? null),
  hostname: str.default(''),
  username: str.default(''),
  description: str.default(''),
  action: str.default(''),
  ip_address: str.nullish().transform((v) => v ?? null),
  user_agent: str.default(''),
  endpoint: z.int().min(0).max(2).default(0),
  zone: str.optional(),
  pool: str.optional(),
  domain: str.optional(),
  agent_name: str.optional(),
  mac_addresses: z.array(str).optional(),
});

export type LoggingMetadata = z.output<typeof loggingSchema>;
export type LifecycleMetadata = z.output<typeof lifecycleSchema>;
export type OperationMetadata = z.output<typeof operationSchema>;
export type SecurityMetadata = z.output<typeof securitySchema> & { level: 'info' | 'warning' };
export type MaasMetadata = z.output<typeof maasSchema> & { level: (typeof MAAS_LEVEL_NAMES)[number] };

export const METADATA_SCHEMAS = {
  logging: loggingSchema,
  ovn: loggingSchema,
  lifecycle: lifecycleSchema,
  operation: operationSchema,
  security: securitySchema,
  maas: maasSchema,
} as const;

export interface MetadataByType {
  logging: LoggingMetadata;
  ovn: LoggingMetadata;
  lifecycle: LifecycleMetadata;
  operation: OperationMetadata;
  security: SecurityMetadata;
  maas: MaasMetadata;
}

/** The LXD envelope (`api.Event`), with metadata typed by `type`. */
export type EventEnvelope = {
  [T in EventType]: {
    type: T;
    timestamp: string;
    metadata: MetadataByType[T];
    location: string;
    project: string;
  };
}[EventType];

/** An envelope as the store returned it: with its id. */
export type HeraldEvent = EventEnvelope & { id: number };

/** The raw envelope accepted on publish: only `type` and `metadata` are required. */
export const envelopeInputSchema = z.strictObject({
  type: str,
  timestamp: str.optional(),
  metadata: z.unknown(),
  location: str.optional(),
  project: str.optional(),
  id: z.unknown().optional(),
});

/** Largest accepted event, measured on its JSON encoding. */
export const MAX_EVENT_BYTES = 64 * 1024;
