import winston from 'winston';

const SECRET_KEY = /(secret|password|passwd|token|authorization|api[-_]?key|cookie|signature|credential)/i;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER = /Bearer\s+[A-Za-z0-9._~+/=-]+/g;
const URL_CREDENTIALS = /(\w+:\/\/)[^:/@\s]+:[^@/\s]+@/g;
const SIGNED_QUERY = /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"]+/g;

export function redactString(value: string): string {
  return value
    .replace(BEARER, 'Bearer [REDACTED]')
    .replace(URL_CREDENTIALS, '$1[REDACTED]@')
    .replace(SIGNED_QUERY, '$1[REDACTED]')
    .replace(EMAIL, '[EMAIL]');
}

/** Deep copy of a log payload with secrets and e-mail addresses masked. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redactString(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? '[REDACTED]' : redact(v, depth + 1);
  }
  return out;
}

// Rewrites string-keyed fields in place: winston keeps its own state under symbol keys.
const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    info[key] = SECRET_KEY.test(key) ? '[REDACTED]' : redact(info[key]);
  }
  return info;
});

export const logger = winston.createLogger({
  level: 'info',
  format: winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.json()),
  defaultMeta: { service: 'edulure-flow' },
  transports: [new winston.transports.Console()],
});

export type Logger = winston.Logger;
