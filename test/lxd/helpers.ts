/**
 * @module Support for the real-binary tests: the `lxc` 5.0.2 client and `lxd` daemon from Debian, pylxd 2.2.10 under
 * the system python, each process started by PID and stopped by PID, each with its own configuration directory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HeraldOptions } from '../../src/runtime/herald.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { type RunResult, run } from '../support/run-cli.js';

export const PYTHON = '/usr/bin/python3';
export const PYLXD_SCRIPT = fileURLToPath(new URL('./pylxd_events.py', import.meta.url));

/**
 * The binaries these tests drive. Missing ones fail the suite loudly (never skip): `.ci/run` installs them through
 * scripts/install-system-deps.sh (`apt-get install lxd-client lxd python3-pylxd`).
 */
export function requireBinaries(which: { lxc?: boolean; lxd?: boolean; pylxd?: boolean }): void {
  const missing: string[] = [];
  const has = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  };
  if (which.lxc && !has('lxc', ['--version'])) missing.push('lxc (Debian package lxd-client)');
  if (which.lxd && !has('lxd', ['--version'])) missing.push('lxd (Debian package lxd)');
  if (which.pylxd && !has(PYTHON, ['-c', 'import pylxd, ws4py'])) missing.push('pylxd (Debian package python3-pylxd)');
  if (missing.length > 0) {
    throw new Error(
      `missing system binaries: ${missing.join(', ')}; run scripts/install-system-deps.sh as root (.ci/run does)`,
    );
  }
}

/** A long-running process whose output is collected; stopped by PID. */
export class Proc {
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  private readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (c: Buffer) => {
      this.stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : 0);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves when the predicate holds on stdout; rejects with what was printed after the timeout. */
  async waitFor(what: string, test: (stdout: string) => boolean, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!test(this.stdout)) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      if (this.exitCode !== null && !test(this.stdout)) {
        throw new Error(`exited (${this.exitCode}) before ${what}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await sleep(25);
    }
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitCode !== null) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const killer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    await this.exited;
    clearTimeout(killer);
  }

  wait(): Promise<void> {
    return this.exited;
  }
}

export function start(cmd: string, args: readonly string[], env: Record<string, string | undefined> = {}): Proc {
  return new Proc(spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An `lxc` with its own configuration directory (LXD_CONF): its own client certificate and remotes. */
export class Lxc {
  readonly conf: string;

  constructor(readonly lxdDir?: string) {
    this.conf = tempDir('herald-lxc-conf-');
  }

  get env(): Record<string, string | undefined> {
    return { LXD_CONF: this.conf, LXD_DIR: this.lxdDir, HOME: this.conf };
  }

  run(args: readonly string[], input?: string): Promise<RunResult> {
    return run('lxc', args, { env: this.env, input });
  }

  /** Run and fail the test with lxc's own words when it fails. */
  async ok(args: readonly string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`lxc ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  monitor(args: readonly string[]): Proc {
    return start('lxc', ['monitor', ...args], this.env);
  }

  cleanup(): void {
    rmSync(this.conf, { recursive: true, force: true });
  }
}

/** A real LXD 5.0.2 daemon on its own state directory (`lxd --group root`, no `lxd init`), stopped by PID. */
export class LxdDaemon {
  readonly dir: string;
  proc: Proc | undefined;

  constructor() {
    this.dir = tempDir('herald-lxd-');
  }

  get socket(): string {
    return join(this.dir, 'unix.socket');
  }

  async start(): Promise<void> {
    this.proc = start('lxd', ['--group', 'root'], { LXD_DIR: this.dir });
    const ready = await run('lxd', ['waitready', '--timeout', '60'], { env: { LXD_DIR: this.dir }, timeoutMs: 70_000 });
    if (ready.code !== 0) {
      throw new Error(`lxd did not start: ${ready.stderr}\n${this.proc.stderr}`);
    }
  }

  /** SIGTERM, which LXD answers with a clean shutdown in about a second. */
  async stop(): Promise<void> {
    await this.proc?.stop(15_000);
    this.proc = undefined;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface HttpsHerald extends TestHerald {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
}

/** A herald (in this process) with an HTTPS listener on a free port, as `herald serve --listen` runs it. */
export async function startHttpsHerald(extra: Partial<HeraldOptions> = {}): Promise<HttpsHerald> {
  const t = await startTestHerald({ https: ['127.0.0.1:0'], ...extra });
  return { ...t, url: `https://${t.herald.httpsAddresses[0]}` };
}

/** Events herald holds with id > afterId, oldest first, as parsed JSON (the local admin sees them all). */
// biome-ignore lint/suspicious/noExplicitAny: events are compared loosely
export async function eventsAfter(t: TestHerald, afterId: number): Promise<any[]> {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const out: any[] = [];
  let cursor = afterId;
  for (;;) {
    const page = await t.client.call<{ events: Array<{ id: number }> }>(
      'GET',
      `/1.0/events/history?after=${cursor}&limit=1000`,
    );
    if (page.events.length === 0) return out;
    const asc = [...page.events].sort((a, b) => a.id - b.id);
    out.push(...asc);
    cursor = (asc[asc.length - 1] as { id: number }).id;
  }
}
