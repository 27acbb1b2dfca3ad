/** @module Catalogue of LXD's lifecycle actions (spec lxd-events.md §2), as data. */

/**
 * Which value LXD puts in the envelope `project`, which decides who may see the event (§4.2, §4.3).
 * 'project' = the entity's project (P), 'server' = "" (server-scoped), 'default' = hard-coded `default`,
 * 'request' = the caller's ?project= (or `default`), 'self' = the project itself (project-* actions, new name on
 * rename), 'entity' = taken from the entity in a way that fits none of the above (a warning's own project, which may be
 * "", and the cluster-group-deleted quirk).
 */
export type LifecycleProjectScope = 'project' | 'server' | 'default' | 'request' | 'self' | 'entity';

export interface LifecycleAction {
  /** Exact action string, e.g. 'instance-started'. Always `${entity}-<verb>`. */
  readonly action: string;
  /** Entity key, e.g. 'instance', 'instance-snapshot', 'storage-volume'. */
  readonly entity: string;
  /** Human title of the entity, used as the MAAS-view "type", e.g. 'Instance snapshot'. */
  readonly title: string;
  /**
   * Source URL pattern. The last path segment is always `{name}` when it names the entity; parent segments use other
   * placeholders. LXD appends `?project=<p>` when p ≠ `default` (§1.3); that suffix is not part of the pattern.
   */
  readonly source: string;
  readonly project: LifecycleProjectScope;
  /** Context keys the action carries at least sometimes (some only on certain code paths); may be empty. */
  readonly context: readonly string[];
  /** True only for instance actions: they also set metadata.name and metadata.project. */
  readonly nameAndProject: boolean;
  /**
   * English one-line template. `{name}` is the last path segment of the source, any other `{key}` is a context key of
   * this action. Only context keys LXD always sends for the action are used, so a template never renders a hole.
   */
  readonly summary: string;
}

interface EntityDefaults {
  readonly entity: string;
  readonly title: string;
  readonly source: string;
  readonly project: LifecycleProjectScope;
  readonly nameAndProject?: boolean;
}

interface Row {
  readonly action: string;
  readonly summary: string;
  readonly context?: readonly string[];
  // Per-action exceptions to the entity row, as the spec table notes them.
  readonly project?: LifecycleProjectScope;
  readonly source?: string;
}

function entity(defaults: EntityDefaults, rows: readonly Row[]): LifecycleAction[] {
  return rows.map((row) =>
    Object.freeze({
      action: row.action,
      entity: defaults.entity,
      title: defaults.title,
      source: row.source ?? defaults.source,
      project: row.project ?? defaults.project,
      context: Object.freeze([...(row.context ?? [])]),
      nameAndProject: defaults.nameAndProject ?? false,
      summary: row.summary,
    }),
  );
}

const OLD_NAME = ['old_name'] as const;

// One block per row of the §2 table, in table order (the cluster member row spans two table lines).
export const LIFECYCLE_ACTIONS: readonly LifecycleAction[] = Object.freeze([
  ...entity({ entity: 'certificate', title: 'Certificate', source: '/1.0/certificates/{name}', project: 'server' }, [
    { action: 'certificate-created', summary: "Certificate '{name}' added to the trust store" },
    { action: 'certificate-deleted', summary: "Certificate '{name}' removed from the trust store" },
    { action: 'certificate-updated', summary: "Certificate '{name}' updated" },
  ]),

  // Cluster actions use the caller's project rather than "" (a code quirk, §9).
  ...entity({ entity: 'cluster', title: 'Cluster', source: '/1.0/cluster/{name}', project: 'request' }, [
    { action: 'cluster-enabled', summary: "Clustering enabled on '{name}'" },
    { action: 'cluster-disabled', summary: "Clustering disabled on '{name}'" },
    {
      action: 'cluster-certificate-updated',
      summary: 'Cluster certificate updated',
      source: '/1.0/cluster/certificate',
    },
    { action: 'cluster-token-created', summary: 'Cluster join token created', source: '/1.0/cluster/members' },
  ]),

  ...entity(
    { entity: 'cluster-group', title: 'Cluster group', source: '/1.0/cluster/groups/{name}', project: 'server' },
    [
      { action: 'cluster-group-created', summary: "Cluster group '{name}' created" },
      // LXD passes the group name as the project here (lxd/api_cluster_group.go:793).
      { action: 'cluster-group-deleted', summary: "Cluster group '{name}' deleted", project: 'entity' },
      { action: 'cluster-group-renamed', summary: "Cluster group '{old_name}' renamed to '{name}'", context: OLD_NAME },
      {
        action: 'cluster-group-updated',
        summary: "Cluster group '{name}' updated",
        context: ['description', 'members'],
      },
    ],
  ),

  ...entity(
    { entity: 'cluster-member', title: 'Cluster member', source: '/1.0/cluster/members/{name}', project: 'request' },
    [
      { action: 'cluster-member-added', summary: "Cluster member '{name}' added" },
      { action: 'cluster-member-removed', summary: "Cluster member '{name}' removed" },
      {
        action: 'cluster-member-renamed',
        summary: "Cluster member '{old_name}' renamed to '{name}'",
        context: OLD_NAME,
      },
      { action: 'cluster-member-updated', summary: "Cluster member '{name}' updated" },
      { action: 'cluster-member-evacuated', summary: "Cluster member '{name}' evacuated", project: 'default' },
      { action: 'cluster-member-restored', summary: "Cluster member '{name}' restored", project: 'default' },
      { action: 'cluster-member-healed', summary: "Cluster member '{name}' healed", project: 'default' },
    ],
  ),

  ...entity(
    { entity: 'cluster-link', title: 'Cluster link', source: '/1.0/cluster/links/{name}', project: 'default' },
    [
      { action: 'cluster-link-created', summary: "Cluster link '{name}' created" },
      { action: 'cluster-link-deleted', summary: "Cluster link '{name}' deleted" },
      { action: 'cluster-link-renamed', summary: "Cluster link '{old_name}' renamed to '{name}'", context: OLD_NAME },
      { action: 'cluster-link-updated', summary: "Cluster link '{name}' updated" },
    ],
  ),

  ...entity({ entity: 'replicator', title: 'Replicator', source: '/1.0/replicators/{name}', project: 'project' }, [
    { action: 'replicator-created', summary: "Replicator '{name}' created" },
    { action: 'replicator-deleted', summary: "Replicator '{name}' deleted" },
    { action: 'replicator-renamed', summary: "Replicator '{old_name}' renamed to '{name}'", context: OLD_NAME },
    { action: 'replicator-run', summary: "Replicator '{name}' run" },
    { action: 'replicator-updated', summary: "Replicator '{name}' updated" },
  ]),

  // The entity key follows the action prefix ('config'), not the table's "server config" label.
  ...entity({ entity: 'config', title: 'Server configuration', source: '/1.0', project: 'server' }, [
    { action: 'config-updated', summary: 'Server configuration updated' },
  ]),

  ...entity({ entity: 'image-alias', title: 'Image alias', source: '/1.0/images/aliases/{name}', project: 'project' }, [
    {
      action: 'image-alias-created',
      summary: "Image alias '{name}' created for image '{target}'",
      context: ['target'],
    },
    // The docs list `target` for deleted too; the code sends no context (§9).
    { action: 'image-alias-deleted', summary: "Image alias '{name}' deleted" },
    { action: 'image-alias-renamed', summary: "Image alias '{old_name}' renamed to '{name}'", context: OLD_NAME },
    { action: 'image-alias-updated', summary: "Image alias '{name}' updated", context: ['target'] },
  ]),

  ...entity({ entity: 'image', title: 'Image', source: '/1.0/images/{name}', project: 'project' }, [
    { action: 'image-created', summary: "Image '{name}' created", context: ['type'] },
    { action: 'image-deleted', summary: "Image '{name}' deleted" },
    { action: 'image-refreshed', summary: "Image '{name}' refreshed" },
    // `target` is only sent on some code paths, so the summary does not rely on it.
    { action: 'image-retrieved', summary: "Image '{name}' retrieved", context: ['target'] },
    { action: 'image-secret-created', summary: "Secret created for image '{name}'" },
    { action: 'image-updated', summary: "Image '{name}' updated" },
  ]),

  ...entity(
    {
      entity: 'instance-backup',
      title: 'Instance backup',
      source: '/1.0/instances/{instance}/backups/{name}',
      project: 'project',
    },
    [
      { action: 'instance-backup-created', summary: "Instance backup '{name}' created" },
      { action: 'instance-backup-deleted', summary: "Instance backup '{name}' deleted" },
      {
        action: 'instance-backup-renamed',
        summary: "Instance backup '{old_name}' renamed to '{name}'",
        context: OLD_NAME,
      },
      { action: 'instance-backup-retrieved', summary: "Instance backup '{name}' retrieved" },
    ],
  ),

  ...entity(
    {
      entity: 'instance',
      title: 'Instance',
      source: '/1.0/instances/{name}',
      project: 'project',
      nameAndProject: true,
    },
    [
      {
        action: 'instance-created',
        summary: "Instance '{name}' created",
        context: ['type', 'storage-pool', 'location'],
      },
      { action: 'instance-deleted', summary: "Instance '{name}' deleted" },
      { action: 'instance-started', summary: "Instance '{name}' started" },
      { action: 'instance-stopped', summary: "Instance '{name}' stopped" },
      { action: 'instance-shutdown', summary: "Instance '{name}' shut down" },
      { action: 'instance-restarted', summary: "Instance '{name}' restarted" },
      { action: 'instance-paused', summary: "Instance '{name}' paused" },
      { action: 'instance-resumed', summary: "Instance '{name}' resumed" },
      { action: 'instance-ready', summary: "Instance '{name}' ready" },
      {
        action: 'instance-restored',
        summary: "Instance '{name}' restored from snapshot '{snapshot}'",
        context: ['snapshot'],
      },
      { action: 'instance-renamed', summary: "Instance '{old_name}' renamed to '{name}'", context: OLD_NAME },
      { action: 'instance-updated', summary: "Instance '{name}' updated" },
      { action: 'instance-migrated', summary: "Instance '{name}' migrated" },
      // `command` is a string array; leaving it out keeps the template free of list formatting.
      { action: 'instance-exec', summary: "Command executed in instance '{name}'", context: ['command'] },
      { action: 'instance-console', summary: "Console ({type}) attached to instance '{name}'", context: ['type'] },
      { action: 'instance-console-reset', summary: "Console buffer of instance '{name}' reset" },
      { action: 'instance-console-retrieved', summary: "Console log of instance '{name}' retrieved" },
      // The docs name file/file-source/file-destination/info; the code sends `path` (§9).
      { action: 'instance-file-deleted', summary: "File '{path}' deleted from instance '{name}'", context: ['path'] },
      { action: 'instance-file-pushed', summary: "File '{path}' pushed to instance '{name}'", context: ['path'] },
      {
        action: 'instance-file-retrieved',
        summary: "File '{path}' retrieved from instance '{name}'",
        context: ['path'],
      },
    ],
  ),

  // LXD builds the log source under /backups/ (a code quirk, §9); herald reproduces it so sources match LXD's.
  ...entity(
    {
      entity: 'instance-log',
      title: 'Instance log',
      source: '/1.0/instances/{instance}/backups/{name}',
      project: 'project',
    },
    [
      { action: 'instance-log-deleted', summary: "Instance log '{name}' deleted" },
      { action: 'instance-log-retrieved', summary: "Instance log '{name}' retrieved" },
    ],
  ),

  // The last path segment here is the literal 'metadata'/'templates', not a name, so these summaries omit {name}.
  ...entity(
    {
      entity: 'instance-metadata',
      title: 'Instance metadata',
      source: '/1.0/instances/{instance}/metadata',
      project: 'project',
    },
    [
      { action: 'instance-metadata-retrieved', summary: 'Instance metadata retrieved' },
      { action: 'instance-metadata-updated', summary: 'Instance metadata updated' },
    ],
  ),

  ...entity(
    {
      entity: 'instance-metadata-template',
      title: 'Instance metadata template',
      source: '/1.0/instances/{instance}/metadata/templates',
      project: 'project',
    },
    [
      {
        action: 'instance-metadata-template-created',
        summary: "Instance metadata template '{path}' created",
        context: ['path'],
      },
      {
        action: 'instance-metadata-template-deleted',
        summary: "Instance metadata template '{path}' deleted",
        context: ['path'],
      },
      {
        action: 'instance-metadata-template-retrieved',
        summary: "Instance metadata template '{path}' retrieved",
        context: ['path'],
      },
    ],
  ),

  // Snapshot actions do not set metadata name/project, unlike instance actions.
  ...entity(
    {
      entity: 'instance-snapshot',
      title: 'Instance snapshot',
      source: '/1.0/instances/{instance}/snapshots/{name}',
      project: 'project',
    },
    [
      { action: 'instance-snapshot-created', summary: "Instance snapshot '{name}' created" },
      { action: 'instance-snapshot-deleted', summary: "Instance snapshot '{name}' deleted" },
      {
        action: 'instance-snapshot-renamed',
        summary: "Instance snapshot '{old_name}' renamed to '{name}'",
        context: OLD_NAME,
      },
      { action: 'instance-snapshot-updated', summary: "Instance snapshot '{name}' updated" },
    ],
  ),

  ...entity({ entity: 'network-acl', title: 'Network ACL', source: '/1.0/network-acls/{name}', project: 'project' }, [
    { action: 'network-acl-created', summary: "Network ACL '{name}' created" },
    { action: 'network-acl-deleted', summary: "Network ACL '{name}' deleted" },
    { action: 'network-acl-renamed', summary: "Network ACL '{old_name}' renamed to '{name}'", context: OLD_NAME },
    { action: 'network-acl-updated', summary: "Network ACL '{name}' updated" },
  ]),

  ...entity({ entity: 'network', title: 'Network', source: '/1.0/networks/{name}', project: 'project' }, [
    { action: 'network-created', summary: "Network '{name}' created" },
    { action: 'network-deleted', summary: "Network '{name}' deleted" },
    { action: 'network-renamed', summary: "Network '{old_name}' renamed to '{name}'", context: OLD_NAME },
    { action: 'network-updated', summary: "Network '{name}' updated" },
  ]),

  ...entity(
    {
      entity: 'network-forward',
      title: 'Network forward',
      source: '/1.0/networks/{network}/forwards/{name}',
      project: 'project',
    },
    [
      { action: 'network-forward-created', summary: "Network forward '{name}' created" },
      { action: 'network-forward-deleted', summary: "Network forward '{name}' deleted" },
      { action: 'network-forward-updated', summary: "Network forward '{name}' updated" },
    ],
  ),

  ...entity(
    {
      entity: 'network-load-balancer',
      title: 'Network load balancer',
      source: '/1.0/networks/{network}/load-balancers/{name}',
      project: 'project',
    },
    [
      { action: 'network-load-balancer-created', summary: "Network load balancer '{name}' created" },
      { action: 'network-load-balancer-deleted', summary: "Network load balancer '{name}' deleted" },
      { action: 'network-load-balancer-updated', summary: "Network load balancer '{name}' updated" },
    ],
  ),

  ...entity(
    {
      entity: 'network-peer',
      title: 'Network peer',
      source: '/1.0/networks/{network}/peers/{name}',
      project: 'project',
    },
    [
      { action: 'network-peer-created', summary: "Network peer '{name}' created" },
      { action: 'network-peer-deleted', summary: "Network peer '{name}' deleted" },
      { action: 'network-peer-updated', summary: "Network peer '{name}' updated" },
    ],
  ),

  ...entity(
    { entity: 'network-zone', title: 'Network zone', source: '/1.0/network-zones/{name}', project: 'project' },
    [
      { action: 'network-zone-created', summary: "Network zone '{name}' created" },
      { action: 'network-zone-deleted', summary: "Network zone '{name}' deleted" },
      { action: 'network-zone-updated', summary: "Network zone '{name}' updated" },
    ],
  ),

  ...entity(
    {
      entity: 'network-zone-record',
      title: 'Network zone record',
      source: '/1.0/network-zones/{zone}/records/{name}',
      project: 'project',
    },
    [
      { action: 'network-zone-record-created', summary: "Network zone record '{name}' created" },
      { action: 'network-zone-record-deleted', summary: "Network zone record '{name}' deleted" },
      { action: 'network-zone-record-updated', summary: "Network zone record '{name}' updated" },
    ],
  ),

  ...entity({ entity: 'operation', title: 'Operation', source: '/1.0/operations/{name}', project: 'project' }, [
    { action: 'operation-cancelled', summary: "Operation '{name}' cancelled" },
  ]),

  ...entity({ entity: 'profile', title: 'Profile', source: '/1.0/profiles/{name}', project: 'project' }, [
    { action: 'profile-created', summary: "Profile '{name}' created" },
    { action: 'profile-deleted', summary: "Profile '{name}' deleted" },
    { action: 'profile-renamed', summary: "Profile '{old_name}' renamed to '{name}'", context: OLD_NAME },
    { action: 'profile-updated', summary: "Profile '{name}' updated" },
  ]),

  ...entity({ entity: 'project', title: 'Project', source: '/1.0/projects/{name}', project: 'self' }, [
    { action: 'project-created', summary: "Project '{name}' created" },
    { action: 'project-deleted', summary: "Project '{name}' deleted" },
    { action: 'project-renamed', summary: "Project '{old_name}' renamed to '{name}'", context: OLD_NAME },
    { action: 'project-updated', summary: "Project '{name}' updated" },
  ]),

  // `target` is sent only when the request targets one member, so the summaries do not use it.
  ...entity({ entity: 'storage-pool', title: 'Storage pool', source: '/1.0/storage-pools/{name}', project: 'server' }, [
    { action: 'storage-pool-created', summary: "Storage pool '{name}' created", context: ['target'] },
    { action: 'storage-pool-deleted', summary: "Storage pool '{name}' deleted" },
    { action: 'storage-pool-updated', summary: "Storage pool '{name}' updated", context: ['target'] },
  ]),

  ...entity(
    {
      entity: 'storage-bucket',
      title: 'Storage bucket',
      source: '/1.0/storage-pools/{pool}/buckets/{name}',
      project: 'project',
    },
    [
      { action: 'storage-bucket-created', summary: "Storage bucket '{name}' created" },
      { action: 'storage-bucket-updated', summary: "Storage bucket '{name}' updated" },
      { action: 'storage-bucket-deleted', summary: "Storage bucket '{name}' deleted" },
    ],
  ),

  ...entity(
    {
      entity: 'storage-bucket-key',
      title: 'Storage bucket key',
      source: '/1.0/storage-pools/{pool}/buckets/{bucket}/keys/{name}',
      project: 'project',
    },
    [
      { action: 'storage-bucket-key-created', summary: "Storage bucket key '{name}' created" },
      { action: 'storage-bucket-key-updated', summary: "Storage bucket key '{name}' updated" },
      { action: 'storage-bucket-key-deleted', summary: "Storage bucket key '{name}' deleted" },
    ],
  ),

  // The volume-type segment is `{volume_type}` rather than `{type}` so it cannot be mistaken for the `type` context key.
  ...entity(
    {
      entity: 'storage-volume',
      title: 'Storage volume',
      source: '/1.0/storage-pools/{pool}/volumes/{volume_type}/{name}',
      project: 'project',
    },
    [
      // `location` is sent by local drivers only.
      { action: 'storage-volume-created', summary: "Storage volume '{name}' created", context: ['type', 'location'] },
      // One LXD delete path uses the hard-coded `default` project instead; 'project' is the common case.
      { action: 'storage-volume-deleted', summary: "Storage volume '{name}' deleted" },
      {
        action: 'storage-volume-renamed',
        summary: "Storage volume '{old_name}' renamed to '{name}'",
        context: OLD_NAME,
      },
      {
        action: 'storage-volume-restored',
        summary: "Storage volume '{name}' restored from snapshot '{snapshot}'",
        context: ['snapshot'],
      },
      { action: 'storage-volume-updated', summary: "Storage volume '{name}' updated" },
    ],
  ),

  ...entity(
    {
      entity: 'storage-volume-backup',
      title: 'Storage volume backup',
      source: '/1.0/storage-pools/{pool}/volumes/{volume_type}/{volume}/backups/{name}',
      project: 'project',
    },
    [
      { action: 'storage-volume-backup-created', summary: "Storage volume backup '{name}' created", context: ['type'] },
      { action: 'storage-volume-backup-deleted', summary: "Storage volume backup '{name}' deleted" },
      {
        action: 'storage-volume-backup-renamed',
        summary: "Storage volume backup '{old_name}' renamed to '{name}'",
        context: OLD_NAME,
      },
      { action: 'storage-volume-backup-retrieved', summary: "Storage volume backup '{name}' retrieved" },
    ],
  ),

  ...entity(
    {
      entity: 'storage-volume-snapshot',
      title: 'Storage volume snapshot',
      source: '/1.0/storage-pools/{pool}/volumes/{volume_type}/{volume}/snapshots/{name}',
      project: 'project',
    },
    [
      {
        action: 'storage-volume-snapshot-created',
        summary: "Storage volume snapshot '{name}' created",
        context: ['type'],
      },
      { action: 'storage-volume-snapshot-deleted', summary: "Storage volume snapshot '{name}' deleted" },
      {
        action: 'storage-volume-snapshot-renamed',
        summary: "Storage volume snapshot '{old_name}' renamed to '{name}'",
        context: OLD_NAME,
      },
      { action: 'storage-volume-snapshot-updated', summary: "Storage volume snapshot '{name}' updated" },
    ],
  ),

  ...entity({ entity: 'warning', title: 'Warning', source: '/1.0/warnings/{name}', project: 'entity' }, [
    { action: 'warning-acknowledged', summary: "Warning '{name}' acknowledged" },
    { action: 'warning-deleted', summary: "Warning '{name}' deleted" },
    { action: 'warning-reset', summary: "Warning '{name}' reset" },
  ]),

  ...entity(
    { entity: 'identity', title: 'Identity', source: '/1.0/auth/identities/{method}/{name}', project: 'server' },
    [
      { action: 'identity-created', summary: "Identity '{name}' created" },
      { action: 'identity-updated', summary: "Identity '{name}' updated" },
      { action: 'identity-deleted', summary: "Identity '{name}' deleted" },
    ],
  ),

  ...entity(
    { entity: 'auth-group', title: 'Authorization group', source: '/1.0/auth/groups/{name}', project: 'server' },
    [
      { action: 'auth-group-created', summary: "Authorization group '{name}' created" },
      { action: 'auth-group-updated', summary: "Authorization group '{name}' updated" },
      {
        action: 'auth-group-renamed',
        summary: "Authorization group '{old_name}' renamed to '{name}'",
        context: OLD_NAME,
      },
      { action: 'auth-group-deleted', summary: "Authorization group '{name}' deleted" },
    ],
  ),

  // The spec lists no context for this entity, not even `old_name` on rename, so the rename summary names only the new
  // name rather than guessing at a key LXD may not send.
  ...entity(
    {
      entity: 'identity-provider-group',
      title: 'Identity provider group',
      source: '/1.0/auth/identity-provider-groups/{name}',
      project: 'server',
    },
    [
      { action: 'identity-provider-group-created', summary: "Identity provider group '{name}' created" },
      { action: 'identity-provider-group-updated', summary: "Identity provider group '{name}' updated" },
      { action: 'identity-provider-group-renamed', summary: "Identity provider group renamed to '{name}'" },
      { action: 'identity-provider-group-deleted', summary: "Identity provider group '{name}' deleted" },
    ],
  ),

  // As for identity provider groups, the spec lists no `old_name` for placement-group-renamed.
  ...entity(
    {
      entity: 'placement-group',
      title: 'Placement group',
      source: '/1.0/placement-groups/{name}',
      project: 'project',
    },
    [
      { action: 'placement-group-created', summary: "Placement group '{name}' created" },
      { action: 'placement-group-deleted', summary: "Placement group '{name}' deleted" },
      { action: 'placement-group-renamed', summary: "Placement group renamed to '{name}'" },
      { action: 'placement-group-updated', summary: "Placement group '{name}' updated" },
    ],
  ),
]);

export const LIFECYCLE_ACTION_BY_NAME: ReadonlyMap<string, LifecycleAction> = new Map(
  LIFECYCLE_ACTIONS.map((a) => [a.action, a]),
);

export function lifecycleAction(name: string): LifecycleAction | undefined {
  return LIFECYCLE_ACTION_BY_NAME.get(name);
}
