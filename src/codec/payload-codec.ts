/**
 * The Temporal payload codec: every payload a Maestro client or worker sends to Temporal is
 * encrypted with AES-256-GCM, so workflow inputs (params, secret-typed ones included), task inputs
 * and outputs, query results and failure details are ciphertext in Temporal's history and
 * database. The key id travels in the payload's metadata, so keys can rotate: payloads are
 * encrypted with the first key and decrypted with whichever configured key they name. Payloads
 * that are not encrypted (histories recorded before the codec existed) pass through decoding
 * unchanged.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
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
/** IVs drawn from the CSPRNG at a time: one call per 256 payloads instead of one each. */
const IV_POOL_BYTES = IV_BYTES * 256;
/**
 * Most bytes (ciphertext and plaintext) of the payloads kept by {@link AesGcmPayloadCodec} to decode
 * without decrypting; the oldest go first.
 */
const RECENT_BYTES = 8 * 1024 * 1024;
/** Larger payloads are not kept: they would push many small ones out. */
const RECENT_PAYLOAD_BYTES = 256 * 1024;

const { Payload: PayloadProto } = proto.temporal.api.common.v1;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A payload this codec encrypted: the ciphertext, under which key, and what it decrypts to. */
interface Encrypted {
  data: Uint8Array;
  keyId: string;
  plain: Payload;
}

/**
 * A {@link PayloadCodec} encrypting with AES-256-GCM. Each payload (its metadata and data, as
 * protobuf bytes) becomes `iv (12) ‖ ciphertext ‖ tag (16)` under a fresh random IV.
 *
 * Much of what a worker encrypts, it decodes itself moments later and nothing else reads: a local
 * activity's input (it never leaves the worker) and its result (recorded in history, and handed
 * back to the workflow at once). So the codec keeps what it encrypted lately, by IV, and decodes a
 * payload whose ciphertext is byte for byte one of those to the plaintext it came from, which is
 * what decrypting it would give — without the cipher. Anything else is decrypted and authenticated.
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
  /** Random bytes the next IVs are cut from, and where the unused ones start. */
  private readonly ivPool = Buffer.alloc(IV_POOL_BYTES);
  private ivOffset = IV_POOL_BYTES;
  /** Payloads encrypted lately, by IV (as a latin1 string), oldest first; see the class comment. */
  private readonly recent = new Map<string, Encrypted>();
  private recentBytes = 0;

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
    const iv = this.nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const plain = PayloadProto.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    this.remember(iv, { data, keyId: this.current.id, plain: payload });
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
    const known = this.recall(data, id);
    if (known) return known;
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

  /** A fresh random IV (a copy: the pool is overwritten once used up). */
  private nextIv(): Buffer {
    if (this.ivOffset + IV_BYTES > IV_POOL_BYTES) {
      randomFillSync(this.ivPool);
      this.ivOffset = 0;
    }
    this.ivOffset += IV_BYTES;
    return Buffer.from(this.ivPool.subarray(this.ivOffset - IV_BYTES, this.ivOffset));
  }

  /** Keeps a payload just encrypted, within {@link RECENT_BYTES}, dropping the oldest. */
  private remember(iv: Buffer, encrypted: Encrypted): void {
    const size = encrypted.data.length + (encrypted.plain.data?.length ?? 0);
    if (size > RECENT_PAYLOAD_BYTES) return;
    this.recent.set(iv.toString('latin1'), encrypted);
    this.recentBytes += size;
    for (const [key, oldest] of this.recent) {
      if (this.recentBytes <= RECENT_BYTES) break;
      this.forget(key, oldest);
    }
  }

  /** The plaintext of `data` when this codec made exactly that ciphertext under key `keyId`; it is then forgotten. */
  private recall(data: Uint8Array, keyId: string): Payload | undefined {
    const key = Buffer.from(data.buffer, data.byteOffset, IV_BYTES).toString('latin1');
    const encrypted = this.recent.get(key);
    if (!encrypted || encrypted.keyId !== keyId || !Buffer.from(data.buffer, data.byteOffset, data.length).equals(encrypted.data)) return undefined;
    this.forget(key, encrypted);
    // A copy: whoever reads the decoded payload gets an object of its own, as a decryption gives.
    return { ...encrypted.plain, ...(encrypted.plain.metadata ? { metadata: { ...encrypted.plain.metadata } } : {}) };
  }

  private forget(key: string, encrypted: Encrypted): void {
    this.recent.delete(key);
    this.recentBytes -= encrypted.data.length + (encrypted.plain.data?.length ?? 0);
  }
}
