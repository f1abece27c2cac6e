import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { awsSource } from './aws-source.js';
import { createSecretResolver } from './index.js';

const KEY = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI-s3cret' };
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A hostile or broken "Secrets Manager" on a loopback port, answering every call with `answer`. */
async function storeAnswering(answer: (response: ServerResponse) => void): Promise<string> {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => answer(response));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createSecretResolver with MAESTRO_SECRETS_SOURCE=aws', () => {
  it('needs a region (its own setting or AWS_REGION) and both halves of an explicit key pair', () => {
    const aws = { MAESTRO_SECRETS_SOURCE: 'aws' };
    expect(() => createSecretResolver(loadConfig(aws), {})).toThrow(/needs MAESTRO_SECRETS_AWS_REGION/);
    expect(() => createSecretResolver(loadConfig(aws), { AWS_REGION: 'eu-west-1' })).not.toThrow();
    expect(() => createSecretResolver(loadConfig({ ...aws, MAESTRO_SECRETS_AWS_REGION: 'eu-west-1', MAESTRO_SECRETS_AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }), {})).toThrow(/go together/);
  });
});

describe('awsSource', () => {
  it('refuses a response larger than 1 MiB, announced or streamed, without quoting it', async () => {
    const huge = `{"SecretString":"${'x'.repeat(2 * 1024 * 1024)}"}`;
    for (const announced of [true, false]) {
      const endpoint = await storeAnswering((response) => {
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', ...(announced ? { 'content-length': String(huge.length) } : {}) });
        response.end(huge);
      });
      const error = await awsSource({ region: 'us-east-1', endpoint, credentials: KEY }).read('token').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
      expect((error as Error).message).toContain('more than 1048576 bytes');
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    }
  });

  it('maps access denied to a retryable PEER_UNAVAILABLE that quotes neither the answer nor the key', async () => {
    const endpoint = await storeAnswering((response) => {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'AccessDeniedException' });
      response.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'leaked-answer-text' }));
    });
    const error = await awsSource({ region: 'us-east-1', endpoint, credentials: KEY, prefix: 'maestro/' }).read('token').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
    expect((error as Error).message).toBe(
      `AWS Secrets Manager (us-east-1 at ${endpoint}, prefix maestro/) refused to read secret "token" (AccessDeniedException, HTTP 400): the credentials are invalid, expired, or may not read this secret`,
    );
    expect(JSON.stringify(error)).not.toMatch(/leaked-answer-text|wJalrXUtnFEMI/);
  });

  it('reads an unparsable 403 (moto answers XML) as refused credentials, without quoting it', async () => {
    const endpoint = await storeAnswering((response) => {
      response.writeHead(403, { 'content-type': 'text/xml' });
      response.end('<?xml version="1.0"?><Error><Message>leaked-answer-text</Message></Error>');
    });
    const error = await awsSource({ region: 'us-east-1', endpoint, credentials: KEY }).read('token').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
    expect((error as Error).message).toMatch(/refused to read secret "token" \(HTTP 403\): the credentials are invalid/);
    expect(JSON.stringify(error)).not.toMatch(/leaked-answer-text|wJalrXUtnFEMI/);
  });
});
