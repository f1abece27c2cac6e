/** Settings of the Temporal payload codec: its keys, and the browsers that may call `/codec`. */
import { Type } from '@sinclair/typebox';
import { ConfigError } from '../../errors/index.js';
import { checkedList } from '../decode.js';
import { optional, section, type SettingsOf } from '../setting.js';

/** One key of the Temporal payload codec. */
export interface PayloadKey {
  /** Written in each encrypted payload's metadata, so the key that decrypts it can be found. */
  readonly id: string;
  /** 32 bytes. */
  readonly key: Buffer;
}

/**
 * Parses payload codec keys: `id=base64` items separated by commas or newlines, or one bare
 * base64 key (id `k1`). The first item is the key that encrypts.
 *
 * @throws {ConfigError} naming `source` when an item is not a 32-byte key or an id repeats.
 */
export function parsePayloadKeys(text: string, source: string): readonly PayloadKey[] {
  const items = text.split(/[,\n]/).map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw new ConfigError(`${source} names no payload key`);
  const keys = items.map((item, index) => {
    const separator = item.indexOf('=', 1);
    const named = separator > 0 && /^[A-Za-z0-9._-]{1,64}$/.test(item.slice(0, separator)) && item.length > separator + 1;
    const id = named ? item.slice(0, separator) : `k${index + 1}`;
    const encoded = named ? item.slice(separator + 1) : item;
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
      throw new ConfigError(`${source}: key ${index + 1} must be 32 bytes in base64 (\`openssl rand -base64 32\`)`, { details: { setting: source } });
    }
    return Object.freeze({ id, key });
  });
  const ids = new Set(keys.map((key) => key.id));
  if (ids.size !== keys.length) throw new ConfigError(`${source}: payload key ids must differ`, { details: { setting: source } });
  return Object.freeze(keys);
}

/** The payload codec's keys and the origins allowed to call it. */
export const codecSection = section('codec', 'The Temporal payload codec: the AES-256 keys every payload is encrypted with, and the browser origins allowed to call `/codec`.', {
  payloadKey: optional(Type.String({ minLength: 1 }), {
    env: 'MAESTRO_PAYLOAD_KEY',
    secret: true,
    decode: (raw) => {
      // Checked now, so a bad key refuses to start rather than fail the first payload.
      if (typeof raw === 'string') parsePayloadKeys(raw.trim(), 'MAESTRO_PAYLOAD_KEY');
      return typeof raw === 'string' ? raw.trim() : raw;
    },
    unset: 'MAESTRO_PAYLOAD_KEY_FILE, else `<dataDir>/payload-key` (created on first use)',
    description:
      'AES-256 keys of the Temporal payload codec: `id=base64,id=base64` (or one bare base64 key, id `k1`), 32 bytes each; the first encrypts, every one decrypts (keep an old key listed after a new one until no history needs it). Never shown.',
  }),
  payloadKeyFile: optional(Type.String({ minLength: 1 }), {
    env: 'MAESTRO_PAYLOAD_KEY_FILE',
    path: true,
    unset: '`<dataDir>/payload-key`, created with a fresh key on first use',
    description: "File holding the payload codec's keys in the MAESTRO_PAYLOAD_KEY format, one per line or comma-separated: how Kubernetes and Docker mount a secret.",
  }),
  codecCorsOrigins: optional(Type.Array(Type.String()), {
    env: 'MAESTRO_CODEC_CORS_ORIGINS',
    decode: checkedList(
      'origin',
      (origin) => URL.canParse(origin) && new URL(origin).origin === origin,
      (origin) => `has "${origin}", which is not an origin (scheme://host[:port], no path)`,
      true,
    ),
    unset: 'the origin of MAESTRO_TEMPORAL_UI_URL, or `http://localhost:<uiPort>` and `http://127.0.0.1:<uiPort>`',
    description: 'Origins allowed to call `/codec/encode` and `/codec/decode` from a browser: the Temporal Web UI (comma-separated).',
  }),
});

/** The payload codec (see {@link codecSection}). */
export type CodecSettings = SettingsOf<typeof codecSection>;
