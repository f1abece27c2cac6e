#!/usr/bin/env node
/**
 * CIS hardening checks (SM-203): checkov scans what Maestro runs as, and the run fails on a finding
 * no exception covers, or on an exception that is expired, too long, malformed or unused.
 *
 *   node scripts/cis.mjs install     ensure checkov (and helm, through scripts/helm.mjs)
 *   node scripts/cis.mjs test [--chart DIR] [--exceptions FILE] [--config FILE]   (npm test)
 *   node scripts/cis.mjs render DIR  write the scanned documents into DIR, to read or scan by hand
 *
 * Targets, each a name that exceptions use (`<target>:<checkov resource>`):
 *   dockerfile         the Dockerfile, as written
 *   compose            docker-compose.temporal.yml, each service as a Pod with the same settings
 *                      (checkov has no compose checks: user, read-only root, capabities, privilege,
 *                      seccomp, limits, host namespaces, ports, health checks and mounts carry over)
 *   helm               the chart (deploy/helm/maestro, or --chart DIR) rendered with its defaults
 *   helm-production    the chart rendered with deploy/helm/values-production.yaml
 *   container-runner   the requests the container runner sends the Docker API for its default and
 *                      its most permissive workload (scripts/cis-container-runner.ts), as Pods
 *
 * checkov: `checkov==<CHECKOV_VERSION>` from PyPI in its own virtualenv at `<repo>/.tools/checkov`
 * (scripts/peers/pip-venv.sh). It runs offline (`--skip-download`, no Prisma Cloud key), over the
 * dockerfile and kubernetes frameworks. Thresholds: security/cis.yaml; exceptions:
 * security/exceptions.yaml (both described there). Writes nothing outside `<repo>/.tools/` and a
 * temporary folder it removes, unless `render` is asked to.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { REPO_ROOT, TOOLS_BIN_DIR, TOOLS_DIR, fail as failWith, lastLines } from './lib/tools.mjs';

/** The PyPI release of checkov. */
const CHECKOV_VERSION = '3.3.30';
const LABEL = 'maestro cis';
const fail = (message) => failWith(LABEL, message);

const SECURITY_DIR = join(REPO_ROOT, 'security');
const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'maestro');
const PRODUCTION_VALUES = join(REPO_ROOT, 'deploy', 'helm', 'values-production.yaml');
/** The namespace the chart is rendered into, as `helm install -n maestro` would. */
const RELEASE_NAMESPACE = 'maestro';

/** Runs a command and returns its stdout; fails with its output's tail when it exits non-zero. */
function output(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) fail(`${[command, ...args].join(' ')} failed:\n${lastLines(`${result.stdout ?? ''}${result.stderr ?? ''}${result.error ?? ''}`)}`);
  return result.stdout;
}

/** Finds or installs checkov and helm; returns their paths. */
function ensureTools() {
  output('bash', [join(REPO_ROOT, 'scripts', 'peers', 'pip-venv.sh'), 'checkov', `checkov==${CHECKOV_VERSION}`, CHECKOV_VERSION, 'checkov', '3.9'], { stdio: ['ignore', 'pipe', 'inherit'] });
  output(process.execPath, [join(REPO_ROOT, 'scripts', 'helm.mjs'), 'install'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { checkov: join(TOOLS_DIR, 'checkov', 'bin', 'checkov'), helm: join(TOOLS_BIN_DIR, 'helm') };
}

// ---- Docker-style runtime settings → a Pod checkov's Kubernetes checks read -------------------

/**
 * A Pod with one container carrying `settings`, the runtime settings of a compose service or a
 * Docker API create request in one shape: what each field means for the container maps to the
 * Kubernetes field checkov looks at.
 */
function podOf(namespace, name, settings) {
  const { image, command, args, env = {}, user, readOnly = false, privileged = false, capDrop = [], capAdd = [], securityOpt = [] } = settings;
  const { memory, cpus, healthcheck, ports = [], hostNetwork = false, hostPid = false, hostIpc = false, mounts = [] } = settings;
  const seccomp = securityOpt.some((option) => /^seccomp[=:]unconfined$/.test(option)) ? 'Unconfined' : 'RuntimeDefault';
  const numericUser = user !== undefined && /^\d+$/.test(String(user).split(':')[0]) ? Number(String(user).split(':')[0]) : undefined;
  // A user by name (the image's `node`) is not root, but its uid is not known here.
  const podUser = {
    ...(user === undefined ? {} : { runAsNonRoot: numericUser !== 0 && user !== 'root' }),
    ...(numericUser === undefined ? {} : { runAsUser: numericUser }),
  };
  const limits = { ...(memory ? { memory: String(memory) } : {}), ...(cpus ? { cpu: String(cpus) } : {}) };
  const probe = healthcheck ? { exec: { command: healthcheck } } : undefined;
  const container = {
    name,
    image,
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    env: Object.entries(env).map(([key, value]) => ({ name: key, value: String(value) })),
    ports: ports.map(({ container: containerPort, host }) => ({ containerPort, ...(host ? { hostPort: host } : {}) })),
    securityContext: {
      privileged,
      allowPrivilegeEscalation: !securityOpt.some((option) => /^no-new-privileges(:true)?$/.test(option)),
      readOnlyRootFilesystem: readOnly,
      capabilities: { ...(capDrop.length ? { drop: capDrop } : {}), ...(capAdd.length ? { add: capAdd } : {}) },
      seccompProfile: { type: seccomp },
      ...podUser,
    },
    ...(Object.keys(limits).length ? { resources: { limits, requests: limits } } : {}),
    ...(probe ? { livenessProbe: probe, readinessProbe: probe } : {}),
    volumeMounts: mounts.map((mount, index) => ({ name: `mount-${index}`, mountPath: mount.target, readOnly: mount.readOnly })),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      // Docker has no pod: the container's user and seccomp profile are also the pod's.
      securityContext: { seccompProfile: { type: seccomp }, ...podUser },
      automountServiceAccountToken: false,
      hostNetwork,
      hostPID: hostPid,
      hostIPC: hostIpc,
      containers: [container],
      volumes: mounts.map((mount, index) => ({ name: `mount-${index}`, ...(mount.host ? { hostPath: { path: mount.host } } : { emptyDir: {} }) })),
    },
  };
}

/** `KEY=VALUE` strings (or a map) as a map. */
function envMap(environment) {
  if (!Array.isArray(environment)) return environment ?? {};
  return Object.fromEntries(environment.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]));
}

/** The last `USER` of a Dockerfile (the user a `build:` service's image runs as), or undefined. */
function dockerfileUser(file) {
  const users = [...readFileSync(file, 'utf8').matchAll(/^USER\s+(\S+)/gim)].map((match) => match[1]);
  return users.at(-1);
}

/** docker-compose.temporal.yml's services as Pods. */
function composePods(file) {
  const compose = parse(readFileSync(file, 'utf8'), { merge: true });
  return Object.entries(compose.services ?? {}).map(([name, service]) => {
    const built = service.build ? dockerfileUser(join(dirname(file), service.build.context ?? '.', service.build.dockerfile ?? 'Dockerfile')) : undefined;
    const healthcheck = service.healthcheck?.test;
    const limits = service.deploy?.resources?.limits ?? {};
    return podOf('compose', name, {
      image: service.image,
      command: typeof service.entrypoint === 'string' ? [service.entrypoint] : service.entrypoint,
      args: typeof service.command === 'string' ? [service.command] : service.command,
      env: envMap(service.environment),
      user: service.user ?? built,
      readOnly: service.read_only === true,
      privileged: service.privileged === true,
      capDrop: service.cap_drop ?? [],
      capAdd: service.cap_add ?? [],
      securityOpt: service.security_opt ?? [],
      memory: service.mem_limit ?? limits.memory,
      cpus: service.cpus ?? limits.cpus,
      healthcheck: healthcheck && (healthcheck[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', healthcheck.slice(1).join(' ')] : healthcheck.slice(1)),
      ports: (service.ports ?? []).map((port) => {
        const [container, host] = String(port).split(':').reverse();
        return { container: Number(container), ...(host ? { host: Number(host) } : {}) };
      }),
      hostNetwork: service.network_mode === 'host',
      hostPid: service.pid === 'host',
      hostIpc: service.ipc === 'host',
      mounts: (service.volumes ?? []).map((volume) => {
        const [source, target, mode] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target, volume.read_only ? 'ro' : 'rw'];
        return { target, readOnly: mode === 'ro', ...(/^[./~]/.test(source) ? { host: source } : {}) };
      }),
    });
  });
}

/** The container runner's create requests (scripts/cis-container-runner.ts) as Pods. */
function runnerPods() {
  const requests = JSON.parse(output(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'cis-container-runner.ts')]));
  return requests.map(({ name, request }) => {
    const host = request.HostConfig ?? {};
    return podOf('container-runner', name, {
      image: `registry.example/task@${request.Image}`,
      command: request.Entrypoint,
      args: request.Cmd,
      env: envMap(request.Env),
      user: request.User || undefined,
      readOnly: host.ReadonlyRootfs === true,
      privileged: host.Privileged === true,
      capDrop: host.CapDrop ?? [],
      capAdd: host.CapAdd ?? [],
      securityOpt: host.SecurityOpt ?? [],
      memory: host.Memory,
      cpus: host.NanoCpus ? host.NanoCpus / 1e9 : undefined,
      hostNetwork: host.NetworkMode === 'host',
      hostPid: host.PidMode === 'host',
      hostIpc: host.IpcMode === 'host',
      mounts: (host.Mounts ?? []).map((mount) => ({ target: mount.Target, readOnly: mount.ReadOnly === true, ...(mount.Type === 'bind' ? { host: mount.Source } : {}) })),
    });
  });
}

/** Writes every target's document into `dir`: `<target>.yaml`, and `dockerfile/Dockerfile`. */
function render(dir, { helm, chart }) {
  mkdirSync(join(dir, 'dockerfile'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'Dockerfile'), join(dir, 'dockerfile', 'Dockerfile'));
  const documents = (objects) => objects.map((object) => stringify(object)).join('---\n');
  writeFileSync(join(dir, 'compose.yaml'), documents(composePods(join(REPO_ROOT, 'docker-compose.temporal.yml'))));
  writeFileSync(join(dir, 'container-runner.yaml'), documents(runnerPods()));
  const template = (values) => output(helm, ['template', 'maestro', chart, '--namespace', RELEASE_NAMESPACE, ...values]);
  writeFileSync(join(dir, 'helm.yaml'), template([]));
  writeFileSync(join(dir, 'helm-production.yaml'), template(['-f', PRODUCTION_VALUES]));
}

// ---- Findings, thresholds and exceptions ---------------------------------------------------------

/** checkov's failed checks in `dir`: `{id, name, target, resource, key}`, key = `<target>:<resource>`. */
function scan(checkov, dir, config) {
  const args = ['--directory', dir, '--framework', ...config.frameworks, '--output', 'json', '--compact', '--quiet', '--skip-download'];
  for (const skip of config.skipChecks ?? []) if (!/^CKV2?_[A-Z0-9_]+$/.test(skip?.id ?? '') || !skip.reason?.trim()) fail(`security/cis.yaml: each skipChecks entry needs a check id and a reason, got ${JSON.stringify(skip)}`);
  const skipped = (config.skipChecks ?? []).map((skip) => skip.id);
  if (skipped.length) args.push('--skip-check', skipped.join(','));
  // Exit 1 means "found something"; anything else, or output that is not JSON, is a failed scan.
  const result = spawnSync(checkov, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, BC_SKIP_MAPPING: 'TRUE' } });
  if (result.status !== 0 && result.status !== 1) fail(`checkov failed (exit ${result.status}):\n${lastLines(`${result.stdout}${result.stderr}`)}`);
  let reports;
  try {
    reports = [].concat(JSON.parse(result.stdout));
  } catch (error) {
    fail(`checkov's output is not JSON (${error.message}):\n${lastLines(`${result.stdout}${result.stderr}`)}`);
  }
  const findings = [];
  for (const report of reports) {
    if (report.summary?.parsing_errors) fail(`checkov could not parse ${report.summary.parsing_errors} ${report.check_type} file(s): ${(report.results?.parsing_errors ?? []).join(', ')}`);
    for (const check of report.results?.failed_checks ?? []) {
      const target = check.file_path.endsWith('/Dockerfile') ? 'dockerfile' : basename(check.file_path).replace(/\.ya?ml$/, '');
      findings.push({ id: check.check_id, name: check.check_name, target, resource: check.resource, key: `${target}:${check.resource}` });
    }
  }
  return findings;
}

/** A glob (`*` any characters, `{a,b}` one of the alternatives) as an anchored regular expression. */
function globRegExp(glob) {
  const literal = (text) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const source = glob
    .split(/(\*|\{[^{}]*\})/)
    .map((part) => (part === '*' ? '.*' : part.startsWith('{') && part.endsWith('}') ? `(?:${part.slice(1, -1).split(',').map(literal).join('|')})` : literal(part)))
    .join('');
  return new RegExp(`^${source}$`);
}

/** The scanned documents, by the name findings and exceptions give them. */
const TARGETS = ['dockerfile', 'compose', 'helm', 'helm-production', 'container-runner'];

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Problems with the exceptions themselves: a missing field, an expiry past, too far ahead (the
 * config's maxExceptionDays) or not a date; and the ones expiring soon (warnings).
 */
function checkExceptions(exceptions, config, today) {
  const problems = [];
  const warnings = [];
  for (const [index, exception] of exceptions.entries()) {
    const where = `exception ${index + 1} (${exception?.id ?? '?'} on ${exception?.resource ?? '?'})`;
    const missing = ['id', 'resource', 'owner', 'reason', 'expires'].filter((field) => typeof exception?.[field] !== 'string' || exception[field].trim() === '');
    if (missing.length) {
      problems.push(`${where}: missing ${missing.join(', ')}`);
      continue;
    }
    const targets = /^\{?([a-z,-]+)\}?:/.exec(exception.resource)?.[1]?.split(',') ?? [];
    if (targets.length === 0 || !targets.every((target) => TARGETS.includes(target))) {
      problems.push(`${where}: resource must start with its target or {targets} and a colon (${TARGETS.join(', ')})`);
    }
    const expires = /^\d{4}-\d{2}-\d{2}$/.test(exception.expires) ? Date.parse(`${exception.expires}T00:00:00Z`) : NaN;
    if (Number.isNaN(expires)) problems.push(`${where}: expires "${exception.expires}" is not a date (YYYY-MM-DD)`);
    else if (expires <= today) problems.push(`${where}: expired on ${exception.expires} (owner ${exception.owner}): fix the finding, or renew the exception with a reason`);
    else if (expires - today > config.thresholds.maxExceptionDays * DAY_MS) problems.push(`${where}: expires ${exception.expires}, more than ${config.thresholds.maxExceptionDays} days ahead`);
    else if (expires - today <= config.thresholds.warnBeforeExpiryDays * DAY_MS) warnings.push(`${where}: expires on ${exception.expires} (owner ${exception.owner})`);
  }
  return { problems, warnings };
}

function readYaml(file) {
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (error) {
    fail(`cannot read ${file}: ${error.message}`);
  }
}

function test({ chart, exceptionsFile, configFile }) {
  const config = readYaml(configFile);
  const exceptions = readYaml(exceptionsFile)?.exceptions ?? [];
  const tools = ensureTools();
  const dir = mkdtempSync(join(tmpdir(), 'maestro-cis-'));
  const started = Date.now();
  let findings;
  try {
    render(dir, { helm: tools.helm, chart });
    findings = scan(tools.checkov, dir, config);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const { problems, warnings } = checkExceptions(exceptions, config, Date.now());
  const valid = exceptions.filter((exception) => typeof exception?.resource === 'string' && typeof exception?.id === 'string');
  const covered = (finding) => valid.some((exception) => exception.id === finding.id && globRegExp(exception.resource).test(finding.key));
  const fresh = findings.filter((finding) => !covered(finding));
  const unused = valid.filter((exception) => !findings.some((finding) => finding.id === exception.id && globRegExp(exception.resource).test(finding.key)));

  for (const warning of warnings) console.log(`${LABEL}: warning: ${warning}`);
  console.log(`${LABEL}: ${findings.length} finding(s) in ${seconds} s, ${findings.length - fresh.length} covered by security/exceptions.yaml`);
  const failures = [
    ...(fresh.length > config.thresholds.maxNewFindings
      ? [`${fresh.length} finding(s) no exception covers:`, ...fresh.map((finding) => `  ${finding.id} ${finding.key}: ${finding.name}`)]
      : []),
    ...problems,
    ...unused.map((exception) => `exception ${exception.id} on ${exception.resource} matches no finding: remove it`),
  ];
  if (failures.length) fail(`the CIS checks failed:\n${failures.join('\n')}`);
  console.log(`${LABEL}: passed`);
}

function main(argv) {
  const [command = 'test', ...rest] = argv;
  const option = (name, fallback) => {
    const at = rest.indexOf(name);
    return at < 0 ? fallback : resolve(rest[at + 1] ?? fail(`${name} needs a value`));
  };
  switch (command) {
    case 'install': {
      const { checkov, helm } = ensureTools();
      console.log(`${LABEL}: ${checkov}, ${helm}`);
      return;
    }
    case 'test':
      return test({
        chart: option('--chart', CHART_DIR),
        exceptionsFile: option('--exceptions', join(SECURITY_DIR, 'exceptions.yaml')),
        configFile: option('--config', join(SECURITY_DIR, 'cis.yaml')),
      });
    case 'render': {
      const dir = resolve(rest[0] ?? fail('render needs a folder'));
      render(dir, { helm: ensureTools().helm, chart: option('--chart', CHART_DIR) });
      console.log(`${LABEL}: rendered into ${dir}`);
      return;
    }
    default:
      fail(`unknown command "${command}": install, test [--chart DIR] [--exceptions FILE] [--config FILE], render DIR`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
