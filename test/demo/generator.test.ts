/** @module The demo generator produces valid, realistic, reproducible traffic. */
import { describe, expect, it } from 'vitest';
import { prepareBatch } from '../../src/core/prepare.js';
import { DemoGenerator } from '../../src/demo/generator.js';

describe('DemoGenerator', () => {
  it('produces only valid events, covering every type, the MAAS audit trail and several projects', () => {
    const events = new DemoGenerator(42).batch(3000);
    const prepared = prepareBatch(events, { location: 'none' });
    const types = new Set(prepared.map((p) => p.fields.type));
    expect(types).toEqual(new Set(['lifecycle', 'operation', 'logging', 'security', 'maas']));
    const projects = new Set(prepared.map((p) => p.fields.project).filter(Boolean));
    expect(projects.size).toBeGreaterThanOrEqual(3);
    const maasTypes = new Set(prepared.filter((p) => p.fields.type === 'maas').map((p) => p.fields.action));
    for (const t of ['NODE', 'AUTHORISATION', 'SETTINGS', 'NODE_CHANGED_STATUS', 'DEPLOYED'])
      expect(maasTypes).toContain(t);
    expect([...maasTypes].some((t) => t.startsWith('NODE_HARDWARE_SYNC_'))).toBe(true);
    const levels = new Set(prepared.filter((p) => p.fields.type === 'logging').map((p) => p.fields.severity));
    expect(levels).toEqual(new Set([10, 20, 30, 40]));
  });

  it('is reproducible for a seed', () => {
    const strip = (xs: unknown[]) => JSON.stringify(xs).replace(/"20\d\d-[^"]+"/g, '"T"');
    expect(strip(new DemoGenerator(1).batch(50))).toBe(strip(new DemoGenerator(1).batch(50)));
  });
});
