// docker-compose.yml (SPEC §2 "Beyond one machine") checked by a real Compose parser: Debian's
// docker-compose v1, whose `config` validates, merges anchors and interpolates offline (no Docker engine).
// The normalized YAML it prints is read by python3-yaml, which that package depends on.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, describeConfig, parseConfig } from '../../lib/config';
import { taskQueueWorkers } from '../../workers/taskQueues';
import { shared } from '../support/shared';

const ROOT = path.resolve(__dirname, '../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const DOCKER_COMPOSE = '/usr/bin/docker-compose';

// Production secrets the file requires (`${VAR:?…}`); long enough for the platform's own checks.
const SECRETS = {
  POSTGRES_PASSWORD: 'compose-test-postgres-password',
  JWT_SECRET: 'compose-test-jwt-secret-0123456789',
  S3_SECRET_ACCESS_KEY: 'compose-test-s3-secret',
  STRIPE_WEBHOOK_SECRET: 'whsec_compose_test',
  MEILISEARCH_API_KEY: 'compose-test-meilisearch-key',
  METRICS_BEARER_TOKEN: 'compose-test-metrics-token',
  TEMPORAL_UI_HTPASSWD: '/etc/edulure/temporal-ui.htpasswd',
  WEBHOOK_SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
};

/** Where the mTLS certificates are mounted in every service that talks to Temporal's frontend. */
const TLS_DIR = '/etc/temporal-tls';

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: Array<{ published?: string | number; target: number }>;
  expose?: string[];
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  command?: string[];
  entrypoint?: string[];
  volumes?: string[];
}

interface ComposeModel {
  services: Record<string, Service>;
}

function compose(env: Record<string, string>, ...args: string[]) {
  return spawnSync(DOCKER_COMPOSE, ['--project-directory', ROOT, '-f', COMPOSE_FILE, ...args], {
    // A clean environment: only what the test passes reaches the interpolation.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function normalizedModel(): ComposeModel {
  const result = compose(SECRETS, 'config');
  expect(result.status, result.stderr).to.equal(0);
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
    input: result.stdout,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(json) as ComposeModel;
}

/** host:port of a URL or host:port setting. */
function hostPort(value: string): { host: string; port: string } {
  const url = new URL(value.includes('://') ? value : `tcp://${value}`);
  return { host: url.hostname, port: url.port };
}

const publishedPorts = (service: Service) =>
  (service.ports ?? []).flatMap((p) => {
    const [from, to = from] = String(p.published ?? '').split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });

/** The `port` cell of each row of the README's embedded-stack table, by part (e.g. Temporal → "7233, UI 8233"). */
function readmePorts(): Record<string, string> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = readme.split('### Embedded default stack')[1].split('\n\n')[1];
  const ports: Record<string, string> = {};
  for (const row of table.split('\n').slice(2)) {
    const cells = row.split('|').map((c) => c.trim());
    ports[cells[1]] = cells[3];
  }
  return ports;
}

const portIn = (cell: string, label = '') => Number(new RegExp(`${label}(\\d+)`).exec(cell)?.[1]);

/** The ports a service listens on inside the Compose network. */
const listensOn = (service: Service) => [...(service.ports ?? []).map((p) => p.target), ...(service.expose ?? []).map(Number)];

describe('docker-compose.yml: the production topology', function () {
  this.timeout(60_000);
  let model: ComposeModel;
  const workerNames = () => Object.keys(model.services).filter((name) => name.startsWith('worker-'));

  before(function () {
    if (!existsSync(DOCKER_COMPOSE)) {
      throw new Error(`${DOCKER_COMPOSE} is missing: install Debian's docker-compose (scripts/stack.sh install)`);
    }
    model = normalizedModel();
  });

  it('is valid for the Compose parser with the production secrets set', () => {
    const result = compose(SECRETS, 'config', '-q');
    expect(result.status, result.stderr).to.equal(0);
  });

  it('refuses to render without a production secret, naming it', () => {
    const { JWT_SECRET: _omitted, ...rest } = SECRETS;
    const result = compose(rest, 'config', '-q');
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain('JWT_SECRET');
  });

  it('has every service the platform needs, each image pinned and each long-running one health-checked', () => {
    const names = Object.keys(model.services);
    expect(names).to.include.members([
      'postgres', 'temporal', 'temporal-certs', 'temporal-schema', 'temporal-setup', 'temporal-admin-tools',
      'temporal-ui', 'temporal-ui-proxy', 's3', 'buckets', 's3-lifecycle',
      'meilisearch', 'stripe-mock', 'clamav', 'migrate', 'schedules', 'api',
    ]);
    for (const [name, service] of Object.entries(model.services)) {
      expect(service.image, name).to.match(/^[\w./-]+:[\w.-]*\d[\w.-]*$/);
      expect(service.image, name).to.not.match(/:latest$/);
      if (service.restart !== 'no') expect(service.healthcheck?.test, `${name} health check`).to.be.an('array').that.is.not.empty;
    }
  });

  it('runs every platform job as compiled JavaScript with plain node, never a TypeScript loader', () => {
    const platform = Object.entries(model.services).filter(([, service]) => service.build !== undefined);
    expect(platform.map(([name]) => name)).to.include.members(['migrate', 'buckets', 'schedules', 'api']);
    for (const [name, service] of platform) {
      expect(service.command?.[0], name).to.equal('node');
      expect(service.command?.[1], name).to.match(/^dist\/.+\.js$/);
    }
  });

  it('scans with ClamAV: the official image (freshclam and clamd), on the Compose network only', () => {
    const { clamav } = model.services;
    expect(clamav.image).to.match(/^clamav\/clamav:1\.4\.\d+$/);
    expect(listensOn(clamav)).to.include(3310);
    expect(clamav.ports ?? [], 'not published outside the Compose network').to.deep.equal([]);
    expect(clamav.entrypoint, 'the image entrypoint runs freshclam and clamd').to.equal(undefined);
    expect(clamav.healthcheck?.test).to.deep.equal(['CMD', 'clamdcheck.sh']);
  });

  it('refuses to render without METRICS_BEARER_TOKEN, which production requires', () => {
    const { METRICS_BEARER_TOKEN: _omitted, ...rest } = SECRETS;
    const result = compose(rest, 'config', '-q');
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain('METRICS_BEARER_TOKEN');
  });

  it('builds the image in two stages on one Node.js LTS, the runtime stage with production dependencies only', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(stages).to.have.length(2);
    expect(new Set(stages).size, 'both stages on the same base image').to.equal(1);
    expect(dockerfile).to.match(/^ARG NODE_IMAGE=node:(22|24)\.\d+\.\d+-/m);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    expect(runtime).to.contain('npm ci --omit=dev');
    expect(runtime).to.contain('COPY --from=build /app/dist ./dist');
    expect(runtime).to.match(/^USER (?!root)\w+/m);
    expect(runtime).to.not.match(/tsx/);
  });

  it('syncs schedules in one one-shot job that the API and workers wait for, never in each worker', () => {
    const { schedules } = model.services;
    expect(schedules.restart).to.equal('no');
    expect(schedules.command).to.deep.equal(['node', 'dist/scripts/schedules-sync.js']);
    for (const name of ['api', ...workerNames()]) {
      expect(model.services[name].depends_on?.schedules?.condition, name).to.equal('service_completed_successfully');
    }
  });

  it('runs Temporal on Postgres (not the dev server) with the platform namespace and its search attributes', () => {
    const { temporal, 'temporal-setup': setup } = model.services;
    expect(temporal.environment).to.include({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    const script = JSON.stringify(setup);
    expect(script).to.contain('namespace create --namespace edulure');
    for (const attribute of ['Domain', 'BusinessKey']) expect(script).to.contain(attribute);
    expect(script).to.contain('Keyword');
  });

  it('sets up Temporal’s schemas with its admin tools in a one-shot job, never the deprecated auto-setup image', () => {
    const { temporal, 'temporal-schema': schema } = model.services;
    for (const [name, service] of Object.entries(model.services)) expect(service.image, name).to.not.match(/auto-setup/);
    expect(temporal.image).to.match(/^temporalio\/server:1\.32\.\d+$/);
    expect(schema.image).to.match(/^temporalio\/admin-tools:/);
    expect(schema.restart).to.equal('no');
    const script = (schema.command ?? []).join('\n');
    expect(script).to.contain('temporal-sql-tool');
    for (const db of ['temporal', 'temporal_visibility']) expect(script).to.contain(db);
    expect(script).to.contain('schema/postgresql/v12').and.to.contain('update-schema -d');
    expect(schema.depends_on?.postgres.condition).to.equal('service_healthy');
    expect(temporal.depends_on?.['temporal-schema'].condition).to.equal('service_completed_successfully');
  });

  it('publishes nothing of Temporal on a host port: the frontend is on the Compose network only', () => {
    for (const name of ['temporal', 'temporal-ui', 'temporal-admin-tools', 'temporal-setup', 'temporal-schema']) {
      expect(model.services[name].ports ?? [], name).to.deep.equal([]);
    }
    expect(listensOn(model.services.temporal)).to.include(7233);
    for (const [name, service] of Object.entries(model.services)) {
      expect((service.ports ?? []).map((p) => p.target), `${name} publishes Temporal's frontend`).to.not.include(7233);
    }
  });

  it('requires mTLS of every client of the frontend, with mounted certificates a one-shot job makes for development', () => {
    const { temporal, 'temporal-certs': certs } = model.services;
    expect(temporal.environment).to.include({
      TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'true',
      TEMPORAL_TLS_FRONTEND_CERT: `${TLS_DIR}/server.pem`,
      TEMPORAL_TLS_FRONTEND_KEY: `${TLS_DIR}/server.key`,
      TEMPORAL_TLS_CLIENT1_CA_CERT: `${TLS_DIR}/ca.pem`,
      TEMPORAL_TLS_SERVER_CA_CERT: `${TLS_DIR}/ca.pem`,
    });
    expect(certs.restart).to.equal('no');
    expect(JSON.stringify(certs)).to.contain('dev-certs.sh');
    expect(temporal.depends_on?.['temporal-certs'].condition).to.equal('service_completed_successfully');
    const mountsCertificates = (service: Service) => (service.volumes ?? []).some((v) => v.endsWith(`:${TLS_DIR}:ro`));
    for (const name of ['temporal', 'temporal-ui', 'temporal-admin-tools', 'temporal-setup', 'schedules', 'api', ...workerNames()]) {
      expect(mountsCertificates(model.services[name]), `${name} mounts ${TLS_DIR} read-only`).to.equal(true);
    }
    for (const name of ['schedules', 'api', ...workerNames()]) {
      expect(model.services[name].environment, name).to.include({
        TEMPORAL_TLS_CERT: `${TLS_DIR}/client.pem`,
        TEMPORAL_TLS_KEY: `${TLS_DIR}/client.key`,
        TEMPORAL_TLS_CA: `${TLS_DIR}/ca.pem`,
      });
    }
    for (const name of ['temporal-admin-tools', 'temporal-setup']) {
      expect(model.services[name].environment, name).to.include({ TEMPORAL_TLS_CLIENT_CERT_PATH: `${TLS_DIR}/client.pem` });
    }
  });

  it('shows the UI only behind an authenticating proxy, with its write actions off', () => {
    const { 'temporal-ui': ui, 'temporal-ui-proxy': proxy } = model.services;
    expect(ui.environment).to.include({ TEMPORAL_DISABLE_WRITE_ACTIONS: 'true', TEMPORAL_TLS_CERT: `${TLS_DIR}/client.pem` });
    expect(ui.ports ?? []).to.deep.equal([]);
    expect(publishedPorts(proxy)).to.have.length(1);
    const conf = readFileSync(path.join(ROOT, 'deploy/temporal-ui-proxy.conf'), 'utf8');
    expect(conf).to.match(/^\s*auth_basic "/m);
    expect(conf).to.match(/^\s*auth_basic_user_file \/etc\/nginx\/htpasswd;/m);
    expect(conf).to.contain(`proxy_pass http://temporal-ui:${listensOn(ui)[0]};`);
    expect(proxy.volumes?.some((v) => v.endsWith(':/etc/nginx/htpasswd:ro'))).to.equal(true);
    const { TEMPORAL_UI_HTPASSWD: _omitted, ...rest } = SECRETS;
    expect(compose(rest, 'config', '-q').stderr, 'no UI without its operators’ passwords').to.contain('TEMPORAL_UI_HTPASSWD');
  });

  it('expires uploads after a day with a lifecycle rule on the platform’s upload bucket', () => {
    const job = model.services['s3-lifecycle'];
    expect(job.restart).to.equal('no');
    expect(job.depends_on?.buckets.condition).to.equal('service_completed_successfully');
    expect((job.command ?? []).join('\n')).to.contain('ilm rule add --expire-days 1');
    expect(job.environment?.UPLOAD_BUCKET).to.equal(shared().config.S3_BUCKET_UPLOADS);
  });

  it('runs a worker service per task queue, together serving every queue the platform has', () => {
    const served = workerNames().map((name) => model.services[name].environment?.WORKER_TASK_QUEUES);
    const queues = taskQueueWorkers(shared().config, shared().db, shared().providers).map((w) => w.taskQueue);
    expect(served.sort()).to.deep.equal([...queues].sort());
  });

  it('scales the API and the workers horizontally, after migrations, buckets and search attributes', () => {
    for (const name of ['api', ...workerNames()]) {
      const service = model.services[name];
      expect(service.deploy?.replicas, name).to.be.greaterThan(1);
      expect(service.depends_on?.migrate.condition).to.equal('service_completed_successfully');
      expect(service.depends_on?.buckets.condition).to.equal('service_completed_successfully');
      expect(service.depends_on?.['temporal-setup'].condition).to.equal('service_completed_successfully');
    }
  });

  it('publishes the ports the README documents', () => {
    const ports = readmePorts();
    const { api, 'temporal-ui-proxy': uiProxy, s3, 'stripe-mock': stripe } = model.services;
    expect(api.environment?.PORT).to.equal(String(portIn(ports.API)));
    expect(api.ports?.map((p) => p.target)).to.deep.equal([portIn(ports.API)]);
    expect(publishedPorts(api)).to.include(portIn(ports.API));
    expect(publishedPorts(uiProxy)).to.include(portIn(ports.Temporal, 'UI '));
    expect(publishedPorts(s3)).to.include(portIn(ports.S3));
    expect(publishedPorts(stripe)).to.include(portIn(ports.Stripe));
    for (const name of workerNames()) {
      expect(model.services[name].environment?.WORKER_METRICS_PORT, name).to.equal(String(portIn(ports.worker)));
    }
    expect(listensOn(model.services.postgres)).to.include(portIn(ports.Postgres));
  });

  it('points the API and the worker at the services of this file, by the platform variables', () => {
    const { services } = model;
    const reachable = (setting: string) => {
      const { host, port } = hostPort(setting);
      expect(services, `${setting}: no service ${host}`).to.have.property(host);
      expect(listensOn(services[host]), `${setting}: ${host} does not listen on ${port}`).to.include(Number(port));
    };
    for (const name of ['api', ...workerNames()]) {
      const env = services[name].environment ?? {};
      for (const key of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'S3_ENDPOINT', 'STRIPE_API_BASE', 'MEILISEARCH_HOST']) {
        expect(env, name).to.have.property(key);
        reachable(env[key]);
      }
      reachable(`${env.CLAMD_HOST}:${env.CLAMD_PORT}`);
      expect(env.METRICS_BEARER_TOKEN).to.equal(SECRETS.METRICS_BEARER_TOKEN);
      expect(env.DATABASE_URL).to.contain(`:${SECRETS.POSTGRES_PASSWORD}@`);
      expect(JSON.stringify(services['temporal-setup'].command)).to.contain(`namespace create --namespace ${env.TEMPORAL_NAMESPACE} `);
      expect(env.S3_ACCESS_KEY_ID).to.equal(services.s3.environment?.MINIO_ROOT_USER);
      expect(env.S3_SECRET_ACCESS_KEY).to.equal(services.s3.environment?.MINIO_ROOT_PASSWORD);
      expect(env.MEILISEARCH_API_KEY).to.equal(services.meilisearch.environment?.MEILI_MASTER_KEY);
    }
  });

  it('sets only real platform variables, which the platform accepts in production', () => {
    const known = new Set(describeConfig().map((c) => c.key));
    for (const name of ['api', ...workerNames(), 'migrate', 'buckets']) {
      const env = model.services[name].environment ?? {};
      expect(Object.keys(env).filter((key) => !known.has(key)), name).to.deep.equal([]);
      let problems: string[] = [];
      try {
        parseConfig(env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = err.problems;
      }
      expect(problems, name).to.deep.equal([]);
      expect(env.NODE_ENV).to.equal('production');
    }
  });
});
