/**
 * Real peers for the integration tests: each `start<Peer>()` starts one on free ports in a temp
 * dir (installing it first through `scripts/peers/` when missing) and returns its connection info
 * and `stop()`. A peer that cannot be installed or started throws with the reason: never a skip.
 */
export { startBlackHole, closedPort, type BlackHolePeer } from './black-hole.js';
export { startCountingProxy, type CountingProxy } from './counting-proxy.js';
export { startGrpcPeer, GREETER_PROTO, type GrpcPeer } from './grpc.js';
export { PeerInstallError } from './install.js';
export { startJaegerPeer, type JaegerPeer, type JaegerSpan } from './jaeger.js';
export { readKafkaTopic, startKafka, KAFKA_VERSION, type KafkaPeer, type KafkaRecord } from './kafka.js';
export { startNats, type NatsPeer } from './nats.js';
export { startOtlpReceiver, type OtlpExport, type OtlpReceiver } from './otlp-receiver.js';
export { freePort } from './ports.js';
export { startPostgres, type PostgresPeer } from './postgres.js';
export { startS3, type S3Peer } from './s3.js';
export { startSecretsManager, type SecretsManagerOptions, type SecretsManagerPeer } from './secrets-manager.js';
export { SIG_API_VERSIONS, sigContractFile, startSigStub, type SigApiVersion, type SigBatch, type SigExport, type SigPeer, type SigPolicyAnswer } from './sig.js';
export { startSlackWebhook, type SlackPeer } from './slack.js';
export { PeerStartError } from './spawn-peer.js';
export { startDeployApi, type DeployApiPeer, type DeployCall } from './deploy-api.js';
export { startPrometheus, type PrometheusPeer, type PromAlert, type PromSample } from './prometheus.js';
