/**
 * @module Realistic demo traffic: LXD instances, networks, storage and profiles moving through their lifecycles with
 * operations and requestors, logging at every level, security events, and MAAS machines being commissioned, deployed
 * and released with their audit trail. Deterministic for a given seed.
 */

type Raw = Record<string, unknown>;

/** mulberry32: small, fast and good enough to make traffic look varied yet reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROJECTS = ['default', 'web', 'data'];
const USERS = [
  { username: 'alice', protocol: 'tls', address: '10.0.3.15' },
  { username: 'bob', protocol: 'tls', address: '10.0.3.22' },
  { username: 'root', protocol: 'unix', address: '@' },
  { username: 'ci@example.com', protocol: 'oidc', address: '192.0.2.40' },
];
const MAAS_USERS = ['admin', 'ops', 'jenkins'];
const WORDS = ['moth', 'otter', 'falcon', 'lynx', 'heron', 'badger', 'marten', 'ibis'];
const ADJ = ['valued', 'quiet', 'brave', 'swift', 'gentle', 'lucky', 'noble', 'sunny'];

interface Instance {
  name: string;
  project: string;
  state: 'absent' | 'stopped' | 'running';
}

interface Machine {
  systemId: string;
  hostname: string;
  status: 'New' | 'Commissioning' | 'Ready' | 'Allocated' | 'Deploying' | 'Deployed' | 'Releasing';
  zone: string;
  pool: string;
  mac: string;
  owner: string;
}

export class DemoGenerator {
  private readonly r: () => number;
  private readonly instances: Instance[] = [];
  private readonly machines: Machine[] = [];

  constructor(seed = Date.now()) {
    this.r = rng(seed);
    for (let i = 0; i < 9; i++) {
      this.instances.push({ name: `${this.pick(WORDS)}-${i}`, project: PROJECTS[i % 3] as string, state: 'absent' });
    }
    for (let i = 0; i < 6; i++) {
      this.machines.push({
        systemId: Math.floor(this.r() * 36 ** 6)
          .toString(36)
          .padStart(6, '0'),
        hostname: `${this.pick(ADJ)}-${this.pick(WORDS)}`,
        status: 'New',
        zone: i % 2 ? 'zone-a' : 'default',
        pool: i % 3 ? 'default' : 'gpu',
        mac: `52:54:00:${[0, 0, 0].map(() => this.hex()).join(':')}`,
        owner: '',
      });
    }
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)] as T;
  }

  private hex(): string {
    return Math.floor(this.r() * 256)
      .toString(16)
      .padStart(2, '0');
  }

  private uuid(): string {
    const h = Array.from({ length: 16 }, () => this.hex()).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** Generate the next few related events (an action and its consequences), as publish bodies. */
  next(): Raw[] {
    const x = this.r();
    if (x < 0.35) return this.instanceStep();
    if (x < 0.45) return [this.infraLifecycle()];
    if (x < 0.7) return [this.logging()];
    if (x < 0.78) return [this.security()];
    return this.machineStep();
  }

  /** At least n events. */
  batch(n: number): Raw[] {
    const out: Raw[] = [];
    while (out.length < n) out.push(...this.next());
    return out;
  }

  private lifecycle(action: string, source: string, project: string, extra: Raw = {}): Raw {
    const src = project === 'default' ? source : `${source}?project=${project}`;
    return {
      type: 'lifecycle',
      project,
      metadata: { action, source: src, ...extra, requestor: this.pick(USERS) },
    };
  }

  private operation(description: string, project: string, resources: Record<string, string[]>): Raw[] {
    const id = this.uuid();
    const now = new Date().toISOString();
    const requestor = this.pick(USERS);
    const op = (status: string, code: number, metadata: Raw | null, err = ''): Raw => ({
      type: 'operation',
      project,
      metadata: {
        id,
        class: 'task',
        description,
        created_at: now,
        updated_at: new Date().toISOString(),
        status,
        status_code: code,
        resources,
        metadata,
        may_cancel: false,
        err,
        location: 'none',
        requestor,
      },
    });
    const out = [op('Running', 103, null)];
    if (this.r() < 0.5) {
      out.push(
        op('Running', 103, {
          create_instance_from_image_unpack_progress: 'Unpack: 45%',
          progress: { stage: 'create_instance_from_image_unpack', percent: '45', speed: '0', processed: '0' },
        }),
      );
    }
    if (this.r() < 0.1) out.push(op('Failure', 400, null, 'Failed to start device "eth0": network not found'));
    else out.push(op('Success', 200, null));
    return out;
  }

  private instanceStep(): Raw[] {
    const inst = this.pick(this.instances);
    const source = `/1.0/instances/${inst.name}`;
    const withName = { name: inst.name, project: inst.project };
    const res = { instances: [source] };
    switch (inst.state) {
      case 'absent':
        inst.state = 'stopped';
        return [
          ...this.operation('Creating instance', inst.project, res),
          this.lifecycle('instance-created', source, inst.project, {
            context: {
              type: this.r() < 0.8 ? 'container' : 'virtual-machine',
              'storage-pool': 'default',
              location: 'none',
            },
            ...withName,
          }),
        ];
      case 'stopped':
        if (this.r() < 0.15) {
          inst.state = 'absent';
          return [
            ...this.operation('Deleting instance', inst.project, res),
            this.lifecycle('instance-deleted', source, inst.project, withName),
          ];
        }
        inst.state = 'running';
        return [
          ...this.operation('Starting instance', inst.project, res),
          this.lifecycle('instance-started', source, inst.project, withName),
        ];
      case 'running': {
        const y = this.r();
        if (y < 0.3) {
          return [
            this.lifecycle('instance-exec', source, inst.project, {
              context: { command: ['apt', 'update'] },
              ...withName,
            }),
          ];
        }
        if (y < 0.45) {
          return [
            this.lifecycle('instance-file-pushed', source, inst.project, {
              context: { path: '/etc/motd' },
              ...withName,
            }),
          ];
        }
        inst.state = 'stopped';
        return [
          ...this.operation('Stopping instance', inst.project, res),
          this.lifecycle('instance-stopped', source, inst.project, withName),
        ];
      }
    }
  }

  private infraLifecycle(): Raw {
    const project = this.pick(PROJECTS);
    const y = this.r();
    if (y < 0.3) {
      const name = `lxdbr${Math.floor(this.r() * 3)}`;
      return this.lifecycle(
        this.pick(['network-created', 'network-updated', 'network-deleted']),
        `/1.0/networks/${name}`,
        project,
      );
    }
    if (y < 0.6) {
      const vol = `vol-${this.pick(WORDS)}`;
      return this.lifecycle(
        this.pick(['storage-volume-created', 'storage-volume-updated', 'storage-volume-deleted']),
        `/1.0/storage-pools/default/volumes/custom/${vol}`,
        project,
        { context: { type: 'custom' } },
      );
    }
    if (y < 0.8) {
      const old = `prof-${this.pick(WORDS)}`;
      const action = this.pick(['profile-created', 'profile-updated', 'profile-renamed', 'profile-deleted']);
      const name = action === 'profile-renamed' ? `${old}-v2` : old;
      return this.lifecycle(
        action,
        `/1.0/profiles/${name}`,
        project,
        action === 'profile-renamed' ? { context: { old_name: old } } : {},
      );
    }
    const pool = this.pick(['default', 'fast', 'archive']);
    return { ...this.lifecycle('storage-pool-updated', `/1.0/storage-pools/${pool}`, 'default'), project: '' };
  }

  private logging(): Raw {
    const level = this.pick(['debug', 'debug', 'info', 'info', 'info', 'warning', 'error']);
    const messages: Record<string, string[]> = {
      debug: ['Event listener server handler started', 'Handling API request', 'Refreshing images'],
      info: ['Pruning expired instance backups', 'Done updating images', 'Instance started'],
      warning: ['Failed to get total number of processors', 'Skipping stale network entry'],
      error: ['Failed to connect to cluster member', 'Failed to update image alias'],
    };
    const ctx: Record<string, string> =
      level === 'debug' ? { method: 'GET', url: '/1.0/instances', ip: '@', protocol: 'unix', username: 'root' } : {};
    if (level === 'error') ctx.err = 'context deadline exceeded';
    return {
      type: 'logging',
      metadata: { message: this.pick(messages[level] as string[]), level, context: ctx },
    };
  }

  private security(): Raw {
    const req = this.pick(USERS);
    const requestor = { ...req, user_agent: 'LXD 5.21.1' };
    const y = this.r();
    if (y < 0.35) {
      return {
        type: 'security',
        metadata: {
          name: 'authn_login_fail:tls',
          level: 'warning',
          description: 'TLS authentication failure',
          request_path: '/1.0/instances',
          request_method: 'GET',
          requestor: {
            username: '',
            protocol: 'tls',
            address: `203.0.113.${Math.floor(this.r() * 250)}`,
            user_agent: 'curl/8.5.0',
          },
        },
      };
    }
    if (y < 0.7) {
      const project = this.pick(PROJECTS);
      const url = `/1.0/instances/${this.pick(this.instances).name}?project=${project}`;
      return {
        type: 'security',
        project,
        metadata: {
          name: `authz_fail:can_edit:${url}`,
          level: 'warning',
          description: 'Authorization denied',
          request_path: url.split('?')[0],
          project,
          request_method: 'PATCH',
          requestor,
        },
      };
    }
    const id = `${req.username}`;
    const kind = this.pick(['authn_token_created', 'authn_token_revoked']);
    return {
      type: 'security',
      metadata: {
        name: `${kind}:${id}`,
        level: 'info',
        description: kind === 'authn_token_created' ? 'Bearer token created' : 'Bearer token revoked',
        request_path: '/1.0/auth/identities/bearer',
        request_method: 'POST',
        requestor,
      },
    };
  }

  private maas(m: Machine | null, eventType: string, description: string, extra: Raw = {}): Raw {
    return {
      type: 'maas',
      metadata: {
        event_type: eventType,
        node: m?.systemId ?? null,
        hostname: m?.hostname ?? '',
        description,
        ...(m ? { zone: m.zone, pool: m.pool, domain: 'maas', agent_name: '', mac_addresses: [m.mac] } : {}),
        ...extra,
      },
    };
  }

  private audit(m: Machine | null, type: string, description: string, user: string): Raw {
    return this.maas(m, type, description, {
      username: user,
      ip_address: '192.0.2.10',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
      endpoint: 1,
    });
  }

  private status(m: Machine, to: Machine['status']): Raw {
    const from = m.status;
    m.status = to;
    return this.maas(
      m,
      'NODE_CHANGED_STATUS',
      `From '${from}' to '${to}'${to === 'Allocated' ? ` (to ${m.owner})` : ''}`,
    );
  }

  private machineStep(): Raw[] {
    const y = this.r();
    if (y < 0.08)
      return [this.audit(null, 'AUTHORISATION', this.r() < 0.5 ? 'Logged in admin.' : 'Logged out admin.', 'admin')];
    if (y < 0.12) {
      const [k, v] = this.pick([
        ['ntp_servers', 'ntp.ubuntu.com'],
        ['default_distro_series', 'noble'],
        ['enable_http_proxy', 'True'],
      ]) as [string, string];
      return [this.audit(null, 'SETTINGS', `Updated configuration setting '${k}' to '${v}'.`, 'admin')];
    }
    const m = this.pick(this.machines);
    const user = m.owner || this.pick(MAAS_USERS);
    const h = m.hostname;
    switch (m.status) {
      case 'New':
        return [
          this.audit(m, 'NODE', `Started commissioning on '${h}'.`, user),
          this.status(m, 'Commissioning'),
          this.maas(m, 'COMMISSIONING', ''),
        ];
      case 'Commissioning': {
        const hw = this.pick(['BMC', 'BLOCK_DEVICE', 'CPU', 'INTERFACE', 'MEMORY', 'PCI_DEVICE', 'USB_DEVICE']);
        return [
          this.maas(m, 'GATHERING_INFO', 'cloudinit'),
          this.maas(m, `NODE_HARDWARE_SYNC_${hw}`, `${hw.toLowerCase().replace('_', ' ')} added`),
          this.status(m, 'Ready'),
          this.maas(m, 'READY', ''),
        ];
      }
      case 'Ready':
        m.owner = user;
        return [this.audit(m, 'NODE', `Acquired '${h}'.`, user), this.status(m, 'Allocated')];
      case 'Allocated':
        return [
          this.audit(m, 'NODE', `Started deploying '${h}'.`, m.owner),
          this.status(m, 'Deploying'),
          this.maas(m, 'PERFORMING_PXE_BOOT', ''),
          this.maas(m, 'INSTALLING_OS', 'cmd-install/stage-extract'),
        ];
      case 'Deploying':
        if (this.r() < 0.1) {
          m.status = 'Ready';
          return [
            this.maas(
              m,
              'NODE_INSTALL_EVENT_FAILED',
              'Installation failed (refer to the installation log for more information).',
            ),
          ];
        }
        return [
          this.maas(m, 'CONFIGURING_OS', 'cmd-install/stage-curthooks'),
          this.status(m, 'Deployed'),
          this.maas(m, 'DEPLOYED', ''),
        ];
      case 'Deployed':
        return [this.audit(m, 'NODE', `Started releasing '${h}'.`, m.owner), this.status(m, 'Releasing')];
      case 'Releasing':
        m.owner = '';
        return [this.maas(m, 'RELEASING', ''), this.status(m, 'Ready'), this.maas(m, 'RELEASED', '')];
    }
  }
}
