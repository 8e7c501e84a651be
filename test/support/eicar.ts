// The EICAR anti-virus test file, assembled in memory so the repository never
// holds a file a virus scanner would flag.
import { createHash } from 'node:crypto';

const PARTS = ['X5O!P%@AP[4\\PZX5', '4(P^)7CC)7}$EICAR-', 'STANDARD-ANTIVIRUS-TEST-', 'FILE!$H+H*'];
/** MD5 of the 68-byte file as published by EICAR: proves the parts add up to the real thing. */
const EICAR_MD5 = '44d88612fea8a8f36de82e1278abb02f';

export function eicarBuffer(): Buffer {
  const buffer = Buffer.from(PARTS.join(''), 'latin1');
  if (createHash('md5').update(buffer).digest('hex') !== EICAR_MD5) throw new Error('the EICAR test string is wrong');
  return buffer;
}
