/**
 * @module Who may see and publish what: LXD's visibility rules (spec lxd-events.md §4.2) as one pure function of
 * (identity, event), applied by the live stream, history, resume replay, the MAAS view and every export.
 */
import { EVENT_TYPES, type EventType, LXD_EVENT_TYPES } from './event.js';
import type { EventFields } from './fields.js';

export const ENTITLEMENTS = ['can_view_events', 'can_view_operations', 'can_publish'] as const;
export type Entitlement = (typeof ENTITLEMENTS)[number];

/** What a trusted identity may do: admin, or restricted to projects with entitlements (server-level ones apart). */
export interface Grant {
  readonly restricted: boolean;
  /** projects a restricted identity may act in */
  readonly projects: readonly string[];
  /** entitlements held on each of `projects` */
  readonly entitlements: readonly Entitlement[];
  /** entitlements held on the server (`can_view_events` here unlocks logging, ovn and security events) */
  readonly server_entitlements: readonly Entitlement[];
}

export const ADMIN_GRANT: Grant = Object.freeze({
  restricted: false,
  projects: [],
  entitlements: [],
  server_entitlements: [],
});

/** What a restricted identity holds on each listed project unless told otherwise: all it held in LXD 5.0.2. */
export const DEFAULT_PROJECT_ENTITLEMENTS: readonly Entitlement[] = ENTITLEMENTS;

export function isEntitlement(value: string): value is Entitlement {
  return (ENTITLEMENTS as readonly string[]).includes(value);
}

/** Why a caller is untrusted: no credentials, a certificate not in the trust store, or a bad bearer token. */
export type UntrustedReason = 'anonymous' | 'certificate' | 'token';

export type Identity =
  | {
      readonly kind: 'admin';
      /** username as LXD records it in requestors: fingerprint, token subject, or the unix user */
      readonly username: string;
      readonly protocol: string;
      readonly address: string;
    }
  | {
      readonly kind: 'restricted';
      readonly username: string;
      readonly protocol: string;
      readonly address: string;
      /** server-level entitlements */
      readonly server: readonly Entitlement[];
      /** per-project entitlements */
      readonly projects: Readonly<Record<string, readonly Entitlement[]>>;
    }
  | {
      /** May only reach GET /, GET /1.0 and POST /1.0/certificates; sees and publishes nothing. */
      readonly kind: 'untrusted';
      /** the presented certificate's fingerprint or the claimed token id, '' when none */
      readonly username: string;
      readonly protocol: string;
      readonly address: string;
      readonly reason: UntrustedReason;
      /** why a presented credential was refused (for the security event's description, never the secret) */
      readonly detail?: string;
    };

export type TrustedIdentity = Exclude<Identity, { kind: 'untrusted' }>;

export function isTrusted(id: Identity): id is TrustedIdentity {
  return id.kind !== 'untrusted';
}

/** The identity an authenticated credential stands for. */
export function identityFromGrant(grant: Grant, username: string, protocol: string, address: string): TrustedIdentity {
  if (!grant.restricted) return { kind: 'admin', username, protocol, address };
  const projects: Record<string, readonly Entitlement[]> = {};
  for (const p of grant.projects) projects[p] = grant.entitlements;
  return { kind: 'restricted', username, protocol, address, server: grant.server_entitlements, projects };
}

/** One key per identity (for per-identity limits such as listeners): same credential, same key, any connection. */
export function identityKey(id: Identity): string {
  return id.kind === 'untrusted' ? `untrusted:${id.address}` : `${id.protocol}:${id.username}`;
}

export const LOCAL_ADMIN: Identity = { kind: 'admin', username: 'root', protocol: 'unix', address: '@' };

export function hasServer(id: Identity, e: Entitlement): boolean {
  if (id.kind === 'untrusted') return false;
  return id.kind === 'admin' || id.server.includes(e);
}

export function hasProject(id: Identity, project: string, e: Entitlement): boolean {
  if (id.kind === 'untrusted') return false;
  return id.kind === 'admin' || id.server.includes(e) || (id.projects[project]?.includes(e) ?? false);
}

/** Types whose events need server-level can_view_events whatever their project. */
const PRIVILEGED: readonly EventType[] = ['logging', 'ovn', 'security'];

/** May this identity see this event? (LXD §4.2; `maas` events follow the lifecycle rule, being audit records.) */
export function canView(id: Identity, f: EventFields): boolean {
  if (id.kind === 'admin') return true;
  if (id.kind === 'untrusted') return false;
  if (PRIVILEGED.includes(f.type)) return hasServer(id, 'can_view_events');
  const entitlement: Entitlement = f.type === 'operation' ? 'can_view_operations' : 'can_view_events';
  if (f.project === '') return hasServer(id, entitlement);
  if (hasProject(id, f.project, entitlement)) return true;
  // The requestor of an action always sees the events about it.
  return f.username !== '' && f.username === id.username && f.protocol === id.protocol;
}

/** The types an identity may ask for at all (asking for another is 403 before the upgrade). */
export function visibleTypes(id: Identity, candidates: readonly EventType[] = EVENT_TYPES): EventType[] {
  if (id.kind === 'untrusted') return [];
  return candidates.filter((t) => !PRIVILEGED.includes(t) || hasServer(id, 'can_view_events'));
}

/** LXD's default when `type` is absent: all five LXD types the caller may see (non-admins: operation, lifecycle). */
export function defaultTypes(id: Identity): EventType[] {
  return visibleTypes(id, LXD_EVENT_TYPES);
}

/** Publishing an event needs `can_publish` on its project (server-level for events of no project). */
export function canPublish(id: Identity, project: string): boolean {
  return project === '' ? hasServer(id, 'can_publish') : hasProject(id, project, 'can_publish');
}
