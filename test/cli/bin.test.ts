/** @module The installed command: bin/herald.js runs the compiled CLI (built by `npm ci`) with its node flags. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { unixClient } from '../../src/cli/client.js';
import { tempDir } from '../support/herald.js';
import { run } from '../support/run-cli.js';

const BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));
const dir = tempDir('herald-bin-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/herald.js', () => {
  it('runs the compiled CLI as an executable', async () => {
    const r = await run(BIN, ['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
  });

  it('is the package bin: `npx herald` in the project runs it', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const r = await run('npx', ['--no-install', 'herald', 'history', '--data', dir, '--limit', '1'], { cwd: root });
    // No server runs yet: the installed command answers with the CLI's own one-line error, not npm's.
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^Error: cannot reach herald at .*unix\.socket/m);
  });

  it('serves with a 64 MiB young generation, and stops cleanly on SIGTERM', async () => {
    const child = spawn(BIN, ['--data', dir, 'serve'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const client = unixClient(dir);
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(join(dir, 'unix.socket')))
        up = await client.call('GET', '/1.0').then(
          () => true,
          () => false,
        );
    }
    expect(up).toBe(true);
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain('--max-semi-space-size=64');
    expect(argv).toContain(BIN);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
