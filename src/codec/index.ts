/**
 * Encryption of what Maestro stores outside itself: the Temporal payload codec every client and
 * worker uses, its keys, and sealing of values Maestro keeps in its own store (the admission
 * queue's params) with the same keys.
 */
import type { DataConverter } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { CodecSettings, StoreSettings } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import { payloadKeys } from './keys.js';
import { AesGcmPayloadCodec } from './payload-codec.js';

export { AesGcmPayloadCodec, CIPHER_METADATA, ENCRYPTED_ENCODING, KEY_ID_METADATA } from './payload-codec.js';
export { payloadKeyFile, payloadKeys } from './keys.js';

/**
 * The payload codec `config` describes (see {@link payloadKeys}).
 *
 * @throws {ConfigError} when its keys are invalid or unreadable.
 */
export function payloadCodec(config: CodecSettings & Pick<StoreSettings, 'dataDir'>): AesGcmPayloadCodec {
  return new AesGcmPayloadCodec(payloadKeys(config));
}

/** The data converter of every Maestro client and worker: JSON payloads, encrypted by `codec`. */
export function maestroDataConverter(codec: AesGcmPayloadCodec): DataConverter {
  return { payloadCodecs: [codec] };
}

const { Payload: PayloadProto } = proto.temporal.api.common.v1;

/**
 * Encrypts a JSON value for Maestro's own store: base64 of an encrypted Temporal payload, so it
 * carries its key id and decrypts after a key rotation like history does.
 */
export function sealValue(codec: AesGcmPayloadCodec, value: unknown): string {
  return Buffer.from(PayloadProto.encode(codec.encrypt(defaultPayloadConverter.toPayload(value))).finish()).toString('base64');
}

/**
 * Decrypts what {@link sealValue} returned.
 *
 * @throws MaestroError `PAYLOAD_UNDECRYPTABLE` when no configured key opens it.
 */
export function openValue(codec: AesGcmPayloadCodec, sealed: string): unknown {
  let payload;
  try {
    payload = PayloadProto.decode(Buffer.from(sealed, 'base64'));
  } catch (error) {
    throw new MaestroError('PAYLOAD_UNDECRYPTABLE', 'a sealed value is not an encrypted payload', { cause: error });
  }
  return defaultPayloadConverter.fromPayload(codec.decrypt(payload));
}
