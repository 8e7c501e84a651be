// `npm run token -- --role admin --sub alice [--role finance] [--ttl 3600]`:
// mints a bearer token for local use and prints it alone on its last line.
import { parseArgs } from 'node:util';
import { mintToken } from '../api/middleware/auth';
import { loadConfigOrExit } from '../lib/config';
import { Roles, type Role } from '../schemas/common';

const { values } = parseArgs({
  options: {
    role: { type: 'string', multiple: true, default: ['admin'] },
    sub: { type: 'string', default: 'local-admin' },
    ttl: { type: 'string', default: '43200' },
  },
});

const roles = values.role as string[];
const unknown = roles.filter((r) => !Roles.includes(r as Role));
if (unknown.length) {
  console.error(`unknown role(s): ${unknown.join(', ')}; choose from ${Roles.join(', ')}`);
  process.exit(2);
}
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error('--ttl must be a positive number of seconds');
  process.exit(2);
}
const config = loadConfigOrExit();
console.log(mintToken(config, { sub: values.sub as string, roles: roles as Role[], expiresInSeconds: ttl }));
