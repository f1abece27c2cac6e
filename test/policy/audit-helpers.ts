/**
 * Shared by the audit log tests: tampering with the SQLite file as an attacker with the file would,
 * and running `maestro audit …` as a user does.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { REPO_ROOT } from '../peers/install.js';

const run = promisify(execFile);

/** Runs SQL on `<dir>/registry.db` with the audit log's append-only triggers dropped for it, then puts them back. */
export function tamperSqlite(dir: string, sql: string): void {
  const db = new Database(join(dir, 'registry.db'));
  const triggers = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`).all() as { name: string; sql: string }[];
  for (const trigger of triggers) db.exec(`DROP TRIGGER ${trigger.name}`);
  db.exec(sql);
  for (const trigger of triggers) db.exec(trigger.sql);
  db.close();
}

/** `maestro audit <args>` with `env` added to the environment: its exit code and output. */
export async function maestroAudit(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'audit', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}
