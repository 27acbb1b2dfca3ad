/** @module SQLite schema of the event log: one row per event with its indexed facts and its canonical JSON. */

export const SCHEMA_VERSION = 1;

// Indexes are partial where most rows would carry an empty value, so ingest pays only for rows that have one.
// Every query repeats the partial index's condition word for word, which is what lets SQLite's planner use it.
// There is no project index: LXD's scoping (`project IN (p, '')`) cannot be read from one in id order, so the planner
// would sort a whole project to return a page; type, action, user and host indexes serve pages instead.
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
CREATE INDEX IF NOT EXISTS events_type ON events (type, id);
CREATE INDEX IF NOT EXISTS events_action ON events (action, id) WHERE action != '';
CREATE INDEX IF NOT EXISTS events_username ON events (username, id) WHERE username != '';
CREATE INDEX IF NOT EXISTS events_hostname ON events (hostname, id) WHERE hostname != '';
CREATE INDEX IF NOT EXISTS events_node ON events (node, id) WHERE node IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_audit ON events (audit, id) WHERE audit = 1;
CREATE TABLE IF NOT EXISTS state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;
