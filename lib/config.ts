// Every setting is an environment variable, read and validated once at boot.
// A `.env` file is read when present; the real environment wins.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import Ajv from 'ajv';
import { CronExpressionParser } from 'cron-parser';
import { jwtKeysProblem, MIN_HS_SECRET_BYTES, type JwtKeySpec } from './jwtKeys';
import { payloadKeysProblem } from './payloadCodec';
import dotenv from 'dotenv';

const str = (def: string, description: string) => Type.String({ default: def, minLength: 1, description });
const optional = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
const int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description });
const bool = (def: boolean, description: string) => Type.Boolean({ default: def, description });
const num = (def: number, min: number, max: number, description: string) =>
  Type.Number({ default: def, minimum: min, maximum: max, description });
const list = (def: string, description: string) =>
  Type.String({ default: def, pattern: '^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$', description: `${description} (comma-separated)` });
const cron = (def: string, description: string) =>
  Type.String({ default: def, pattern: '^\\S+( \\S+){4,5}$', description: `${description} (cron expression)` });
const oneOf = <T extends string>(values: readonly T[], def: T, description: string) =>
  Type.Unsafe<T>({ type: 'string', enum: values, default: def, description });
const url = (def: string, description: string) => Type.String({ default: def, pattern: '^https?://', description });

/** The schema of the environment. Its descriptions are the README's configuration table. */
export const ConfigSchema = Type.Object({
  NODE_ENV: oneOf(
    ['development', 'test', 'production'],
    'development',
    '`production` refuses the public local defaults of JWT_SECRET, S3_SECRET_ACCESS_KEY and STRIPE_WEBHOOK_SECRET, and requires CLAMD_HOST and METRICS_BEARER_TOKEN',
  ),
  LOG_LEVEL: oneOf(['error', 'warn', 'info', 'debug'], 'info', 'winston log level'),
  HOST: str('127.0.0.1', 'address the API binds to'),
  PORT: int(8080, 0, 65535, 'API port'),
  PUBLIC_API_URL: optional('URL clients use to reach the API (printed by `make up`); default http://HOST:PORT'),

  DATABASE_URL: str('postgres://edulure:edulure@127.0.0.1:5432/edulure', 'Postgres connection string'),
  DATABASE_POOL_MAX: int(10, 1, 200, 'Postgres pool size per process'),
  DATABASE_STATEMENT_TIMEOUT_MS: int(15000, 100, 600000, 'statement timeout of every query'),

  TEMPORAL_ADDRESS: str('127.0.0.1:7233', 'Temporal frontend host:port (dev server, self-hosted cluster or Temporal Cloud)'),
  TEMPORAL_NAMESPACE: str('default', 'Temporal namespace'),
  TEMPORAL_TLS_CERT: optional('path to the mTLS client certificate (PEM)'),
  TEMPORAL_TLS_KEY: optional('path to the mTLS client key (PEM)'),
  TEMPORAL_TLS_CA: optional('path to the CA certificate (PEM) that signed the Temporal frontend\'s server certificate; default the system CAs'),
  TEMPORAL_API_KEY: optional('Temporal Cloud API key (implies TLS)'),
  TEMPORAL_UI_URL: url('http://127.0.0.1:8233', 'Temporal Web UI base URL used to build `uiUrl`'),
  TEMPORAL_RETENTION_DAYS: int(30, 1, 3650, 'retention of closed runs set on the namespace by the stack runner'),
  TEMPORAL_PAYLOAD_KEYS: optional('JSON: key id → base64 of 32 bytes; with TEMPORAL_PAYLOAD_ACTIVE_KEY every workflow and activity payload is AES-256-GCM encrypted (every key decrypts: rotation adds the new key, makes it active, then removes the old once no history still kept needs it)'),
  TEMPORAL_PAYLOAD_ACTIVE_KEY: optional('the key id of TEMPORAL_PAYLOAD_KEYS that encrypts new payloads'),

  JWT_SECRET: str('edulure-local-jwt-secret-change-me', 'HS256 secret (at least 32 bytes) of tokens without a `kid`, used only while JWT_KEYS and JWKS_URL are unset (required in production then)'),
  JWT_KEYS: optional('JSON: `kid` → {"alg":"HS256","secret"} or {"alg":"RS256"|"EdDSA","publicKey":"<PEM>"}; every key verifies tokens naming its kid with its one algorithm (rotation: add the new key, then remove the old)'),
  JWKS_URL: Type.Optional(Type.String({ pattern: '^https://', description: 'https URL of a JSON Web Key Set verifying RS256/EdDSA tokens by `kid` (cached, 5 s timeout)' })),
  JWT_SIGNING_KEY: optional('what `npm run token` signs with: an HS secret or a private key (PEM); default JWT_SECRET'),
  JWT_ACTIVE_KID: optional('the `kid` `npm run token` puts in its tokens (with JWT_SIGNING_KEY)'),
  JWT_ISSUER: str('edulure-flow', 'expected `iss` claim'),
  JWT_AUDIENCE: str('edulure-flow-api', 'expected `aud` claim'),
  METRICS_BEARER_TOKEN: optional('bearer token required by GET /metrics when set (required in production)'),
  RATE_LIMIT_PER_MINUTE: int(600, 1, 1000000, 'token-bucket refill per principal and route group, per minute'),
  RATE_LIMIT_BURST: int(120, 1, 1000000, 'token-bucket capacity per principal and route group'),

  CORS_ALLOWED_ORIGINS: Type.String({
    default: '',
    pattern: '^(https?://[^,\\s]+(,https?://[^,\\s]+)*)?$',
    description: 'browser origins allowed to call the API and PUT to the upload bucket (comma-separated; empty: no CORS)',
  }),
  CORS_ALLOWED_METHODS: list('GET,HEAD,POST,PATCH,DELETE', 'methods a cross-origin request may use'),
  CORS_ALLOWED_HEADERS: Type.String({
    default: 'authorization,content-type,idempotency-key,last-event-id,x-request-id',
    pattern: '^[A-Za-z0-9-]+(,[A-Za-z0-9-]+)*$',
    description: 'request headers a cross-origin request may send (comma-separated)',
  }),
  CORS_ALLOW_CREDENTIALS: bool(false, 'answer Access-Control-Allow-Credentials: true to allowed origins'),
  CORS_MAX_AGE_SECONDS: int(600, 0, 86400, 'how long a browser may cache a preflight answer'),

  S3_ENDPOINT: url('http://127.0.0.1:8333', 'S3-compatible endpoint (SeaweedFS locally; unset it for AWS by setting the AWS one)'),
  S3_PUBLIC_ENDPOINT: optional('endpoint used in presigned URLs when clients reach storage by another name'),
  S3_REGION: str('us-east-1', 'S3 region'),
  S3_ACCESS_KEY_ID: str('edulure', 'S3 access key'),
  S3_SECRET_ACCESS_KEY: str('edulure-local-secret', 'S3 secret key'),
  S3_FORCE_PATH_STYLE: bool(true, 'path-style bucket addressing (needed by SeaweedFS and MinIO)'),
  S3_BUCKET_UPLOADS: str('edulure-uploads', 'bucket receiving presigned uploads'),
  S3_BUCKET_PRIVATE: str('edulure-private', 'bucket of renditions (`assets/<id>/`)'),
  S3_BUCKET_QUARANTINE: str('edulure-quarantine', 'bucket of infected uploads'),
  TELEMETRY_EXPORT_BUCKET: str('edulure-telemetry', 'bucket of telemetry exports'),

  CONTENT_MAX_UPLOAD_MB: int(200, 1, 10240, 'largest upload accepted, in MiB (413 above)'),
  ASSET_PRESIGN_TTL_MINUTES: int(15, 1, 15, 'lifetime of presigned upload URLs (at most 15 minutes)'),
  ASSET_DOWNLOAD_TTL_SECONDS: int(900, 1, 3600, 'lifetime of presigned download URLs (at most 3600)'),
  DRM_DOWNLOAD_LIMIT: int(5, 1, 100000, 'download URLs a learner may obtain per asset'),
  CONVERTER_TIMEOUT_SECONDS: int(180, 5, 3600, 'timeout of one LibreOffice/poppler/sharp conversion'),
  LIBREOFFICE_BIN: str('soffice', 'LibreOffice executable'),
  PDFTOPPM_BIN: str('pdftoppm', 'poppler pdftoppm executable'),
  PDFINFO_BIN: str('pdfinfo', 'poppler pdfinfo executable'),
  PDFTOTEXT_BIN: str('pdftotext', 'poppler pdftotext executable'),
  CONVERTER_MAX_ATTEMPTS: int(2, 1, 10, 'attempts a file gets when a converter times out or crashes on it; then the asset is failed as invalid content'),
  CONVERTER_MEMORY_MB: int(4096, 256, 65536, 'address-space limit of one sandboxed LibreOffice/poppler run, in MiB'),
  CONVERTER_CPU_SECONDS: int(120, 1, 86400, 'CPU-time limit of one sandboxed LibreOffice/poppler run'),
  IMAGE_MAX_PIXELS: int(50000000, 1, 1000000000, 'largest image (width × height) accepted; larger is invalid content'),
  ARCHIVE_MAX_UNCOMPRESSED_MB: int(500, 1, 102400, 'largest inflated size a docx/pptx/epub may declare, in MiB; larger is invalid content'),
  CLAMD_HOST: str('127.0.0.1', 'ClamAV clamd host, the only antivirus engine (must be set explicitly in production)'),
  CLAMD_PORT: int(3310, 1, 65535, 'ClamAV clamd port'),
  MEILISEARCH_HOST: optional('Meilisearch URL; when unset search uses Postgres full-text search'),
  MEILISEARCH_API_KEY: optional('Meilisearch API key'),
  PROVIDER_TIMEOUT_MS: int(10000, 100, 600000, 'timeout of every HTTP call to a provider'),

  STRIPE_API_BASE: url('http://127.0.0.1:12111', 'Stripe API base (stripe-mock); left at its default with a real STRIPE_SECRET_KEY, https://api.stripe.com is used'),
  STRIPE_SECRET_KEY: str('sk_test_123', 'Stripe secret key (stripe-mock accepts any sk_test_ key)'),
  STRIPE_PUBLISHABLE_KEY: str('pk_test_edulure_local', 'Stripe publishable key answered with a client secret, for Stripe.js in the browser'),
  STRIPE_WEBHOOK_SECRET: Type.String({
    default: 'whsec_local_edulure',
    pattern: '^[^,\\s]+(,[^,\\s]+)?$',
    description: 'secret that signs Stripe webhooks; two comma-separated while Stripe rolls one',
  }),

  PAYMENTS_ALLOWED_CURRENCIES: list('usd,eur,gbp', 'currencies payments may use, lowercase ISO 4217'),
  PAYMENTS_TAX_TABLE: str('{"US":0,"GB":0.2,"DE":0.19,"FR":0.2}', 'JSON object: tax region → rate (fraction 0–1)'),
  PAYMENTS_TAX_INCLUSIVE: bool(false, 'amounts already include tax (true) or tax is added on top (false)'),
  PAYMENTS_DEFAULT_TAX_REGION: str('US', 'tax region of a learner\'s payment (and of one that names none), a key of PAYMENTS_TAX_TABLE'),
  PAYMENTS_TAX_REGION_FROM_REQUEST: bool(false, 'a learner\'s taxRegion is used (true) or ignored for PAYMENTS_DEFAULT_TAX_REGION (false)'),
  PAYMENTS_CLIENT_SECRET_WAIT_MS: int(3000, 100, 60000, 'how long POST /payments waits for the client secret before answering it null'),
  PAYMENTS_MAX_COUPON_PERCENTAGE: int(50, 0, 100, 'largest discount a coupon may give, in percent'),
  PAYMENTS_AUTHORIZATION_TTL_HOURS: int(168, 1, 720, 'an uncaptured manual authorization is canceled after this'),
  PAYMENTS_REPORTING_TIMEZONE: str('UTC', 'IANA time zone of the payments summary report'),
  BILLING_RECONCILIATION_CRON: cron('0 * * * *', 'when the billing-reconciliation schedule runs'),
  BILLING_RECONCILIATION_ENABLED: bool(true, 'false pauses the billing-reconciliation schedule'),

  TELEMETRY_INGESTION_ENABLED: bool(true, 'false answers telemetry ingestion with 503'),
  TELEMETRY_ALLOWED_SOURCES: list('web,backend,worker,mobile', 'event sources accepted'),
  TELEMETRY_STRICT_SOURCE_ENFORCEMENT: bool(false, 'an unknown source rejects the whole request (422) instead of that event'),
  TELEMETRY_DEFAULT_SCOPE: str('analytics', 'consent scope of events that name none'),
  TELEMETRY_CONSENT_HARD_BLOCK: bool(true, 'events without active consent are stored as suppressed and never exported'),
  TELEMETRY_EXPORT_ENABLED: bool(true, 'false pauses the telemetry-export schedule'),
  TELEMETRY_EXPORT_CRON: cron('*/10 * * * *', 'when the telemetry-export schedule runs'),
  TELEMETRY_EXPORT_TIMEZONE: str('UTC', 'IANA time zone of TELEMETRY_EXPORT_CRON'),
  TELEMETRY_EXPORT_RUN_ON_STARTUP: bool(false, 'trigger one export when `npm run schedules:sync` runs'),
  TELEMETRY_EXPORT_BATCH_SIZE: int(5000, 1, 1000000, 'events per exported object'),
  TELEMETRY_EXPORT_MAX_BATCHES_PER_RUN: int(200, 1, 10000, 'batches one run exports before it continues as new'),
  TELEMETRY_EXPORT_COMPRESS: bool(true, 'gzip the JSONL exports'),
  TELEMETRY_EXPORT_PREFIX: Type.String({ default: 'telemetry', pattern: '^[A-Za-z0-9._/-]+$', description: 'key prefix of exports' }),
  TELEMETRY_LINEAGE_TOOL: str('edulure-flow', 'lineage tool named in each export object\'s metadata'),
  TELEMETRY_FRESHNESS_INGESTION_THRESHOLD_MINUTES: int(15, 1, 100000, 'ingestion is stale after this long without events'),
  TELEMETRY_FRESHNESS_EXPORT_THRESHOLD_MINUTES: int(30, 1, 100000, 'export is stale when pending events wait longer than this'),

  RELEASE_REQUIRED_GATES: list('quality,security,observability,compliance,change', 'gates that must pass (or be waived)'),
  RELEASE_MIN_COVERAGE: num(0.8, 0, 1, 'quality gate: least test coverage (fraction)'),
  RELEASE_MAX_TEST_FAILURE_RATE: num(0.02, 0, 1, 'quality gate: largest test failure rate (fraction)'),
  RELEASE_MAX_CRITICAL_VULNERABILITIES: int(0, 0, 100000, 'security gate: most critical vulnerabilities'),
  RELEASE_MAX_HIGH_VULNERABILITIES: int(3, 0, 100000, 'security gate: most high vulnerabilities'),
  RELEASE_MAX_OPEN_INCIDENTS: int(0, 0, 100000, 'observability gate: most open incidents'),
  RELEASE_MAX_ERROR_RATE: num(0.01, 0, 1, 'observability gate: largest error rate (fraction)'),
  RELEASE_CHANGE_FREEZE_CRON: cron('0 16 * * 5', 'start of each change-freeze window'),
  RELEASE_CHANGE_FREEZE_DURATION_MINUTES: int(3840, 1, 100000, 'length of each change-freeze window (default Fri 16:00 → Mon 08:00)'),
  RELEASE_CHANGE_FREEZE_TIMEZONE: str('UTC', 'IANA time zone of RELEASE_CHANGE_FREEZE_CRON'),

  DATA_RETENTION_ENABLED: bool(true, 'false pauses the data-retention schedule'),
  DATA_RETENTION_CRON: cron('0 3 * * *', 'when the data-retention schedule runs'),
  DATA_RETENTION_TIMEZONE: str('UTC', 'IANA time zone of DATA_RETENTION_CRON'),
  DATA_RETENTION_DRY_RUN: bool(false, 'scheduled runs only count and sample'),
  DATA_RETENTION_BATCH_SIZE: int(50000, 1, 100000, 'rows per retention batch'),
  DATA_RETENTION_OBJECT_BATCH_SIZE: int(1000, 1, 100000, 'objects per retention batch of a storage-backed entity (at most DATA_RETENTION_BATCH_SIZE)'),
  DATA_RETENTION_MAX_FAILURES: int(3, 1, 1000, 'consecutive failures before a policy rests'),
  DATA_RETENTION_FAILURE_BACKOFF_MINUTES: int(60, 1, 100000, 'how long a failing policy rests'),

  WORKER_TASK_QUEUES: Type.String({
    default: '',
    pattern: '^([a-z]+(,[a-z]+)*)?$',
    description: 'task queues this worker process serves (comma-separated: assets, payments, telemetry, releases, retention, notifications); empty: all',
  }),
  WORKER_ACTIVITY_CONCURRENCY: str('{"assets":2}', 'JSON object: task queue → most activities one worker process runs at once on it (queues not named: the SDK default)'),
  WEBHOOK_SECRET_KEY: Type.String({
    default: 'ZWR1bHVyZS1sb2NhbC13ZWJob29rLXNlY3JldC1rZXk=',
    pattern: '^[A-Za-z0-9+/]{43}=$',
    description: 'base64 of the 32-byte AES-256-GCM key encrypting webhook endpoint secrets at rest (required in production)',
  }),
  WEBHOOK_ALLOWED_HTTP_HOSTS: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9.:_-]+(,[A-Za-z0-9.:_-]+)*$',
      description: 'hosts a webhook URL may reach over plain http (comma-separated); default 127.0.0.1,localhost outside production, none in production',
    }),
  ),
  WEBHOOK_RETRY_SCHEDULE_SECONDS: Type.String({
    default: '5,300,1800,7200,18000,36000,36000',
    pattern: '^[0-9]{1,6}(,[0-9]{1,6}){0,19}$',
    description: 'waits before each retry of a webhook delivery, in seconds (comma-separated); after the last one the delivery is `failed`',
  }),
  WEBHOOK_DISPATCH_ENABLED: bool(true, 'the notifications worker dispatches outbox events to webhook endpoints'),
  WEBHOOK_DISPATCH_INTERVAL_MS: int(1000, 50, 60000, 'how often the notifications worker polls the outbox'),

  WORKER_METRICS_PORT: int(9464, 0, 65535, 'Prometheus port of the worker (SDK metrics)'),
  WORKER_SHUTDOWN_GRACE_SECONDS: int(30, 0, 3600, 'time in-flight activities get to finish on SIGTERM/SIGINT'),
});

/** Settings written as text in the environment and parsed once, at boot, into what the code uses. */
const LIST_SETTINGS = [
  'PAYMENTS_ALLOWED_CURRENCIES',
  'TELEMETRY_ALLOWED_SOURCES',
  'RELEASE_REQUIRED_GATES',
  'WORKER_TASK_QUEUES',
  'CORS_ALLOWED_ORIGINS',
  'CORS_ALLOWED_METHODS',
  'CORS_ALLOWED_HEADERS',
  'STRIPE_WEBHOOK_SECRET',
] as const;
type ListSetting = (typeof LIST_SETTINGS)[number];

/** The environment's text, as validated against ConfigSchema. */
type RawConfig = Static<typeof ConfigSchema>;

/** The configuration as the platform uses it: lists as arrays, the tax table as an object. */
export type Config = Omit<RawConfig, ListSetting | 'PAYMENTS_TAX_TABLE' | 'JWT_KEYS' | 'WORKER_ACTIVITY_CONCURRENCY' | WebhookListSetting> & {
  readonly [K in ListSetting]: readonly string[];
} & {
  readonly PAYMENTS_TAX_TABLE: Readonly<Record<string, number>>;
  readonly WORKER_ACTIVITY_CONCURRENCY: Readonly<Record<string, number>>;
  readonly JWT_KEYS?: Readonly<Record<string, JwtKeySpec>>;
  readonly WEBHOOK_ALLOWED_HTTP_HOSTS: readonly string[];
  readonly WEBHOOK_RETRY_SCHEDULE_SECONDS: readonly number[];
};

type WebhookListSetting = 'WEBHOOK_ALLOWED_HTTP_HOSTS' | 'WEBHOOK_RETRY_SCHEDULE_SECONDS';

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true });
const validateEnv = ajv.compile(ConfigSchema);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}

/** Settings production must be given explicitly: a local default would be wrong there, or none exists. */
const REQUIRED_IN_PRODUCTION = ['CLAMD_HOST', 'METRICS_BEARER_TOKEN'] as const;

/** Checks that hold between keys, or only in production; `given` names the keys the environment set. */
function crossChecks(config: RawConfig, given: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (config.NODE_ENV === 'production') {
    const tokenKeys = config.JWT_KEYS || config.JWKS_URL ? [] : (['JWT_SECRET'] as const);
    for (const key of [...tokenKeys, 'S3_SECRET_ACCESS_KEY', 'STRIPE_WEBHOOK_SECRET', 'WEBHOOK_SECRET_KEY'] as const) {
      if (isDefault(config, key)) problems.push(`${key}: must be set in production (the local default is public)`);
    }
    for (const key of REQUIRED_IN_PRODUCTION) {
      if (!given.has(key)) problems.push(`${key}: must be set in production`);
    }
  }
  if (Buffer.byteLength(config.JWT_SECRET) < MIN_HS_SECRET_BYTES) problems.push(`JWT_SECRET: must be at least ${MIN_HS_SECRET_BYTES} bytes`);
  if (config.JWT_KEYS !== undefined) {
    const problem = jsonObjectProblem(config.JWT_KEYS) ?? jwtKeysProblem(JSON.parse(config.JWT_KEYS) as Record<string, unknown>);
    if (problem) problems.push(`JWT_KEYS: ${problem}`);
  }
  if (!isConcurrencyTable(config.WORKER_ACTIVITY_CONCURRENCY)) {
    problems.push('WORKER_ACTIVITY_CONCURRENCY: must be a JSON object of task queue → integer of at least 1');
  }
  if (!isTaxTable(config.PAYMENTS_TAX_TABLE)) {
    problems.push('PAYMENTS_TAX_TABLE: must be a JSON object of region → rate between 0 and 1');
  } else if (!(config.PAYMENTS_DEFAULT_TAX_REGION.split('-')[0] in (JSON.parse(config.PAYMENTS_TAX_TABLE) as object))) {
    problems.push('PAYMENTS_DEFAULT_TAX_REGION: must be a region of PAYMENTS_TAX_TABLE');
  }
  for (const key of ['PAYMENTS_REPORTING_TIMEZONE', 'TELEMETRY_EXPORT_TIMEZONE', 'RELEASE_CHANGE_FREEZE_TIMEZONE', 'DATA_RETENTION_TIMEZONE'] as const) {
    if (!isTimeZone(config[key])) problems.push(`${key}: must be an IANA time zone such as UTC or Europe/London`);
  }
  for (const [key, zoneKey] of CRON_SETTINGS) {
    const zone = zoneKey && isTimeZone(config[zoneKey]) ? config[zoneKey] : 'UTC';
    const problem = cronProblem(config[key], zone);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  if (Buffer.from(config.WEBHOOK_SECRET_KEY, 'base64').length !== 32) problems.push('WEBHOOK_SECRET_KEY: must be base64 of 32 bytes');
  if (Boolean(config.TEMPORAL_TLS_CERT) !== Boolean(config.TEMPORAL_TLS_KEY)) {
    problems.push('TEMPORAL_TLS_CERT: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together');
  }
  if (config.TEMPORAL_TLS_CA && !config.TEMPORAL_TLS_CERT) {
    problems.push('TEMPORAL_TLS_CA: only used with TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mTLS)');
  }
  problems.push(...payloadEncryptionProblems(config));
  return problems;
}

/** The payload keys: both settings or neither, valid keys, and an active key among them. */
function payloadEncryptionProblems({ TEMPORAL_PAYLOAD_KEYS: keys, TEMPORAL_PAYLOAD_ACTIVE_KEY: active }: RawConfig): string[] {
  if (keys === undefined && active === undefined) return [];
  if (keys === undefined || active === undefined) {
    return ['TEMPORAL_PAYLOAD_KEYS: TEMPORAL_PAYLOAD_KEYS and TEMPORAL_PAYLOAD_ACTIVE_KEY go together'];
  }
  const problem = jsonObjectProblem(keys) ?? payloadKeysProblem(JSON.parse(keys) as Record<string, unknown>);
  if (problem) return [`TEMPORAL_PAYLOAD_KEYS: ${problem}`];
  const known = Object.keys(JSON.parse(keys) as Record<string, unknown>);
  return known.includes(active) ? [] : [`TEMPORAL_PAYLOAD_ACTIVE_KEY: "${active}" is not a key id of TEMPORAL_PAYLOAD_KEYS (${known.join(', ')})`];
}

/** Each cron setting with the setting naming its time zone (none: UTC). */
const CRON_SETTINGS = [
  ['TELEMETRY_EXPORT_CRON', 'TELEMETRY_EXPORT_TIMEZONE'],
  ['BILLING_RECONCILIATION_CRON', undefined],
  ['RELEASE_CHANGE_FREEZE_CRON', 'RELEASE_CHANGE_FREEZE_TIMEZONE'],
  ['DATA_RETENTION_CRON', 'DATA_RETENTION_TIMEZONE'],
] as const;

/** Why the cron parser the platform uses refuses an expression (undefined when it accepts it). */
function cronProblem(expression: string, timezone: string): string | undefined {
  try {
    CronExpressionParser.parse(expression, { tz: timezone }).next();
    return undefined;
  } catch (err) {
    return `not a cron expression the scheduler accepts (${(err as Error).message})`;
  }
}

function jsonObjectProblem(value: string): string | undefined {
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? undefined : 'must be a JSON object';
  } catch {
    return 'must be a JSON object';
  }
}

function isTaxTable(value: string): boolean {
  try {
    const table = JSON.parse(value) as unknown;
    return (
      typeof table === 'object' && table !== null && !Array.isArray(table) &&
      Object.values(table).every((rate) => typeof rate === 'number' && rate >= 0 && rate <= 1)
    );
  } catch {
    return false;
  }
}

function isConcurrencyTable(value: string): boolean {
  if (jsonObjectProblem(value)) return false;
  return Object.values(JSON.parse(value) as object).every((n) => Number.isInteger(n) && (n as number) >= 1);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const listOf = (value: string): string[] => value.split(',').filter(Boolean);

/** Lists and the tax table parsed (they were checked by the schema and crossChecks). */
function parsed(raw: RawConfig): Config {
  const lists = Object.fromEntries(LIST_SETTINGS.map((key) => [key, Object.freeze(listOf(raw[key]))])) as Record<ListSetting, readonly string[]>;
  const taxTable = Object.freeze(JSON.parse(raw.PAYMENTS_TAX_TABLE) as Record<string, number>);
  const concurrency = Object.freeze(JSON.parse(raw.WORKER_ACTIVITY_CONCURRENCY) as Record<string, number>);
  const jwtKeys = raw.JWT_KEYS === undefined ? undefined : Object.freeze(JSON.parse(raw.JWT_KEYS) as Record<string, JwtKeySpec>);
  const httpHosts = raw.WEBHOOK_ALLOWED_HTTP_HOSTS ?? (raw.NODE_ENV === 'production' ? '' : '127.0.0.1,localhost');
  return Object.freeze({
    ...raw,
    ...lists,
    PAYMENTS_TAX_TABLE: taxTable,
    JWT_KEYS: jwtKeys,
    WORKER_ACTIVITY_CONCURRENCY: concurrency,
    WEBHOOK_ALLOWED_HTTP_HOSTS: Object.freeze(listOf(httpHosts.toLowerCase())),
    WEBHOOK_RETRY_SCHEDULE_SECONDS: Object.freeze(listOf(raw.WEBHOOK_RETRY_SCHEDULE_SECONDS).map(Number)),
  });
}

/** Whether a setting still has its local default (e.g. a public development secret). */
export function isDefault(config: Config | RawConfig, key: keyof Config & keyof RawConfig): boolean {
  return (ConfigSchema.properties as Record<string, TSchema>)[key].default === (config as Record<string, unknown>)[key];
}

/** Validates an environment; throws a ConfigError with one line per offending key. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const known = Object.keys(ConfigSchema.properties);
  const candidate: Record<string, unknown> = {};
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') candidate[key] = value;
  }
  const given = new Set(Object.keys(candidate)); // before the schema fills in defaults
  if (!validateEnv(candidate)) {
    const byKey = new Map<string, string>();
    for (const e of validateEnv.errors ?? []) {
      const key = e.instancePath.replace(/^\//, '') || String(e.params?.missingProperty ?? '(root)');
      const allowed = (e.params as { allowedValues?: string[] }).allowedValues;
      if (!byKey.has(key)) byKey.set(key, allowed ? `must be one of ${allowed.join(', ')}` : (e.message ?? 'is invalid'));
    }
    throw new ConfigError([...byKey].map(([key, message]) => `${key}: ${message}`));
  }
  const raw = candidate as RawConfig;
  const problems = crossChecks(raw, given);
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed(raw);
}

let loaded: Config | undefined;

/**
 * The process's configuration, validated on first use. Entrypoints call it at
 * boot; a bad value ends the process with one line per offending key.
 */
export function config(): Config {
  if (!loaded) {
    dotenv.config();
    loaded = parseConfig(process.env);
  }
  return loaded;
}

export function loadConfigOrExit(): Config {
  try {
    return config();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.problems.join('\n')}\n`);
      process.exit(78);
    }
    throw err;
  }
}

export function describeConfig(): Array<{ key: string; default: unknown; description: string }> {
  return Object.entries(ConfigSchema.properties as Record<string, TSchema>).map(([key, schema]) => ({
    key,
    default: schema.default,
    description: String(schema.description ?? ''),
  }));
}
