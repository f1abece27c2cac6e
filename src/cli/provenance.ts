/**
 * Provenance commands: `receipt verify FILE`, `receipt show RUN_ID`, `replay RUN_ID`,
 * `disclosure pack RUN_ID... -o bundle.zip` and `disclosure verify bundle.zip`. Verification
 * never needs the network; the trusted keys are `--key` files, else the signing key's public key
 * and `MAESTRO_TRUSTED_KEYS_DIR`.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { ConfigError, MaestroError } from '../errors/index.js';
import type { RunState } from '../ir/index.js';
import type { Verification } from '../provenance/index.js';
import { collect } from './api-commands.js';

/** The provenance module, loaded by the commands that use it: Sigstore and the store are not every command's to load. */
const provenanceModule = () => import('../provenance/index.js');

/**
 * Adds the provenance commands. Exit codes: 0 verified / hash-equal, 1 verification failed or
 * replay different, 2 bad input.
 *
 * @param setExitCode receives the command's exit code.
 */
export function registerProvenanceCommands(program: Command, setExitCode: (code: number) => void): void {
  const receipt = program.command('receipt').description('signed run receipts (in-toto / SLSA provenance in a Sigstore bundle)');

  receipt
    .command('verify')
    .description('verify a receipt or attestation offline; exit 0 valid, 1 invalid with the reason')
    .argument('<file>', 'Sigstore bundle JSON (GET /runs/{runId}/receipt, or npm run attest)')
    .addOption(trustedKeysOption())
    .option('--run-state <file>', "check the run's task outputs and state (JSON of GET /runs/{runId}) against the subjects")
    .option('--files <dir>', "check each subject named by a relative path against that file under <dir> (release attestations)")
    .option('--json', 'print {ok, code, reason, ...} as JSON')
    .action(async (file: string, options: { key: string[]; runState?: string; files?: string; json?: boolean }) => {
      const { readSubjectFiles, verifyReceipt } = await provenanceModule();
      const publicKeys = await trustedKeys(options.key);
      const bundle = await readFile(file);
      const run = options.runState === undefined ? undefined : await readRunState(options.runState);
      let result: Verification = verifyReceipt(bundle, { publicKeys, ...(run ? { run } : {}) });
      if (result.ok && options.files !== undefined) {
        const { artifacts, missing } = await readSubjectFiles(result.statement, options.files);
        result = missing[0] !== undefined
          ? { ok: false, code: 'SUBJECT_MISSING', reason: `subject file "${missing[0]}" is absent from ${options.files}` }
          : verifyReceipt(bundle, { publicKeys, artifacts });
      }
      print(options.json, result, () =>
        result.ok
          ? `${file}: verified (key ${result.keyId ?? 'keyless'}; ${result.statement.subject.length} subjects)`
          : `${file}: NOT verified (${result.code}): ${result.reason}`,
      );
      setExitCode(result.ok ? 0 : 1);
    });

  receipt
    .command('show')
    .description("print a run's stored receipt (the Sigstore bundle JSON)")
    .argument('<runId>')
    .action(async (runId: string) => {
      const { receiptStoreFromConfig } = await provenanceModule();
      process.stdout.write(Buffer.from((await receiptStoreFromConfig(loadConfig()).read(runId)).bytes));
      setExitCode(0);
    });

  program
    .command('replay')
    .description('re-run a finished run from its IR and params, cache bypassed, as a run start the policy decides and the audit log records; waits for its approvals, then compares every output hash with the receipt')
    .argument('<runId>')
    .option('--json', 'print the report as JSON')
    .action(async (runId: string, options: { json?: boolean }) => {
      const [{ receiptStoreFromConfig }, { replayRun }, { localPrincipal, withLaunchContext }] = await Promise.all([provenanceModule(), import('../runs/index.js'), import('./temporal.js')]);
      const config = loadConfig();
      const publicKeys = await trustedKeys([]);
      const principal = localPrincipal();
      const report = await withLaunchContext(config, (context) =>
        replayRun(context, runId, { receipts: receiptStoreFromConfig(config), publicKeys, principal, startedBy: principal.subject }),
      );
      print(options.json, report, () =>
        [
          `replay ${report.replayRunId} of ${runId}: ${report.replayStatus}, ${report.equal ? 'hash-equal' : 'DIFFERENT'}`,
          ...report.tasks.map((task) => `  ${task.taskId}: ${task.verdict}${task.verdict === 'equal' ? '' : ` (${task.original ?? 'none'} → ${task.replay ?? 'none'})`}`),
        ].join('\n'),
      );
      setExitCode(report.equal ? 0 : 1);
    });

  const disclosure = program.command('disclosure').description('disclosure bundles: receipts, approvals, decisions and artifacts in one signed zip');

  disclosure
    .command('pack')
    .description('write a disclosure bundle for one or more runs')
    .argument('<runIds...>')
    .requiredOption('-o, --out <zip>', 'the bundle to write')
    .option('--file <path>', 'an extra file to include, inside the working folder or a --root (repeatable)', collect, [])
    .option('--root <dir>', 'another folder extra files may come from (repeatable)', collect, [])
    .option('--max-bytes <n>', 'refuse bundles larger than this', '268435456')
    .option('--json', 'print the result as JSON')
    .action(async (runIds: string[], options: { out: string; file: string[]; root: string[]; maxBytes: string; json?: boolean }) => {
      const maxBytes = Number(options.maxBytes);
      if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new MaestroError('BAD_REQUEST', '--max-bytes must be a positive integer');
      const [{ auditDecisionLog, openProvenance, packDisclosure }, { FsArtifactStore, openAuditLog }] = await Promise.all([provenanceModule(), import('../store/index.js')]);
      const config = loadConfig();
      const provenance = await openProvenance(config);
      const log = await openAuditLog({ ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }), dataDir: config.dataDir });
      try {
        const result = await packDisclosure({
          runIds,
          outPath: options.out,
          roots: [process.cwd(), dirname(resolve(options.out)), ...options.root],
          files: options.file,
          maxBytes,
          receipts: provenance.receipts,
          artifacts: new FsArtifactStore({ root: config.artifactDir }),
          signer: provenance.signer,
          publicKeys: provenance.trustedKeys,
          decisionLog: auditDecisionLog(log),
        });
        print(options.json, result, () => `${result.path}: ${result.files} files, ${result.bytes} bytes, ${result.digest}`);
      } finally {
        await log.close();
      }
      setExitCode(0);
    });

  disclosure
    .command('verify')
    .description('check every hash and signature of a bundle; exit 0 valid, 1 naming the first tampered, missing or extra file')
    .argument('<zip>')
    .addOption(trustedKeysOption())
    .option('--max-bytes <n>', 'refuse bundles whose content is larger', '1073741824')
    .option('--json', 'print the result as JSON')
    .action(async (zip: string, options: { key: string[]; maxBytes: string; json?: boolean }) => {
      const { verifyDisclosure } = await provenanceModule();
      const result = await verifyDisclosure(zip, { publicKeys: await trustedKeys(options.key), maxBytes: Number(options.maxBytes) || 1024 ** 3 });
      print(options.json, result, () =>
        result.ok
          ? `${zip}: verified (${result.files} files; runs ${result.runs.join(', ')})`
          : `${zip}: NOT verified (${result.code}${result.file ? `, ${result.file}` : ''}): ${result.reason}`,
      );
      setExitCode(result.ok ? 0 : 1);
    });
}

/**
 * `-k, --key <pem>` (repeatable): the public key files a verification trusts, read by
 * {@link trustedKeys}; none given, the configured keys.
 */
export function trustedKeysOption(): Option {
  return new Option('-k, --key <pem>', 'trusted public key file (repeatable); default: the configured keys').argParser(collect).default([]);
}

/**
 * The keys verification trusts: the `--key` files when given, else the signing key's public key and
 * `MAESTRO_TRUSTED_KEYS_DIR`.
 *
 * @throws ConfigError when there is none.
 */
export async function trustedKeys(keyFiles: string[]): Promise<KeyObject[]> {
  const { readPublicKeys, trustedKeysFromConfig } = await provenanceModule();
  const keys = keyFiles.length > 0 ? await readPublicKeys(keyFiles) : await trustedKeysFromConfig(loadConfig());
  if (keys.length === 0) {
    throw new ConfigError('no trusted keys: pass --key <public key PEM>, set MAESTRO_TRUSTED_KEYS_DIR, or create the signing key (npm start)');
  }
  return keys;
}

async function readRunState(file: string): Promise<RunState> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new MaestroError('BAD_REQUEST', `${file} is not JSON`, { cause: error });
    throw error;
  }
  const looksLikeState =
    typeof value === 'object' && value !== null && typeof (value as { runId?: unknown }).runId === 'string' && Array.isArray((value as { tasks?: unknown }).tasks);
  if (!looksLikeState) throw new MaestroError('BAD_REQUEST', `${file} is not a run state ({runId, tasks, ...})`);
  return value as RunState;
}

function print(json: boolean | undefined, value: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text());
}
