/**
 * The Temporal payload codec: every payload a Maestro client or worker sends to Temporal is
 * encrypted with AES-256-GCM, so workflow inputs (params, secret-typed ones included), task inputs
 * and outputs, query results and failure details are ciphertext in Temporal's history and
 * database. The key id travels in the payload's metadata, so keys can rotate: payloads are
 * encrypted with the first key and decrypted with whichever configured key they name. Payloads
 * that are not encrypted (histories recorded before the codec existed) pass through decoding
 * unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { PayloadKey } from '../config/index.js';
import { MaestroError } from '../errors/index.js';

/** `metadata.encoding` of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key that encrypted a payload. */
export const KEY_ID_METADATA = 'encryption-key-id';
/** Metadata naming the cipher, for readers of raw history. */
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const { Payload: PayloadProto } = proto.temporal.api.common.v1;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * A {@link PayloadCodec} encrypting with AES-256-GCM. Each payload (its metadata and data, as
 * protobuf bytes) becomes `iv (12) ‖ ciphertext ‖ tag (16)` under a fresh random IV.
 *
 * @example
 * const codec = new AesGcmPayloadCodec(parsePayloadKeys(process.env.MAESTRO_PAYLOAD_KEY!, 'MAESTRO_PAYLOAD_KEY'));
 * const client = new Client({ connection, dataConverter: { payloadCodecs: [codec] } });
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  /** The key that encrypts. */
  private readonly current: PayloadKey;
  /** Every key that decrypts, by id. */
  private readonly byId: ReadonlyMap<string, Buffer>;

  /** @param keys The first encrypts; all decrypt. */
  constructor(keys: readonly PayloadKey[]) {
    const [current] = keys;
    if (!current) throw new MaestroError('CONFIG_INVALID', 'the payload codec needs at least one key');
    this.current = current;
    this.byId = new Map(keys.map((key) => [key.id, key.key]));
  }

  /** The id of the key that encrypts. */
  get keyId(): string {
    return this.current.id;
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((payload) => this.encrypt(payload)));
  }

  /** @throws MaestroError `PAYLOAD_UNDECRYPTABLE` for a payload of an unknown key or that fails authentication. */
  decode(payloads: Payload[]): Promise<Payload[]> {
    try {
      return Promise.resolve(payloads.map((payload) => this.decrypt(payload)));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Encrypts one payload with the current key. */
  encrypt(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const plain = PayloadProto.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(this.current.id), [CIPHER_METADATA]: utf8.encode(CIPHER) },
      data,
    };
  }

  /** Decrypts one payload; a payload that is not encrypted is returned as is. */
  decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    const id = idBytes ? fromUtf8.decode(idBytes) : '';
    const key = this.byId.get(id);
    if (!key) {
      throw new MaestroError('PAYLOAD_UNDECRYPTABLE', `payload encrypted with key "${id}", which is not configured (MAESTRO_PAYLOAD_KEY / MAESTRO_PAYLOAD_KEY_FILE)`);
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new MaestroError('PAYLOAD_UNDECRYPTABLE', `payload of key "${id}" is too short to be a ciphertext`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new MaestroError('PAYLOAD_UNDECRYPTABLE', `payload of key "${id}" fails authentication (altered, or a different key with the same id)`, { cause: error });
    }
    return PayloadProto.decode(plain);
  }
}
