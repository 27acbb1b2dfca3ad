/** @module Output formats for event lists: table (terminals), json, jsonl, yaml. */
import { stringify } from 'yaml';
import type { HeraldEvent } from '../core/event.js';
import { levelOf, summarize } from '../core/render.js';

export const LIST_FORMATS = ['table', 'json', 'jsonl', 'yaml'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

function table(rows: string[][], width: number): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .slice(0, width),
    )
    .join('\n');
}

export function formatEvents(events: readonly HeraldEvent[], format: ListFormat, width = 160): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(events, null, 2)}\n`;
    case 'jsonl':
      return events.map((e) => `${JSON.stringify(e)}\n`).join('');
    case 'yaml':
      return events.length ? stringify(events) : '[]\n';
    case 'table': {
      const rows = [['ID', 'TIME', 'TYPE', 'PROJECT', 'LOCATION', 'LEVEL', 'SUMMARY']];
      for (const e of events) {
        rows.push([String(e.id), e.timestamp, e.type, e.project || '-', e.location || '-', levelOf(e), summarize(e)]);
      }
      return `${table(rows, width)}\n`;
    }
  }
}
