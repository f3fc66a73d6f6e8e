// The modules' durable key/value store and the latest cluster maps, behind
// small interfaces so that another backend (etcd) can replace SQLite later.
import * as fs from 'fs';
import * as path from 'path';
import Database from 'better-sqlite3';

/** The modules' store: "mgr/<module>/<key>" and "config/mgr/<module>/<key>". */
export interface KvStore {
  get(key: string): Promise<string | undefined>;
  /** Durable before the promise resolves. Returns whether the key existed. */
  set(key: string, value: string): Promise<boolean>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  /** Every key starting with prefix ("" for all), in key order. */
  list(prefix: string): Promise<Array<[string, string]>>;
  close(): void;
}

/** The latest epoch of each map, so a restart keeps epochs. */
export interface MapPersistence {
  saveMap(name: string, epoch: number, json: Buffer): void;
  loadMaps(): Array<{ name: string; epoch: number; json: Buffer }>;
}

/**
 * SQLite in WAL mode with synchronous=FULL: a write that returned has been
 * fsynced to the WAL, so it survives kill -9 and power loss.
 */
export class SqliteStore implements KvStore, MapPersistence {
  private db: Database.Database;
  private stmts: {
    get: Database.Statement;
    upsert: Database.Statement;
    del: Database.Statement;
    listAll: Database.Statement;
    listRange: Database.Statement;
    saveMap: Database.Statement;
    loadMaps: Database.Statement;
  };

  /** What the directory held before this start: 'new', 'current', or 'upgraded' (written by an earlier version). */
  readonly opened: 'new' | 'current' | 'upgraded';

  constructor(dataDir: string) {
    // The store holds the modules' secrets (session keys, password hashes,
    // TLS keys): only its owner may read it, also when an older version made it 644.
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(dataDir, 'cluster-state.db');
    if (!fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    this.db.pragma('synchronous = FULL');
    this.opened = this.checkFormat(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS maps (name TEXT PRIMARY KEY, epoch INTEGER NOT NULL, json BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('format', '${STORE_FORMAT}') ON CONFLICT(key) DO UPDATE SET value = excluded.value;
    `);
    this.stmts = {
      get: this.db.prepare('SELECT value FROM kv WHERE key = ?'),
      upsert: this.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      del: this.db.prepare('DELETE FROM kv WHERE key = ?'),
      listAll: this.db.prepare('SELECT key, value FROM kv ORDER BY key'),
      // Keys in [prefix, prefix + U+FFFF): a range scan on the primary key.
      listRange: this.db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key'),
      saveMap: this.db.prepare(
        'INSERT INTO maps (name, epoch, json) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET epoch = excluded.epoch, json = excluded.json',
      ),
      loadMaps: this.db.prepare('SELECT name, epoch, json FROM maps'),
    };
  }

  async get(key: string): Promise<string | undefined> {
    const row = this.stmts.get.get(key) as { value: string } | undefined;
    return row?.value;
  }

  async set(key: string, value: string): Promise<boolean> {
    return this.db.transaction(() => {
      const existed = this.stmts.get.get(key) !== undefined;
      this.stmts.upsert.run(key, value);
      return existed;
    })();
  }

  async delete(key: string): Promise<boolean> {
    return this.stmts.del.run(key).changes > 0;
  }

  async list(prefix: string): Promise<Array<[string, string]>> {
    const rows = (prefix === '' ? this.stmts.listAll.all() : this.stmts.listRange.all(prefix, prefix + '\uffff')) as Array<{ key: string; value: string }>;
    return rows.filter((r) => r.key.startsWith(prefix)).map((r) => [r.key, r.value]);
  }

  saveMap(name: string, epoch: number, json: Buffer): void {
    this.stmts.saveMap.run(name, epoch, json);
  }

  loadMaps(): Array<{ name: string; epoch: number; json: Buffer }> {
    return this.stmts.loadMaps.all() as Array<{ name: string; epoch: number; json: Buffer }>;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Format 1 (no meta table) is what versions before the typed ingest path
   * wrote: the same kv and maps tables, so it is used as it is (counter
   * history and PG statistics were never on disk; daemons report them again
   * within a period). A newer format is refused with what to do.
   */
  private checkFormat(file: string): 'new' | 'current' | 'upgraded' {
    const table = (name: string) => this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    if (!table('meta')) return table('kv') || table('maps') ? 'upgraded' : 'new';
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined;
    const format = Number(row?.value ?? 1);
    if (format > STORE_FORMAT) {
      this.db.close();
      throw new Error(
        `${file} was written by a newer version of mgrpc (store format ${format}; this version reads formats 1 to ${STORE_FORMAT}): run that version, or start with another --data-dir (MGR_DATA_DIR)`,
      );
    }
    return format < STORE_FORMAT ? 'upgraded' : 'current';
  }
}

/** The store's on-disk format: 2 adds the meta table (the kv and maps tables are format 1's). */
export const STORE_FORMAT = 2;
