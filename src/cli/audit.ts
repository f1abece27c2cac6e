/**
 * `maestro audit verify` and `maestro audit list`: the policy decision and audit log, read
 * straight from the registry's database (`MAESTRO_DATABASE_URL`, else `<dataDir>/registry.db`).
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { describeChainReport } from '../policy/index.js';
import { openAuditLog, type AuditLog } from '../store/index.js';

async function withLog<T>(work: (log: AuditLog) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const log = await openAuditLog({ ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }), dataDir: config.dataDir });
  try {
    return await work(log);
  } finally {
    await log.close();
  }
}

/**
 * Adds `audit verify` (exit 0 intact, 1 broken; names the first broken record) and `audit list`.
 *
 * @param setExitCode receives the command's exit code.
 */
export function registerAuditCommands(program: Command, setExitCode: (code: number) => void): void {
  const audit = program.command('audit').description('the policy decision and audit log (append-only, hash-chained)');

  audit
    .command('verify')
    .description('walk the hash chain; exit 0 when intact, 1 naming the first broken record')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await withLog((log) => log.verify());
      console.log(options.json ? JSON.stringify(report, null, 2) : describeChainReport(report));
      setExitCode(report.ok ? 0 : 1);
    });

  audit
    .command('list')
    .description('print records in chain order')
    .option('--run <runId>', 'only this run')
    .option('--kind <kind>', 'decision | approval | cancellation | retry')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON')
    .action(async (options: { run?: string; kind?: string; limit: string; json?: boolean }) => {
      const records = await withLog((log) =>
        log.list({ ...(options.run ? { runId: options.run } : {}), ...(options.kind ? { kind: options.kind } : {}), limit: Number(options.limit) || 100 }),
      );
      if (options.json) console.log(JSON.stringify(records, null, 2));
      else for (const r of records) console.log(`#${r.seq} ${r.time} ${r.kind} ${r.result} run=${r.runId ?? '-'} task=${r.taskId ?? '-'} by=${r.actor ?? '-'}${r.reasons.length ? ` — ${r.reasons.join('; ')}` : ''}`);
      setExitCode(0);
    });
}
