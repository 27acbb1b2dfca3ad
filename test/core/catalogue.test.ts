import { describe, expect, it } from 'vitest';
import { LIFECYCLE_ACTION_BY_NAME, LIFECYCLE_ACTIONS, lifecycleAction } from '../../src/core/catalogue/lifecycle.js';
import {
  MAAS_EVENT_TYPES,
  MAAS_LEVELS,
  type MaasLevelName,
  maasEventType,
  maasLevelName,
} from '../../src/core/catalogue/maas.js';
import {
  parseSecurityName,
  SECURITY_ACTIONS,
  SECURITY_LEVELS,
  securityAction,
} from '../../src/core/catalogue/security.js';

describe('lifecycle catalogue', () => {
  it('holds the 145 unique actions of spec §2', () => {
    expect(LIFECYCLE_ACTIONS).toHaveLength(145);
    expect(new Set(LIFECYCLE_ACTIONS.map((a) => a.action)).size).toBe(145);
    expect(LIFECYCLE_ACTION_BY_NAME.size).toBe(145);
  });

  it('keeps table order at both ends', () => {
    expect(LIFECYCLE_ACTIONS[0]?.action).toBe('certificate-created');
    expect(LIFECYCLE_ACTIONS.at(-1)?.action).toBe('placement-group-updated');
  });

  it('looks actions up by name', () => {
    expect(lifecycleAction('instance-started')).toBe(LIFECYCLE_ACTION_BY_NAME.get('instance-started'));
    expect(lifecycleAction('instance-exploded')).toBeUndefined();
  });

  it('matches spot-checked entries of the spec', () => {
    expect(lifecycleAction('instance-created')).toMatchObject({
      entity: 'instance',
      title: 'Instance',
      source: '/1.0/instances/{name}',
      project: 'project',
      context: ['type', 'storage-pool', 'location'],
      nameAndProject: true,
    });
    expect(lifecycleAction('instance-started')?.summary).toBe("Instance '{name}' started");
    expect(lifecycleAction('instance-exec')?.context).toEqual(['command']);
    expect(lifecycleAction('instance-file-pushed')?.context).toEqual(['path']);
    expect(lifecycleAction('cluster-group-renamed')).toMatchObject({ context: ['old_name'], project: 'server' });
    expect(lifecycleAction('cluster-group-updated')?.context).toEqual(['description', 'members']);
    expect(lifecycleAction('cluster-group-deleted')?.project).toBe('entity');
    expect(lifecycleAction('cluster-member-renamed')).toMatchObject({ project: 'request', context: ['old_name'] });
    expect(lifecycleAction('cluster-member-healed')?.project).toBe('default');
    expect(lifecycleAction('cluster-token-created')?.source).toBe('/1.0/cluster/members');
    expect(lifecycleAction('cluster-certificate-updated')?.source).toBe('/1.0/cluster/certificate');
    expect(lifecycleAction('config-updated')).toMatchObject({ source: '/1.0', project: 'server', context: [] });
    expect(lifecycleAction('profile-renamed')?.summary).toBe("Profile '{old_name}' renamed to '{name}'");
    expect(lifecycleAction('project-renamed')?.project).toBe('self');
    expect(lifecycleAction('warning-reset')?.project).toBe('entity');
    expect(lifecycleAction('storage-pool-created')).toMatchObject({ project: 'server', context: ['target'] });
    expect(lifecycleAction('image-alias-deleted')?.context).toEqual([]);
    expect(lifecycleAction('instance-log-retrieved')?.source).toBe('/1.0/instances/{instance}/backups/{name}');
    expect(lifecycleAction('storage-volume-restored')?.context).toEqual(['snapshot']);
    expect(lifecycleAction('instance-snapshot-renamed')).toMatchObject({
      nameAndProject: false,
      title: 'Instance snapshot',
    });
  });

  it('sets name and project in metadata only for instance actions', () => {
    const flagged = LIFECYCLE_ACTIONS.filter((a) => a.nameAndProject);
    expect(flagged).toHaveLength(20);
    for (const a of flagged) expect(a.entity).toBe('instance');
  });

  it('derives every action from its entity key', () => {
    for (const a of LIFECYCLE_ACTIONS) expect(a.action.startsWith(`${a.entity}-`)).toBe(true);
  });

  it('gives every action a source under /1.0 and a summary', () => {
    for (const a of LIFECYCLE_ACTIONS) {
      expect(a.source === '/1.0' || a.source.startsWith('/1.0/')).toBe(true);
      expect(a.source).not.toContain('?');
      expect(a.summary.length).toBeGreaterThan(0);
      expect(a.title.length).toBeGreaterThan(0);
    }
  });

  it('references only {name} or the action’s own context keys in summaries', () => {
    for (const a of LIFECYCLE_ACTIONS) {
      const keys = [...a.summary.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
      for (const key of keys) {
        expect(key === 'name' || a.context.includes(key as string), `${a.action} uses {${key}}`).toBe(true);
      }
      // {name} is the last source segment, so it is only meaningful when that segment is a placeholder.
      if (keys.includes('name')) expect(a.source.endsWith('/{name}'), a.action).toBe(true);
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(LIFECYCLE_ACTIONS)).toBe(true);
    expect(Object.isFrozen(LIFECYCLE_ACTIONS[0])).toBe(true);
  });
});

describe('security catalogue', () => {
  it('has the two levels and all 13 bases', () => {
    expect(SECURITY_LEVELS).toEqual(['info', 'warning']);
    expect(SECURITY_ACTIONS).toHaveLength(13);
    expect(new Set(SECURITY_ACTIONS.map((a) => a.base)).size).toBe(13);
    expect(SECURITY_ACTIONS.map((a) => a.base).sort()).toEqual(
      [
        'authn_login_fail',
        'authn_certificate_change',
        'authn_token_created',
        'authn_token_revoked',
        'authn_token_reuse',
        'authz_fail',
        'authz_admin',
        'sys_startup',
        'sys_shutdown',
        'sys_monitor_disabled',
        'user_created',
        'user_updated',
        'user_deleted',
      ].sort(),
    );
  });

  it('matches spot-checked entries of the spec', () => {
    expect(securityAction('authn_login_fail')).toMatchObject({
      level: 'warning',
      suffix: ['method'],
      descriptions: ['TLS authentication failure'],
    });
    expect(securityAction('authz_fail')).toMatchObject({ level: 'warning', suffix: ['entitlement', 'url'] });
    expect(securityAction('authn_token_reuse')?.descriptions).toHaveLength(4);
    expect(securityAction('authn_token_reuse')?.suffix).toEqual([]);
    expect(securityAction('sys_shutdown')?.descriptions[0]).toBe('LXD daemon stopping');
    expect(securityAction('sys_monitor_disabled')?.level).toBe('warning');
    expect(securityAction('user_created')).toMatchObject({ level: 'info', suffix: ['method', 'id'] });
    expect(securityAction('critical')).toBeUndefined();
    for (const a of SECURITY_ACTIONS) expect(a.descriptions.length).toBeGreaterThan(0);
  });

  it.each([
    ['authn_login_fail:tls', 'authn_login_fail', ['tls']],
    ['authn_token_reuse', 'authn_token_reuse', []],
    [
      'authn_token_created:3f2a8b9c-1d2e-4f5a-8b6c-7d8e9f0a1b2c',
      'authn_token_created',
      ['3f2a8b9c-1d2e-4f5a-8b6c-7d8e9f0a1b2c'],
    ],
    ['authn_token_revoked:abc', 'authn_token_revoked', ['abc']],
    ['authn_certificate_change:7ff5e583', 'authn_certificate_change', ['7ff5e583']],
    ['authz_fail:can_edit:/1.0/projects/foo', 'authz_fail', ['can_edit', '/1.0/projects/foo']],
    ['authz_fail:can_view:https://host:8443/1.0', 'authz_fail', ['can_view', 'https://host:8443/1.0']],
    ['authz_admin:group_create:admins', 'authz_admin', ['group_create', 'admins']],
    ['authz_admin:idp_group_edit:new-name', 'authz_admin', ['idp_group_edit', 'new-name']],
    ['authz_admin:identity_create:tls/alice', 'authz_admin', ['identity_create', 'tls/alice']],
    ['authz_admin:identity_delete:bearer/a:b', 'authz_admin', ['identity_delete', 'bearer/a:b']],
    ['user_created:oidc:jane@example.com', 'user_created', ['oidc', 'jane@example.com']],
    ['user_updated:tls:abc', 'user_updated', ['tls', 'abc']],
    ['user_deleted:bearer:x:y', 'user_deleted', ['bearer', 'x:y']],
    ['sys_startup', 'sys_startup', []],
    ['sys_shutdown', 'sys_shutdown', []],
    ['sys_monitor_disabled', 'sys_monitor_disabled', []],
  ])('parses %s', (name, base, parts) => {
    const result = parseSecurityName(name);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.action.base).toBe(base);
      expect(result.parts).toEqual(parts);
    }
  });

  it.each([
    ['', /unknown/],
    ['authn_login_failed:tls', /unknown/],
    ['AUTHZ_FAIL:can_edit:/1.0', /unknown/],
    ['authn_login_fail', /needs 1/],
    ['user_created', /needs 2/],
    ['authz_fail:can_edit', /got 1/],
    ['sys_startup:extra', /no suffix/],
    ['authn_token_reuse:x', /no suffix/],
    ['sys_shutdown:', /no suffix/],
    ['authn_login_fail:', /empty method/],
    ['authz_fail::/1.0/projects/foo', /empty entitlement/],
    ['authz_fail:can_edit:', /empty url/],
    ['user_deleted:tls:', /empty id/],
  ])('rejects %j', (name, reason) => {
    const result = parseSecurityName(name);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('MAAS catalogue', () => {
  it('maps level numbers both ways', () => {
    expect(MAAS_LEVELS).toEqual({ AUDIT: 0, DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 });
    for (const [name, n] of Object.entries(MAAS_LEVELS)) expect(maasLevelName(n)).toBe(name);
    expect(maasLevelName(25)).toBeUndefined();
    expect(maasLevelName(-1)).toBeUndefined();
  });

  it('holds the 101 unique types of spec §3.3 with the spec level counts', () => {
    expect(MAAS_EVENT_TYPES).toHaveLength(101);
    expect(new Set(MAAS_EVENT_TYPES.map((t) => t.name)).size).toBe(101);
    const counts: Partial<Record<MaasLevelName, number>> = {};
    for (const t of MAAS_EVENT_TYPES) counts[t.level] = (counts[t.level] ?? 0) + 1;
    expect(counts).toEqual({ INFO: 39, DEBUG: 38, ERROR: 13, AUDIT: 8, WARNING: 3 });
    expect(counts.CRITICAL).toBeUndefined();
  });

  it('keeps table order and verbatim descriptions', () => {
    expect(MAAS_EVENT_TYPES[0]).toEqual({ name: 'NODE_POWERED_ON', level: 'DEBUG', description: 'Node powered on' });
    expect(MAAS_EVENT_TYPES[100]?.name).toBe('BOOT_SOURCE_SELECTION');
    expect(maasEventType('NODE_HARDWARE_SYNC_USB_DEVICE')).toEqual({
      name: 'NODE_HARDWARE_SYNC_USB_DEVICE',
      level: 'INFO',
      description: 'Node USB Device hardware sync state chage',
    });
    expect(maasEventType('RACK_IMPORT_INFO')).toMatchObject({ level: 'DEBUG', description: 'Rack import info' });
    expect(maasEventType('NODE_POWER_QUERY_FAILED')).toMatchObject({
      level: 'WARNING',
      description: "Failed to query node's BMC",
    });
    expect(maasEventType('REQUEST_NODE_OVERRIDE_FAILED_TESTING')?.description).toBe(
      "User overrode 'Failed testing' status",
    );
    expect(maasEventType('NODE_RELEASE_SCRIPTS_OK')?.description).toBe('Release scripts executed successfully.');
    expect(maasEventType('SCRIPT_DID_NOT_COMPLETE')).toMatchObject({ level: 'INFO', description: 'Script' });
    expect(maasEventType('NODE_CHANGED_STATUS')?.level).toBe('DEBUG');
    expect(maasEventType('NOPE')).toBeUndefined();
  });

  it('has exactly the eight AUDIT types', () => {
    expect(MAAS_EVENT_TYPES.filter((t) => t.level === 'AUDIT').map((t) => t.name)).toEqual([
      'AUTHORISATION',
      'SETTINGS',
      'NODE',
      'IMAGES',
      'POD',
      'TAG',
      'NETWORKING',
      'ZONES',
    ]);
  });
});
