/**
 * `maestro logs prune --older-than 30d`: deletes task log lines older than a duration, straight
 * from the registry's database (`MAESTRO_DATABASE_URL`, else `<dataDir>/registry.db`), on SQLite
 * or PostgreSQL. The API does the same every hour when `MAESTRO_TASK_LOG_RETENTION` is set.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import { parseDuration } from '../ir/index.js';

/**
 * Adds `logs prune`.
 *
 * @param setExitCode receives the command's exit code (0; a bad duration is 2, as bad input is).
 */
export function registerLogCommands(program: Command, setExitCode: (code: number) => void): void {
  const logs = program.command('logs').description('the task log: what task attempts logged (read it with `maestro runs logs`)');

  logs
    .command('prune')
    .description('delete task log lines older than a duration, of every run; prints how many')
    .requiredOption('--older-than <duration>', 'age of the lines to delete, e.g. 30d, 12h, 90m')
    .action(async (options: { olderThan: string }) => {
      const ageMs = parseDuration(options.olderThan);
      if (ageMs === undefined || ageMs <= 0) throw new MaestroError('BAD_REQUEST', `--older-than "${options.olderThan}" is not a duration such as 30d, 12h or 90m`);
      const config = loadConfig();
      const before = new Date(Date.now() - ageMs);
      const { openTaskLog } = await import('../store/index.js');
      const taskLog = await openTaskLog({ ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }), dataDir: config.dataDir });
      try {
        const deleted = await taskLog.prune(before);
        console.log(`deleted ${deleted} task log line${deleted === 1 ? '' : 's'} logged before ${before.toISOString()}`);
      } finally {
        await taskLog.close();
      }
      setExitCode(0);
    });
}
