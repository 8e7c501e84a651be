// Every setting is an environment variable, read and validated once at boot.
// A `.env` file is read when present; the real environment wins.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import Ajv from 'ajv';
import dotenv from 'dotenv';

const str = (def: string, description: string) => Type.String({ default: def, minLength: 1, description });
const optional = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
const int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description });
const bool = (def: boolean, description: string) => Type.Boolean({ default: def, description });
const oneOf = <T extends string>(values: readonly T[], def: T, description: string) =>
  Type.Unsafe<T>({ type: 'string', enum: values, default: def, description });
const url = (def: string, description: string) => Type.String({ default: def, pattern: '^https?://', description });

/** The schema of the environment. Its descriptions are the README's configuration table. */
export const ConfigSchema = Type.Object({
  NODE_ENV: oneOf(
    ['development', 'test', 'production'],
    'development',
    '`production` refuses the public local defaults of JWT_SECRET, S3_SECRET_ACCESS_KEY and STRIPE_WEBHOOK_SECRET',
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
  TEMPORAL_API_KEY: optional('Temporal Cloud API key (implies TLS)'),
  TEMPORAL_UI_URL: url('http://127.0.0.1:8233', 'Temporal Web UI base URL used to build `uiUrl`'),
  TEMPORAL_RETENTION_DAYS: int(30, 1, 3650, 'retention of closed runs set on the namespace by the stack runner'),

  JWT_SECRET: str('edulure-local-jwt-secret-change-me', 'HS256 secret for bearer tokens (required in production)'),
  JWT_ISSUER: str('edulure-flow', 'expected `iss` claim'),
  JWT_AUDIENCE: str('edulure-flow-api', 'expected `aud` claim'),
  METRICS_BEARER_TOKEN: optional('bearer token required by GET /metrics when set'),
  RATE_LIMIT_PER_MINUTE: int(600, 1, 1000000, 'token-bucket refill per principal and route group, per minute'),
  RATE_LIMIT_BURST: int(120, 1, 1000000, 'token-bucket capacity per principal and route group'),

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
  ASSET_PRESIGN_TTL_MINUTES: int(15, 1, 1440, 'lifetime of presigned upload URLs'),
  ASSET_DOWNLOAD_TTL_SECONDS: int(900, 1, 3600, 'lifetime of presigned download URLs (at most 3600)'),
  DRM_DOWNLOAD_LIMIT: int(5, 1, 100000, 'download URLs a learner may obtain per asset'),
  CONVERTER_TIMEOUT_SECONDS: int(180, 5, 3600, 'timeout of one LibreOffice/poppler/sharp conversion'),
  LIBREOFFICE_BIN: str('soffice', 'LibreOffice executable'),
  PDFTOPPM_BIN: str('pdftoppm', 'poppler pdftoppm executable'),
  PDFINFO_BIN: str('pdfinfo', 'poppler pdfinfo executable'),
  PDFTOTEXT_BIN: str('pdftotext', 'poppler pdftotext executable'),
  CLAMD_HOST: optional('ClamAV clamd host; when unset only the built-in EICAR signature is checked'),
  CLAMD_PORT: int(3310, 1, 65535, 'ClamAV clamd port'),
  CLOUDCONVERT_API_KEY: optional('use CloudConvert instead of LibreOffice for pptx/docx'),
  MEILISEARCH_HOST: optional('Meilisearch URL; when unset search uses Postgres full-text search'),
  MEILISEARCH_API_KEY: optional('Meilisearch API key'),
  PROVIDER_TIMEOUT_MS: int(10000, 100, 600000, 'timeout of every HTTP call to a provider'),

  STRIPE_API_BASE: url('http://127.0.0.1:12111', 'Stripe API base (stripe-mock locally) unless a real key is set'),
  STRIPE_SECRET_KEY: str('sk_test_123', 'Stripe secret key (stripe-mock accepts any sk_test_ key)'),
  STRIPE_WEBHOOK_SECRET: str('whsec_local_edulure', 'secret that signs Stripe webhooks'),

  WORKER_METRICS_PORT: int(9464, 0, 65535, 'Prometheus port of the worker (SDK metrics)'),
  WORKER_SHUTDOWN_GRACE_SECONDS: int(30, 0, 3600, 'time in-flight activities get to finish on SIGTERM/SIGINT'),
});

export type Config = Static<typeof ConfigSchema>;

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true });
const validateEnv = ajv.compile(ConfigSchema);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}

/** Checks that hold between keys, or only in production. */
function crossChecks(config: Config): string[] {
  const problems: string[] = [];
  if (config.NODE_ENV === 'production') {
    const defaults = readDefaults();
    for (const key of ['JWT_SECRET', 'S3_SECRET_ACCESS_KEY', 'STRIPE_WEBHOOK_SECRET'] as const) {
      if (config[key] === defaults[key]) problems.push(`${key}: must be set in production (the local default is public)`);
    }
  }
  if (config.JWT_SECRET.length < 16) problems.push('JWT_SECRET: must be at least 16 characters');
  if (Boolean(config.TEMPORAL_TLS_CERT) !== Boolean(config.TEMPORAL_TLS_KEY)) {
    problems.push('TEMPORAL_TLS_CERT: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together');
  }
  return problems;
}

function readDefaults(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(ConfigSchema.properties as Record<string, TSchema>).map(([k, s]) => [k, s.default]),
  );
}

/** Validates an environment; throws a ConfigError with one line per offending key. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const known = Object.keys(ConfigSchema.properties);
  const candidate: Record<string, unknown> = {};
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') candidate[key] = value;
  }
  if (!validateEnv(candidate)) {
    const byKey = new Map<string, string>();
    for (const e of validateEnv.errors ?? []) {
      const key = e.instancePath.replace(/^\//, '') || String(e.params?.missingProperty ?? '(root)');
      const allowed = (e.params as { allowedValues?: string[] }).allowedValues;
      if (!byKey.has(key)) byKey.set(key, allowed ? `must be one of ${allowed.join(', ')}` : (e.message ?? 'is invalid'));
    }
    throw new ConfigError([...byKey].map(([key, message]) => `${key}: ${message}`));
  }
  const config = candidate as Config;
  const problems = crossChecks(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
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
