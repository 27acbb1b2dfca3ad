/** @module One-line human summaries of events, shared by the CLI table and (later) the web UI. */
import type { HeraldEvent } from './event.js';

export function summarize(e: HeraldEvent): string {
  switch (e.type) {
    case 'lifecycle': {
      const r = e.metadata.requestor;
      const who = r?.username ? ` by ${r.protocol}/${r.username}` : '';
      return `${e.metadata.action} ${e.metadata.source}${who}`;
    }
    case 'logging':
    case 'ovn':
      return e.metadata.message;
    case 'operation': {
      const m = e.metadata;
      return `${m.description}: ${m.status}${m.err ? ` (${m.err})` : ''}`;
    }
    case 'security':
      return `${e.metadata.name}: ${e.metadata.description}`;
    case 'maas': {
      const m = e.metadata;
      const host = m.hostname ? ` [${m.hostname}]` : '';
      return `${m.event_type}${host}${m.description ? ` ${m.description}` : ''}${m.username ? ` by ${m.username}` : ''}`;
    }
  }
}

/** The level word shown in tables: the event's own level where it has one, else the audit/info default. */
export function levelOf(e: HeraldEvent): string {
  switch (e.type) {
    case 'logging':
    case 'ovn':
    case 'security':
      return e.metadata.level;
    case 'maas':
      return e.metadata.level.toLowerCase();
    case 'operation':
      return e.metadata.status_code === 400 ? 'error' : 'info';
    case 'lifecycle':
      return 'audit';
  }
}
