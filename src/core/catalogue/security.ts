/** @module Catalogue of LXD's security event vocabulary (spec lxd-events.md §3). */

// LXD has no 'critical' security level (§3); accepting one would let herald emit events no LXD client expects.
export const SECURITY_LEVELS = ['info', 'warning'] as const;

export type SecurityLevel = (typeof SECURITY_LEVELS)[number];

export interface SecurityAction {
  readonly base: string;
  readonly level: SecurityLevel;
  /** Names of the ':'-separated suffix parts; the last part takes the remainder of the name (it may contain ':'). */
  readonly suffix: readonly string[];
  /** Description strings LXD uses for this base, the first being the default. `<old>` marks a part LXD fills in. */
  readonly descriptions: readonly string[];
}

function action(
  base: string,
  level: SecurityLevel,
  suffix: readonly string[],
  descriptions: readonly string[],
): SecurityAction {
  return Object.freeze({
    base,
    level,
    suffix: Object.freeze([...suffix]),
    descriptions: Object.freeze([...descriptions]),
  });
}

// Order follows the `SecurityAction` vocabulary list in §3.
export const SECURITY_ACTIONS: readonly SecurityAction[] = Object.freeze([
  action('authn_login_fail', 'warning', ['method'], ['TLS authentication failure']),
  action(
    'authn_certificate_change',
    'info',
    ['fingerprint'],
    ['TLS client certificate changed', 'TLS client certificate changed (self-update)'],
  ),
  action('authn_token_created', 'info', ['id'], ['Bearer token created']),
  action('authn_token_revoked', 'info', ['id'], ['Bearer token revoked']),
  // The bearer-token checks all report under one unsuffixed name; only the description tells them apart.
  action(
    'authn_token_reuse',
    'warning',
    [],
    [
      'Unrecognised bearer token subject',
      'Initial UI access token presented in Authorization header',
      'Bearer token presented as query parameter or cookie',
      'Bearer token verification failed',
    ],
  ),
  action('authz_fail', 'warning', ['entitlement', 'url'], ['Authorization denied']),
  // operation is e.g. group_create / idp_group_edit / identity_delete; target is a name or '<method>/<identifier>'.
  action(
    'authz_admin',
    'info',
    ['operation', 'target'],
    [
      'Authorization group created',
      'Authorization group updated',
      'Authorization group deleted',
      'Authorization group renamed from <old>',
      'Identity provider group created',
      'Identity provider group updated',
      'Identity provider group deleted',
      'Identity provider group renamed from <old>',
      'Identity identity-created',
      'Identity identity-updated',
      'Identity identity-deleted',
    ],
  ),
  action('sys_startup', 'info', [], ['LXD daemon started']),
  action('sys_shutdown', 'info', [], ['LXD daemon stopping']),
  action('sys_monitor_disabled', 'warning', [], ['Loki monitoring disabled']),
  // The docs show bare `user_created`; the code always appends method and identifier (§9), and the code wins.
  action('user_created', 'info', ['method', 'id'], ['Identity created']),
  action('user_updated', 'info', ['method', 'id'], ['Identity updated']),
  action('user_deleted', 'info', ['method', 'id'], ['Identity deleted']),
]);

const SECURITY_ACTION_BY_BASE: ReadonlyMap<string, SecurityAction> = new Map(SECURITY_ACTIONS.map((a) => [a.base, a]));

export function securityAction(base: string): SecurityAction | undefined {
  return SECURITY_ACTION_BY_BASE.get(base);
}

/** Parse a full name like 'authz_fail:can_edit:/1.0/projects/foo'. Returns the action and parts, or an error reason string explaining why the name is malformed (unknown base, wrong number of suffix parts, empty part). */
export function parseSecurityName(
  name: string,
): { ok: true; action: SecurityAction; parts: string[] } | { ok: false; reason: string } {
  const colon = name.indexOf(':');
  const base = colon === -1 ? name : name.slice(0, colon);
  const found = SECURITY_ACTION_BY_BASE.get(base);
  if (!found) return { ok: false, reason: `unknown security action '${base}'` };

  const want = found.suffix.length;
  if (colon === -1) {
    if (want === 0) return { ok: true, action: found, parts: [] };
    return { ok: false, reason: `'${base}' needs ${want} suffix part(s) (${found.suffix.join(':')}), got none` };
  }
  if (want === 0) return { ok: false, reason: `'${base}' takes no suffix` };

  // Split only want-1 times: the last part keeps any further ':' (URLs, identifiers).
  const parts: string[] = [];
  let rest = name.slice(colon + 1);
  for (let i = 0; i < want - 1; i++) {
    const next = rest.indexOf(':');
    if (next === -1) {
      return {
        ok: false,
        reason: `'${base}' needs ${want} suffix parts (${found.suffix.join(':')}), got ${parts.length + 1}`,
      };
    }
    parts.push(rest.slice(0, next));
    rest = rest.slice(next + 1);
  }
  parts.push(rest);

  const empty = parts.indexOf('');
  if (empty !== -1) return { ok: false, reason: `'${base}' has an empty ${found.suffix[empty]} part` };
  return { ok: true, action: found, parts };
}
