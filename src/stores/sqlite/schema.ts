/** @module SQLite schema of the event log: one row per event with its facts and canonical JSON, and posting lists. */

export const SCHEMA_VERSION = 2;

/**
 * `events` holds one row per event. Its filterable facts are columns, so conditions that no posting list serves are
 * evaluated by SQLite without reading the JSON.
 *
 * `postings` replaces secondary indexes. Each committed transaction writes, for every key its events carry (`t:` type,
 * `a:` action and each `:`-prefix of a security name, `u:` username, `h:` hostname, `n:` node, `audit`), one row
 * listing those events' ids: `base` plus little-endian uint32 offsets in `offs`, ascending, the highest being `last`.
 * An index costs a B-tree insertion per event per key (six of them took more than half of the writer's time); a
 * posting row costs one insertion per key per transaction, and a key's rows in `last` order list its ids in id order,
 * which is exactly what a keyset page reads. Retention deletes rows whose `last` is pruned; a row straddling the cut
 * may name deleted ids, which readers skip because they fetch events by id.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  project TEXT NOT NULL,
  location TEXT NOT NULL,
  action TEXT NOT NULL,
  severity INTEGER NOT NULL,
  audit INTEGER NOT NULL,
  username TEXT NOT NULL,
  protocol TEXT NOT NULL,
  node TEXT,
  hostname TEXT NOT NULL,
  zone TEXT,
  pool TEXT,
  domain TEXT,
  agent_name TEXT,
  macs TEXT,
  text TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS postings (
  key TEXT NOT NULL,
  last INTEGER NOT NULL,
  base INTEGER NOT NULL,
  offs BLOB NOT NULL,
  PRIMARY KEY (key, last)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/** Version 1 indexed with six secondary indexes; the store drops them and lists existing events in posting rows. */
export const DROP_V1_INDEXES = `
DROP INDEX IF EXISTS events_type;
DROP INDEX IF EXISTS events_action;
DROP INDEX IF EXISTS events_username;
DROP INDEX IF EXISTS events_hostname;
DROP INDEX IF EXISTS events_node;
DROP INDEX IF EXISTS events_audit;
`;
