import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { REPO_ROOT, runInstaller } from './install.js';
import { freePort } from './ports.js';
import { PeerStartError, runSetupCommand, spawnPeer } from './spawn-peer.js';
import { tcpOpen } from './tcp.js';

/** The Kafka version the installer fetches (keep in step with scripts/peers/install-kafka.sh). */
export const KAFKA_VERSION = '3.9.1';

/** A running single-node Kafka broker (KRaft, broker and controller in one process). */
export interface KafkaPeer {
  /** `['127.0.0.1:<port>']`, for kafkajs `brokers`. */
  brokers: string[];
  stop(): Promise<void>;
}

const KAFKA_HOME = join(REPO_ROOT, '.tools', 'kafka', KAFKA_VERSION);

function serverProperties(dir: string, brokerPort: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  // The one line the peer waits for.
  'log4j.logger.kafka.server.KafkaRaftServer=INFO',
  '',
].join('\n');

/** Java's own arguments: a small heap, Kafka's logging config, and the jars the installer fetched. */
function javaArgs(dir: string): string[] {
  return ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, '-cp', join(KAFKA_HOME, 'libs', '*')];
}

/**
 * Starts Apache Kafka (jars from Maven Central, fetched by `scripts/peers/install-kafka.sh` when
 * missing) as one KRaft node on free ports, with its log in a temp dir: formats the storage with
 * `kafka.tools.StorageTool`, then runs `kafka.Kafka`. Cold start is dominated by the JVM (~10 s).
 *
 * @throws PeerInstallError or PeerStartError, with the installer's or the broker's output.
 */
export async function startKafka(): Promise<KafkaPeer> {
  if (!existsSync(join(KAFKA_HOME, '.complete'))) await runInstaller('install-kafka.sh');
  try {
    return await startBroker();
  } catch (error) {
    // Two free ports are picked before the JVM binds them, seconds later; when another process
    // took one meanwhile, the broker exits: try once more on fresh ports.
    if (!(error instanceof PeerStartError)) throw error;
    return startBroker();
  }
}

async function startBroker(): Promise<KafkaPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-kafka-'));
  const [brokerPort, controllerPort] = [await freePort(), await freePort()];
  const config = join(dir, 'server.properties');
  await writeFile(config, serverProperties(dir, brokerPort, controllerPort));
  await writeFile(join(dir, 'log4j.properties'), LOG4J);
  const clusterId = randomBytes(16).toString('base64url');
  try {
    await runSetupCommand('kafka storage format', 'java', [...javaArgs(dir), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', config]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const broker = await spawnPeer({
    name: 'kafka',
    command: 'java',
    args: [...javaArgs(dir), 'kafka.Kafka', config],
    ready: (output) => output.includes('Kafka Server started') && tcpOpen(brokerPort),
    startTimeoutMs: 120_000,
    stopTimeoutMs: 20_000,
  });
  return {
    brokers: [`127.0.0.1:${brokerPort}`],
    stop: async () => {
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A record read back from a topic. */
export interface KafkaRecord {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `expected` records arrived
 * (or fails after `timeoutMs`): how tests check that messages are really on the topic.
 */
export async function readKafkaTopic(brokers: string[], topic: string, expected: number, timeoutMs = 20_000): Promise<KafkaRecord[]> {
  const consumer = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId: `test-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: KafkaRecord[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${expected} records arrived on ${topic}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          seen.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
          if (seen.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}
