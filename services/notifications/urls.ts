// Where a webhook may be sent (SPEC §4.7): https, or http to an allowed host; no credentials;
// in production never to an internal address. Checked at creation and again at each delivery,
// and a delivery connects to the very address that was checked.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { unprocessable } from '../../lib/errors';

export interface UrlRules {
  production: boolean;
  allowedHttpHosts: readonly string[];
}

export interface CheckedAddress {
  url: URL;
  address: string;
  family: 4 | 6;
}

const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv6');

const notAllowed = (why: string) => unprocessable('WEBHOOK_URL_NOT_ALLOWED', `webhook URL not allowed: ${why}`);

const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** The URL's own form: scheme, allowed http host, no credentials. */
export function checkUrlForm(raw: string, rules: UrlRules): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw notAllowed('not a URL');
  }
  if (url.username || url.password) throw notAllowed('credentials in the URL');
  if (url.protocol === 'http:' && !rules.allowedHttpHosts.includes(bareHost(url))) {
    throw notAllowed('http only to a host in WEBHOOK_ALLOWED_HTTP_HOSTS; use https');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw notAllowed('https only');
  return url;
}

export const isInternalAddress = (address: string): boolean => INTERNAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Resolves the host once and checks what it resolved to; the caller connects to that address. */
export async function checkedAddress(raw: string, rules: UrlRules): Promise<CheckedAddress> {
  const url = checkUrlForm(raw, rules);
  const host = bareHost(url);
  let resolved: Array<{ address: string; family: number }>;
  try {
    resolved = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  } catch {
    throw notAllowed(`${host} does not resolve`);
  }
  if (resolved.length === 0) throw notAllowed(`${host} does not resolve`);
  if (rules.production && resolved.some((r) => isInternalAddress(r.address))) throw notAllowed(`${host} resolves to an internal address`);
  const [first] = resolved;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
