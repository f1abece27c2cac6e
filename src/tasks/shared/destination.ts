/**
 * The host an address names — a URL (`nats://h:4222`, `https://h/hook`, `postgres://u@h/db`) or a
 * bare `host:port` — for the destination check of `ctx.secrets(name, { host })`; `''` when it names
 * none (which no secret bound to hosts accepts).
 *
 * @example destinationHost('kafka-1:9092') // 'kafka-1'
 */
export function destinationHost(address: string): string {
  const url = address.includes('://') ? address : `tcp://${address}`;
  return URL.canParse(url) ? new URL(url).hostname : '';
}
