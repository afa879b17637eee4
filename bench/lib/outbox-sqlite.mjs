// The candidate that was not chosen, kept so that the comparison in bench/FINDINGS.md
// (2026-12-01, outbox storage) can be run again: the OutboxStorage interface
// (src/lib/outbox/storage.ts) on better-sqlite3 12.x, which is not a dependency of the package.
// Install it outside the repository and point HB_SQLITE at it:
//
//   npm install --prefix /tmp/sqlite-try better-sqlite3@12
//   HB_SQLITE=/tmp/sqlite-try/node_modules/better-sqlite3 node bench/lib/outbox-child.mjs … sqlite
//
// WAL with synchronous=FULL (an fsync per commit, as the file log fsyncs per batch), and the same
// group commit as the file log: appends that arrive in one turn of the event loop share one
// transaction. better-sqlite3 is synchronous, so that commit (and its fsync) runs on the event
// loop, which the benchmark measures as event-loop delay.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';

const require = createRequire(import.meta.url);

export function sqliteAvailable() {
  const where = process.env.HB_SQLITE || '/tmp/sqlite-try/node_modules/better-sqlite3';
  return fs.existsSync(where) ? where : undefined;
}

export class SqliteOutbox {
  static async open({ directory }) {
    const Database = require(sqliteAvailable());
    fs.mkdirSync(directory, { recursive: true });
    return new SqliteOutbox(new Database(path.join(directory, 'outbox.sqlite')));
  }

  constructor(db) {
    this.db = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE IF NOT EXISTS message (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL, enqueued_at REAL NOT NULL, next_at REAL NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, body TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS message_due ON message (next_at, seq);`);
    this.insert = db.prepare('INSERT INTO message (id, enqueued_at, next_at, body) VALUES (?, ?, ?, ?)');
    this.due = db.prepare('SELECT seq, id, enqueued_at, next_at, attempts, last_error, body FROM message WHERE next_at <= ? ORDER BY next_at, seq LIMIT ?');
    this.remove = db.prepare('DELETE FROM message WHERE seq = ?');
    this.fail = db.prepare('UPDATE message SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE seq = ?');
    this.retry = db.prepare('UPDATE message SET next_at = ?');
    this.oldest = db.prepare('SELECT enqueued_at FROM message ORDER BY seq LIMIT 1').pluck();
    this.nextDueQuery = db.prepare('SELECT min(next_at) FROM message').pluck();
    this.count = db.prepare('SELECT count(*) FROM message').pluck().get();
    this.leased = new Set();
    this.pending = [];
  }

  append(msg, now) {
    return new Promise((resolve, reject) => {
      const id = randomUUID();
      this.pending.push({ run: () => { this.insert.run(id, now, now, JSON.stringify(msg)); this.count++; }, resolve: () => resolve({ id, enqueuedAt: now, attempts: 0, nextAt: now, msg }), reject });
      this.schedule();
    });
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      try {
        this.db.transaction(() => { for (const entry of batch) entry.run(); })();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
        return;
      }
      for (const entry of batch) entry.resolve();
    });
  }

  async lease(now, limit) {
    const rows = this.due.all(now, limit + this.leased.size).filter((row) => !this.leased.has(row.seq)).slice(0, limit);
    return rows.map((row) => {
      this.leased.add(row.seq);
      return {
        id: row.id, enqueuedAt: row.enqueued_at, attempts: row.attempts, nextAt: row.next_at,
        ...(row.last_error !== null && { lastError: row.last_error }), msg: JSON.parse(row.body), seq: row.seq,
      };
    });
  }

  settle(message, outcome) {
    return new Promise((resolve, reject) => {
      this.leased.delete(message.seq);
      const run = outcome.ok === false ? () => this.fail.run(outcome.nextAt, outcome.error, message.seq) : () => { this.remove.run(message.seq); this.count--; };
      this.pending.push({ run, resolve, reject });
      this.schedule();
    });
  }

  // the comparison appends without order keys, so nothing is ever held back to unblock
  unblock() {}

  soleKey() {
    return false;
  }

  async retryAll(now) {
    this.retry.run(now);
  }

  nextDue() {
    return this.nextDueQuery.get() ?? undefined;
  }

  stats() {
    return { count: this.count + this.pending.length, leased: this.leased.size, oldestEnqueuedAt: this.oldest.get() };
  }

  async close() {
    while (this.pending.length || this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    this.db.close();
  }
}
