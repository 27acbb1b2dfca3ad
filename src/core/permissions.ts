/**
 * @module Who may see and publish what: LXD's visibility rules (spec lxd-events.md §4.2) as one pure function of
 * (identity, event), applied by the live stream, history, resume replay, the MAAS view and every export.
 */
import { EVENT_TYPES, type EventType, LXD_EVENT_TYPES } from './event.js';
import type { EventFields } from './fields.js';

export const ENTITLEMENTS = ['can_view_events', 'can_view_operations', 'can_publish'] as const;
export type Entitlement = (typeof ENTITLEMENTS)[number];

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
    };

export const LOCAL_ADMIN: Identity = { kind: 'admin', username: 'root', protocol: 'unix', address: '@' };

export function hasServer(id: Identity, e: Entitlement): boolean {
  return id.kind === 'admin' || id.server.includes(e);
}

export function hasProject(id: Identity, project: string, e: Entitlement): boolean {
  return id.kind === 'admin' || id.server.includes(e) || (id.projects[project]?.includes(e) ?? false);
}

/** Types whose events need server-level can_view_events whatever their project. */
const PRIVILEGED: readonly EventType[] = ['logging', 'ovn', 'security'];

/** May this identity see this event? (LXD §4.2; `maas` events follow the lifecycle rule, being audit records.) */
export function canView(id: Identity, f: EventFields): boolean {
  if (id.kind === 'admin') return true;
  if (PRIVILEGED.includes(f.type)) return hasServer(id, 'can_view_events');
  const entitlement: Entitlement = f.type === 'operation' ? 'can_view_operations' : 'can_view_events';
  if (f.project === '') return hasServer(id, entitlement);
  if (hasProject(id, f.project, entitlement)) return true;
  // The requestor of an action always sees the events about it.
  return f.username !== '' && f.username === id.username && f.protocol === id.protocol;
}

/** The types an identity may ask for at all (asking for another is 403 before the upgrade). */
export function visibleTypes(id: Identity, candidates: readonly EventType[] = EVENT_TYPES): EventType[] {
  return candidates.filter((t) => !PRIVILEGED.includes(t) || hasServer(id, 'can_view_events'));
}

/** LXD's default when `type` is absent: all five LXD types the caller may see (non-admins: operation, lifecycle). */
export function defaultTypes(id: Identity): EventType[] {
  return visibleTypes(id, LXD_EVENT_TYPES);
}

export function canPublish(id: Identity, project: string): boolean {
  return project === '' ? hasServer(id, 'can_publish') : hasProject(id, project, 'can_publish');
}
