/**
 * SQLite table `notices`: every notice the hub sent (supervision, self-tests, reminders, reports),
 * with the team it concerns so team leaders can be scoped to theirs.
 */
import type { Db } from '../store/database.ts';
import { migrate } from '../store/database.ts';
import type { Notice, NoticeParams, NoticeSeverity } from '../protocol/schema.ts';

export interface StoredNotice extends Notice {
  id: number;
  team: string | null;
}

export interface NoticeQuery {
  /** Only this household's notices. */
  household?: string;
  /** Only notices concerning this team (its households and its digests). */
  team?: string;
  severity?: NoticeSeverity;
  notice?: string;
  since?: number;
  until?: number;
  limit?: number;
  /** Notices with an id lower than this (paging backwards). */
  before?: number;
}

const MIGRATIONS = [
  `CREATE TABLE notices (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     notice TEXT NOT NULL,
     severity TEXT NOT NULL,
     team TEXT,
     household TEXT,
     device TEXT,
     text TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX notices_at ON notices (at);
   CREATE INDEX notices_household_at ON notices (household, at);
   CREATE INDEX notices_team_at ON notices (team, at);`,
  // Parameters for rendering the notice in the reader's language (JSON object; null for old notices).
  'ALTER TABLE notices ADD COLUMN params TEXT;',
];

interface Row {
  id: number;
  notice: string;
  severity: NoticeSeverity;
  team: string | null;
  household: string | null;
  device: string | null;
  text: string;
  params: string | null;
  at: number;
}

function parseParams(raw: string | null): NoticeParams | undefined {
  if (!raw) return undefined;
  try {
    const o = JSON.parse(raw) as unknown;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
    const out: NoticeParams = {};
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') out[k] = v;
    return out;
  } catch {
    return undefined;
  }
}

export class NoticeStore {
  private readonly insertStmt;
  constructor(private readonly db: Db) {
    migrate(db, 'notices', MIGRATIONS);
    this.insertStmt = db.prepare('INSERT INTO notices (notice, severity, team, household, device, text, params, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  }

  /** Stores notices in one transaction; returns them with their ids. */
  insertMany(items: ReadonlyArray<Notice & { team: string | null }>): StoredNotice[] {
    const out: StoredNotice[] = [];
    this.db.transaction(() => {
      for (const n of items) {
        const info = this.insertStmt.run(n.notice, n.severity, n.team, n.household, n.device, n.text, n.params ? JSON.stringify(n.params) : null, n.at);
        out.push({ id: Number(info.lastInsertRowid), ...n });
      }
    })();
    return out;
  }

  list(q: NoticeQuery = {}): StoredNotice[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.household !== undefined) {
      where.push('household = ?');
      args.push(q.household);
    }
    if (q.team !== undefined) {
      where.push('team = ?');
      args.push(q.team);
    }
    if (q.severity !== undefined) {
      where.push('severity = ?');
      args.push(q.severity);
    }
    if (q.notice !== undefined) {
      where.push('notice = ?');
      args.push(q.notice);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    if (q.until !== undefined) {
      where.push('at < ?');
      args.push(q.until);
    }
    if (q.before !== undefined) {
      where.push('id < ?');
      args.push(q.before);
    }
    const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
    const sql = `SELECT * FROM notices${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(({ params, ...r }) => {
      const p = parseParams(params);
      return p ? { ...r, params: p } : r;
    });
  }

  /** Offline/flapping notices between two instants (for the daily report). */
  troubles(from: number, to: number): Array<{ team: string; household: string; device: string; notice: string; at: number }> {
    return this.db
      .prepare(
        "SELECT team, household, device, notice, at FROM notices WHERE at >= ? AND at < ? AND notice IN ('offline', 'flapping') AND device IS NOT NULL AND household IS NOT NULL AND team IS NOT NULL",
      )
      .all(from, to) as Array<{ team: string; household: string; device: string; notice: string; at: number }>;
  }

  /** Deletes notices older than `before`; returns how many. */
  prune(before: number): number {
    return this.db.prepare('DELETE FROM notices WHERE at < ?').run(before).changes;
  }
}
