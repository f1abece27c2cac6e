/**
 * `maestro runners check`: which runners this worker's config can reach, and why not.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import type { RunsOn } from '../ir/index.js';

const RUNNERS: readonly RunsOn[] = ['local', 'container', 'k8s', 'serverless'];

/**
 * Adds `runners check [--json] [--require container,k8s]`. Exit code 0 unless a required runner
 * is unreachable (1); without `--require` it only reports.
 */
export function registerRunnerCommands(program: Command, setExitCode: (code: number) => void): void {
  const runners = program.command('runners').description('the places tasks run: local, container, k8s, serverless');
  runners
    .command('check')
    .description('report which runners are reachable with the current config (DOCKER_HOST, KUBECONFIG, MAESTRO_FUNCTIONS …) and why not')
    .option('--json', 'print the report as JSON')
    .option('--require <runners>', 'comma-separated runners that must be reachable (exit 1 otherwise)', '')
    .action(async (options: { json?: boolean; require: string }) => {
      const required = options.require.split(',').map((name) => name.trim()).filter(Boolean);
      const unknown = required.filter((name) => !RUNNERS.includes(name as RunsOn));
      if (unknown.length > 0) {
        console.error(`maestro: unknown runner(s) ${unknown.join(', ')} (known: ${RUNNERS.join(', ')})`);
        setExitCode(2);
        return;
      }
      const { checkRunners } = await import('../runners/index.js');
      const report = await checkRunners(loadConfig());
      if (options.json) console.log(JSON.stringify(report, null, 2));
      else for (const check of report) console.log(`${check.runner.padEnd(10)} ${check.reachable ? 'reachable  ' : 'unreachable'}  ${check.detail}`);
      const missing = report.filter((check) => required.includes(check.runner) && !check.reachable);
      setExitCode(missing.length > 0 ? 1 : 0);
    });
}
