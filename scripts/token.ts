// `npm run token -- --role admin --sub alice [--role finance] [--ttl 3600]`:
// mints a bearer token and prints it alone on its last line. It signs with JWT_SIGNING_KEY (an HS secret
// or a private key in PEM; its kid JWT_ACTIVE_KID) when set, else with JWT_SECRET.
import { parseArgs } from 'node:util';
import { mintToken } from '../api/middleware/auth';
import { loadConfigOrExit } from '../lib/config';
import { signToken } from '../lib/jwtSigning';
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
const claims = { sub: values.sub as string, roles: roles as Role[], expiresInSeconds: ttl };
const signed = config.JWT_SIGNING_KEY
  ? signToken({ key: config.JWT_SIGNING_KEY, kid: config.JWT_ACTIVE_KID, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }, claims)
  : Promise.resolve(mintToken(config, claims));
signed.then(
  (token) => console.log(token),
  (err: Error) => {
    console.error(`token: ${err.message}`);
    process.exit(1);
  },
);
