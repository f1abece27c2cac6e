/**
 * Where the payload codec's keys come from: `MAESTRO_PAYLOAD_KEY`, else the file
 * `MAESTRO_PAYLOAD_KEY_FILE`, else `<dataDir>/payload-key`, created with a fresh random key the
 * first time any Maestro process (`npm start`, `maestro dev`, the API, a worker, the CLI) needs it.
 * Every process that shares a Temporal namespace must share the keys: on one host they share the
 * data directory; elsewhere give them the same `MAESTRO_PAYLOAD_KEY` or mounted key file.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { parsePayloadKeys, type CodecSettings, type PayloadKey, type StoreSettings } from '../config/index.js';

/** The generated key file of a data directory. */
export function payloadKeyFile(dataDir: string): string {
  return join(dataDir, 'payload-key');
}

/**
 * The payload codec's keys `config` names (see the file comment); the first encrypts.
 *
 * @throws {ConfigError} when the key or key file is invalid or unreadable.
 */
export function payloadKeys(config: Pick<CodecSettings, 'payloadKey' | 'payloadKeyFile'> & Pick<StoreSettings, 'dataDir'>): readonly PayloadKey[] {
  if (config.payloadKey !== undefined) return parsePayloadKeys(config.payloadKey, 'MAESTRO_PAYLOAD_KEY');
  if (config.payloadKeyFile !== undefined) return parsePayloadKeys(readKeyFile(config.payloadKeyFile), `MAESTRO_PAYLOAD_KEY_FILE=${config.payloadKeyFile}`);
  const file = payloadKeyFile(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true });
  try {
    // `wx`: of two processes starting at once, one creates the key and the other reads it.
    writeFileSync(file, `k${Date.now().toString(36)}=${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot create the payload key ${file}`, { cause: error });
  }
  return parsePayloadKeys(readKeyFile(file), file);
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the payload key file ${file}`, { cause: error });
  }
}
