import { existsSync } from 'node:fs';
import type { DockerOptions } from 'dockerode';
import { RunnerError } from '../runner-error.js';

/** Where the Docker API is when `DOCKER_HOST` is unset. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * Connection options for a `DOCKER_HOST` value: `unix:///path/docker.sock` (Podman's
 * `podman system service` socket works the same), `tcp://host:port` or `http(s)://host:port`.
 *
 * @throws {@link RunnerError} `CONFIG_INVALID` for another scheme.
 */
export function dockerOptions(host: string | undefined): DockerOptions {
  if (host === undefined) return { socketPath: DEFAULT_DOCKER_SOCKET };
  const url = new URL(host);
  if (url.protocol === 'unix:') return { socketPath: decodeURIComponent(url.pathname) };
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    return { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 2376 : 2375)), protocol: url.protocol === 'https:' ? 'https' : 'http' };
  }
  throw new RunnerError('container', `DOCKER_HOST=${host}: use unix:///path/to.sock, tcp://host:port or https://host:port`, {
    code: 'CONFIG_INVALID',
    retryable: false,
  });
}

/** A short description of where the engine is, for messages (`unix:///run/podman.sock`). */
export function describeDockerHost(host: string | undefined): string {
  return host ?? `unix://${DEFAULT_DOCKER_SOCKET}`;
}

/** True when a local socket named by `host` exists (a tcp host is assumed to, until tried). */
export function dockerSocketPresent(host: string | undefined): boolean {
  const options = dockerOptions(host);
  return options.socketPath === undefined || existsSync(options.socketPath);
}
