import { type RegisteredCapability } from '../capabilities/registered-capabilities.js';
import { type SqlDatabase, type SqlExecutor, type SqlValue } from './sql-database.js';
import {
  type AuditEntry,
  type AuditFilter,
  type Dataset,
  type ModelJobFilter,
  type ModelVersionRecord,
  type ReviewFilter,
  type Reviewer,
  type ReviewItem,
  type Store,
  type ModelJob,
  type ProcessJob,
} from './types.js';

const DEFAULT_LIMIT = 100;

/**
 * Each entry takes the schema from one version to the next and runs once per database; append
 * new ones, never edit a released one. Records live whole in a JSON `body`, so optional fields
 * stay absent on the way back; only what lists filter or order on is copied into columns.
 */
const migrations: readonly ((kind: SqlDatabase['kind']) => readonly string[])[] = [
  (kind) => {
    // Keys sort by code point on both databases: PostgreSQL's default collation follows the
    // locale (where 'a' < 'B'), SQLite's BINARY does not, and list order must not depend on which.
    const key = kind === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
    const serial = kind === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
    return [
      `CREATE TABLE IF NOT EXISTS jobs (id ${key} PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL, body TEXT NOT NULL)`,
      'CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at, id)',
      'CREATE INDEX IF NOT EXISTS jobs_by_type ON jobs (type, created_at)',
      'CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at)',
      // Examples apart from the rest, so listing data sets never reads them.
      `CREATE TABLE IF NOT EXISTS datasets (id ${key} PRIMARY KEY, created_at BIGINT NOT NULL, size INTEGER NOT NULL, body TEXT NOT NULL, examples TEXT NOT NULL)`,
      'CREATE INDEX IF NOT EXISTS datasets_by_created ON datasets (created_at, id)',
      `CREATE TABLE IF NOT EXISTS capabilities (name ${key} PRIMARY KEY, created_at BIGINT NOT NULL, spec TEXT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS reviewers (id ${key} PRIMARY KEY, created_at BIGINT NOT NULL, body TEXT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS reviews (id ${key} PRIMARY KEY, status TEXT NOT NULL, assignee TEXT, capability TEXT NOT NULL, created_at BIGINT NOT NULL, body TEXT NOT NULL)`,
      'CREATE INDEX IF NOT EXISTS reviews_by_status ON reviews (status, created_at)',
      'CREATE INDEX IF NOT EXISTS reviews_by_assignee ON reviews (assignee, created_at)',
      'CREATE INDEX IF NOT EXISTS reviews_by_capability ON reviews (capability, created_at)',
      `CREATE TABLE IF NOT EXISTS audit_log (seq ${serial}, subject TEXT NOT NULL, body TEXT NOT NULL)`,
      'CREATE INDEX IF NOT EXISTS audit_by_subject ON audit_log (subject, seq)',
      `CREATE TABLE IF NOT EXISTS model_versions (model ${key} NOT NULL, version INTEGER NOT NULL, is_default INTEGER NOT NULL, recorded_at BIGINT NOT NULL, manifest TEXT NOT NULL, PRIMARY KEY (model, version))`,
    ];
  },
  // Leases on unfinished jobs: which process runs or queues each, and until when it has said so.
  () => ['ALTER TABLE jobs ADD COLUMN owner TEXT', 'ALTER TABLE jobs ADD COLUMN lease_until BIGINT'],
  // "Jobs" are the /process media jobs; the store keeps model jobs (train, evaluate, predict) only.
  () => ['ALTER TABLE jobs RENAME TO model_jobs'],
  // /process jobs without Redis: the record in `body`, the payload apart (written once, dropped when the job finishes).
  (kind) => {
    const key = kind === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
    return [
      `CREATE TABLE IF NOT EXISTS process_jobs (id ${key} PRIMARY KEY, queue TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL,
         finished_at BIGINT, owner TEXT, lease_until BIGINT, body TEXT NOT NULL, payload TEXT)`,
      'CREATE INDEX IF NOT EXISTS process_jobs_by_status ON process_jobs (status, queue, created_at)',
      'CREATE INDEX IF NOT EXISTS process_jobs_by_finished ON process_jobs (finished_at)',
    ];
  },
];

/** Job statuses a lease can hold and a running process may still overwrite. */
const UNFINISHED = "status IN ('queued', 'running')";

/** The latest schema version this code writes. */
export const schemaVersion = migrations.length;

interface BodyRow {
  readonly body: string;
}

/** The `Store` over any `SqlDatabase`; the SQL is the same for SQLite and PostgreSQL but for the DDL. */
export class SqlStore implements Store {
  readonly kind: SqlDatabase['kind'];
  readonly #db: SqlDatabase;

  private constructor(db: SqlDatabase) {
    this.#db = db;
    this.kind = db.kind;
  }

  /**
   * Brings the schema up to date and returns the store, which owns `db` from then on (closing
   * it when the store closes, or here when migrating fails). Refuses a database written by a
   * newer capserve rather than guess at its tables.
   */
  static async open(db: SqlDatabase): Promise<SqlStore> {
    try {
      await db.transaction((tx) => migrate(tx, db.kind), { lock: 'capserve:migrate' });
    } catch (error) {
      await db.close();
      throw error;
    }
    return new SqlStore(db);
  }

  async putModelJob(job: ModelJob): Promise<void> {
    await this.#db.run(
      `INSERT INTO model_jobs (id, type, status, created_at, body) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET type = excluded.type, status = excluded.status, created_at = excluded.created_at, body = excluded.body`,
      [job.id, job.type, job.status, job.createdAt, JSON.stringify(job)],
    );
  }

  async updateUnfinishedModelJob(job: ModelJob, owner?: string): Promise<boolean> {
    const byOwner = owner === undefined ? '' : ' AND owner = ?';
    const { changes } = await this.#db.run(`UPDATE model_jobs SET status = ?, body = ? WHERE id = ? AND ${UNFINISHED}${byOwner}`, [
      job.status,
      JSON.stringify(job),
      job.id,
      ...(owner === undefined ? [] : [owner]),
    ]);
    return changes === 1;
  }

  async claimModelJob(id: string, owner: string, leaseUntil: number, now: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      `UPDATE model_jobs SET owner = ?, lease_until = ? WHERE id = ? AND ${UNFINISHED} AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)`,
      [owner, leaseUntil, id, owner, now],
    );
    return changes === 1;
  }

  async claimableModelJobIds(now: number): Promise<string[]> {
    const rows = await this.#db.all<{ id: string }>(
      `SELECT id FROM model_jobs WHERE ${UNFINISHED} AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at, id`,
      [now],
    );
    return rows.map((row) => row.id);
  }

  async renewModelJobLeases(owner: string, leaseUntil: number): Promise<number> {
    const { changes } = await this.#db.run(`UPDATE model_jobs SET lease_until = ? WHERE owner = ? AND ${UNFINISHED}`, [leaseUntil, owner]);
    return changes;
  }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.#db.exclusive(name, fn);
  }

  async putProcessJob(job: ProcessJob, payload: unknown, owner: string, leaseUntil: number): Promise<void> {
    await this.#db.run(
      `INSERT INTO process_jobs (id, queue, status, created_at, finished_at, owner, lease_until, body, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [job.id, job.queue, job.status, job.createdAt, job.finishedAt ?? null, owner, leaseUntil, JSON.stringify(job), JSON.stringify(payload)],
    );
  }

  async updateUnfinishedProcessJob(job: ProcessJob, owner?: string): Promise<boolean> {
    const byOwner = owner === undefined ? '' : ' AND owner = ?';
    // A finished job is never run again, so its payload (perhaps a whole file) goes with it.
    const payload = job.status === 'queued' || job.status === 'running' ? '' : ', payload = NULL';
    const { changes } = await this.#db.run(`UPDATE process_jobs SET status = ?, finished_at = ?, body = ?${payload} WHERE id = ? AND ${UNFINISHED}${byOwner}`, [
      job.status,
      job.finishedAt ?? null,
      JSON.stringify(job),
      job.id,
      ...(owner === undefined ? [] : [owner]),
    ]);
    return changes === 1;
  }

  async claimProcessJob(id: string, owner: string, leaseUntil: number, now: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      `UPDATE process_jobs SET owner = ?, lease_until = ? WHERE id = ? AND ${UNFINISHED} AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)`,
      [owner, leaseUntil, id, owner, now],
    );
    return changes === 1;
  }

  async claimableProcessJobIds(queue: string, now: number): Promise<string[]> {
    const rows = await this.#db.all<{ id: string }>(
      `SELECT id FROM process_jobs WHERE ${UNFINISHED} AND queue = ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at, id`,
      [queue, now],
    );
    return rows.map((row) => row.id);
  }

  async renewProcessJobLeases(owner: string, leaseUntil: number): Promise<number> {
    const { changes } = await this.#db.run(`UPDATE process_jobs SET lease_until = ? WHERE owner = ? AND ${UNFINISHED}`, [leaseUntil, owner]);
    return changes;
  }

  async getProcessJob(id: string): Promise<ProcessJob | undefined> {
    return this.#one<ProcessJob>('SELECT body FROM process_jobs WHERE id = ?', [id]);
  }

  async getProcessJobPayload(id: string): Promise<unknown> {
    const [row] = await this.#db.all<{ payload: string | null }>('SELECT payload FROM process_jobs WHERE id = ?', [id]);
    return row?.payload == null ? undefined : (JSON.parse(row.payload) as unknown);
  }

  async deleteProcessJobsFinishedBefore(before: number): Promise<number> {
    return (await this.#db.run('DELETE FROM process_jobs WHERE finished_at IS NOT NULL AND finished_at < ?', [before])).changes;
  }

  async getModelJob(id: string): Promise<ModelJob | undefined> {
    return this.#one<ModelJob>('SELECT body FROM model_jobs WHERE id = ?', [id]);
  }

  async listModelJobs(filter: ModelJobFilter = {}): Promise<ModelJob[]> {
    const where = new Where();
    if (filter.type !== undefined) where.equals('type', filter.type);
    if (filter.statuses !== undefined) where.in('status', filter.statuses);
    return this.#bodies<ModelJob>(`SELECT body FROM model_jobs${where} ORDER BY created_at DESC, id DESC LIMIT ?`, where, filter.limit);
  }

  async putDataset(dataset: Dataset): Promise<void> {
    const { examples, ...meta } = dataset;
    await this.#db.run(
      `INSERT INTO datasets (id, created_at, size, body, examples) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, size = excluded.size, body = excluded.body, examples = excluded.examples`,
      [dataset.id, dataset.createdAt, examples.length, JSON.stringify(meta), JSON.stringify(examples)],
    );
  }

  async getDataset(id: string): Promise<Dataset | undefined> {
    const [row] = await this.#db.all<{ body: string; examples: string }>('SELECT body, examples FROM datasets WHERE id = ?', [id]);
    return row === undefined ? undefined : { ...(JSON.parse(row.body) as Omit<Dataset, 'examples'>), examples: JSON.parse(row.examples) as Dataset['examples'] };
  }

  async listDatasets(limit?: number): Promise<(Omit<Dataset, 'examples'> & { readonly size: number })[]> {
    const rows = await this.#db.all<{ body: string; size: number }>('SELECT body, size FROM datasets ORDER BY created_at DESC, id DESC LIMIT ?', [limitOf(limit)]);
    return rows.map((row) => ({ ...(JSON.parse(row.body) as Omit<Dataset, 'examples'>), size: row.size }));
  }

  async putCapability(capability: RegisteredCapability): Promise<void> {
    await this.#db.run(
      `INSERT INTO capabilities (name, created_at, spec) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at, spec = excluded.spec`,
      [capability.name, capability.createdAt, JSON.stringify(capability.spec)],
    );
  }

  /** By name: the interface leaves their order open, and a registry is easiest to read sorted. */
  async listCapabilities(): Promise<RegisteredCapability[]> {
    const rows = await this.#db.all<{ name: string; created_at: number; spec: string }>('SELECT name, created_at, spec FROM capabilities ORDER BY name');
    return rows.map((row) => ({ name: row.name, spec: JSON.parse(row.spec) as RegisteredCapability['spec'], createdAt: row.created_at }));
  }

  async deleteCapability(name: string): Promise<boolean> {
    return (await this.#db.run('DELETE FROM capabilities WHERE name = ?', [name])).changes > 0;
  }

  async putReviewer(reviewer: Reviewer): Promise<void> {
    await this.#db.run(
      `INSERT INTO reviewers (id, created_at, body) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, body = excluded.body`,
      [reviewer.id, reviewer.createdAt, JSON.stringify(reviewer)],
    );
  }

  async getReviewer(id: string): Promise<Reviewer | undefined> {
    return this.#one<Reviewer>('SELECT body FROM reviewers WHERE id = ?', [id]);
  }

  async listReviewers(): Promise<Reviewer[]> {
    const rows = await this.#db.all<BodyRow>('SELECT body FROM reviewers ORDER BY created_at, id');
    return rows.map((row) => JSON.parse(row.body) as Reviewer);
  }

  async putReview(item: ReviewItem): Promise<void> {
    await this.#db.run(
      `INSERT INTO reviews (id, status, assignee, capability, created_at, body) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, assignee = excluded.assignee, capability = excluded.capability,
         created_at = excluded.created_at, body = excluded.body`,
      [item.id, item.status, item.assignee ?? null, item.capability, item.createdAt, JSON.stringify(item)],
    );
  }

  async getReview(id: string): Promise<ReviewItem | undefined> {
    return this.#one<ReviewItem>('SELECT body FROM reviews WHERE id = ?', [id]);
  }

  async listReviews(filter: ReviewFilter = {}): Promise<ReviewItem[]> {
    const where = new Where();
    if (filter.statuses !== undefined) where.in('status', filter.statuses);
    if (filter.assignee !== undefined) where.equals('assignee', filter.assignee);
    if (filter.capability !== undefined) where.equals('capability', filter.capability);
    return this.#bodies<ReviewItem>(`SELECT body FROM reviews${where} ORDER BY created_at, id LIMIT ?`, where, filter.limit);
  }

  /**
   * Serialised with every other append (across processes too): PostgreSQL hands out BIGSERIAL
   * values before commit, so two concurrent appends could commit out of `seq` order and a
   * reader paging with `afterSeq` would skip the later-committed lower one for good.
   */
  async appendAudit(entry: Omit<AuditEntry, 'seq'>): Promise<AuditEntry> {
    const body = { at: entry.at, actor: entry.actor, action: entry.action, subject: entry.subject, details: entry.details };
    const [row] = await this.#db.transaction(
      (tx) => tx.all<{ seq: number }>('INSERT INTO audit_log (subject, body) VALUES (?, ?) RETURNING seq', [entry.subject, JSON.stringify(body)]),
      { lock: 'capserve:audit' },
    );
    if (row === undefined) throw new Error('INSERT ... RETURNING seq returned no row');
    return { seq: row.seq, ...body };
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const where = new Where();
    if (filter.subject !== undefined) where.equals('subject', filter.subject);
    if (filter.afterSeq !== undefined) where.add('seq > ?', filter.afterSeq);
    const rows = await this.#db.all<{ seq: number; body: string }>(`SELECT seq, body FROM audit_log${where} ORDER BY seq LIMIT ?`, [
      ...where.params,
      limitOf(filter.limit),
    ]);
    return rows.map((row) => ({ seq: row.seq, ...(JSON.parse(row.body) as Omit<AuditEntry, 'seq'>) }));
  }

  async putModelVersion(record: ModelVersionRecord): Promise<void> {
    // The lock keeps two versions of one model from both becoming default when both rows are new.
    await this.#db.transaction(
      async (tx) => {
        if (record.isDefault) {
          await tx.run('UPDATE model_versions SET is_default = 0 WHERE model = ? AND version <> ? AND is_default <> 0', [record.model, record.version]);
        }
        await tx.run(
          `INSERT INTO model_versions (model, version, is_default, recorded_at, manifest) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (model, version) DO UPDATE SET is_default = excluded.is_default, recorded_at = excluded.recorded_at, manifest = excluded.manifest`,
          [record.model, record.version, record.isDefault ? 1 : 0, record.recordedAt, JSON.stringify(record.manifest)],
        );
      },
      { lock: `capserve:model:${record.model}` },
    );
  }

  async listModelVersions(model?: string): Promise<ModelVersionRecord[]> {
    const where = new Where();
    if (model !== undefined) where.equals('model', model);
    const rows = await this.#db.all<{ model: string; version: number; is_default: number; recorded_at: number; manifest: string }>(
      `SELECT model, version, is_default, recorded_at, manifest FROM model_versions${where} ORDER BY model, version`,
      where.params,
    );
    return rows.map((row) => ({
      model: row.model,
      version: row.version,
      manifest: JSON.parse(row.manifest) as ModelVersionRecord['manifest'],
      isDefault: row.is_default !== 0,
      recordedAt: row.recorded_at,
    }));
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  async #one<T>(sql: string, params: readonly SqlValue[]): Promise<T | undefined> {
    const [row] = await this.#db.all<BodyRow>(sql, params);
    return row === undefined ? undefined : (JSON.parse(row.body) as T);
  }

  async #bodies<T>(sql: string, where: Where, limit: number | undefined): Promise<T[]> {
    if (where.empty) return [];
    const rows = await this.#db.all<BodyRow>(sql, [...where.params, limitOf(limit)]);
    return rows.map((row) => JSON.parse(row.body) as T);
  }
}

async function migrate(tx: SqlExecutor, kind: SqlDatabase['kind']): Promise<void> {
  // A single row (id = 1) so that concurrent or repeated runs update one version, never add another.
  await tx.run('CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)');
  const [row] = await tx.all<{ version: number }>('SELECT version FROM schema_version WHERE id = 1');
  const current = row?.version ?? 0;
  if (current > migrations.length) throw new Error(`the database schema is at version ${current}; this capserve knows versions up to ${migrations.length}`);
  if (current === migrations.length) return;
  for (const migration of migrations.slice(current)) for (const sql of migration(kind)) await tx.run(sql);
  await tx.run('INSERT INTO schema_version (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version', [migrations.length]);
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** A WHERE clause built from optional filters; renders as '' when there is none. */
class Where {
  readonly #clauses: string[] = [];
  readonly params: SqlValue[] = [];
  /** An `in` over no values: nothing can match, so the query is not worth running. */
  empty = false;

  add(clause: string, ...params: SqlValue[]): void {
    this.#clauses.push(clause);
    this.params.push(...params);
  }

  equals(column: string, value: SqlValue): void {
    this.add(`${column} = ?`, value);
  }

  in(column: string, values: readonly SqlValue[]): void {
    if (values.length === 0) this.empty = true;
    else this.add(`${column} IN (${values.map(() => '?').join(', ')})`, ...values);
  }

  toString(): string {
    return this.#clauses.length === 0 ? '' : ` WHERE ${this.#clauses.join(' AND ')}`;
  }
}
