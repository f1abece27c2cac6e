/**
 * `maestro audit verify`, `maestro audit anchor` and `maestro audit list`: the policy decision and
 * audit log, read straight from the registry's database (`MAESTRO_DATABASE_URL`, else
 * `<dataDir>/registry.db`), and signed checkpoints of its head kept in a file.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type StoreSettings } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { ProvenanceConfig } from '../provenance/index.js';
import type { AuditLog } from '../store/index.js';

async function withLog<T>(work: (log: AuditLog, config: ProvenanceConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { openAuditLog } = await import('../store/index.js');
  const log = await openAuditLog({ ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }), dataDir: config.dataDir });
  try {
    return await work(log, config);
  } finally {
    await log.close();
  }
}

/** Where `audit anchor` writes its checkpoint and `audit verify` looks for one by default. */
function defaultAnchorFile(config: Pick<StoreSettings, 'dataDir'>): string {
  return join(config.dataDir, 'audit-anchor.json');
}

/**
 * Adds `audit verify` (exit 0 intact, 1 broken; names the first broken record, or the anchored
 * head that is gone or changed), `audit anchor` and `audit list`.
 *
 * @param setExitCode receives the command's exit code.
 */
export function registerAuditCommands(program: Command, setExitCode: (code: number) => void): void {
  const audit = program.command('audit').description('the policy decision and audit log (append-only, hash-chained)');

  audit
    .command('verify')
    .description('walk the hash chain and check the anchored head; exit 0 when intact, 1 naming the first broken record or the broken anchor')
    .option('--anchor <file>', 'signed checkpoint of `audit anchor` to check (default <dataDir>/audit-anchor.json, when it exists)')
    .option('--json', 'print the report as JSON')
    .action(async (options: { anchor?: string; json?: boolean }) => {
      const [{ checkAuditAnchor, describeAnchorCheck, describeChainReport }, { trustedKeysFromConfig }] = await Promise.all([import('../policy/index.js'), import('../provenance/index.js')]);
      const { report, anchor } = await withLog(async (log, config) => {
        const file = options.anchor ?? defaultAnchorFile(config);
        if (options.anchor === undefined && !existsSync(file)) return { report: await log.verify(), anchor: undefined };
        const bundle = await readFile(file, 'utf8').catch((error: unknown) => {
          throw new ConfigError(`cannot read the audit anchor ${file}: ${(error as Error).message}`, { cause: error });
        });
        return { report: await log.verify(), anchor: await checkAuditAnchor(log, bundle, await trustedKeysFromConfig(config)) };
      });
      if (options.json) console.log(JSON.stringify(anchor === undefined ? report : { ...report, anchor }, null, 2));
      else console.log([describeChainReport(report), ...(anchor === undefined ? [] : [describeAnchorCheck(anchor)])].join('\n'));
      setExitCode(report.ok && (anchor?.ok ?? true) ? 0 : 1);
    });

  audit
    .command('anchor')
    .description('verify the chain, then write a signed checkpoint of its head (sequence and hash) for `audit verify` to check; keep a copy elsewhere')
    .option('--out <file>', 'where to write the checkpoint (default <dataDir>/audit-anchor.json)')
    .action(async (options: { out?: string }) => {
      const [{ anchorAuditLog }, { openProvenance }] = await Promise.all([import('../policy/index.js'), import('../provenance/index.js')]);
      const { checkpoint, file } = await withLog(async (log, config) => {
        const anchored = await anchorAuditLog(log, (await openProvenance(config)).signer);
        const out = options.out ?? defaultAnchorFile(config);
        await mkdir(dirname(out), { recursive: true });
        await writeFile(out, `${JSON.stringify(anchored.bundle, null, 2)}\n`);
        return { checkpoint: anchored.checkpoint, file: out };
      });
      console.log(`anchored record #${checkpoint.seq} (head ${checkpoint.head}) in ${file}`);
      setExitCode(0);
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
