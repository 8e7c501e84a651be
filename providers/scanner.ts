// Antivirus: the EICAR test signature built in, ClamAV's clamd when configured.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';

export interface ScannerSettings {
  /** clamd's host; unset means only the built-in EICAR check runs. */
  clamdHost?: string;
  clamdPort: number;
  timeoutMs: number;
}

export interface ScanVerdict {
  clean: boolean;
  signature: string | null;
  engine: 'eicar' | 'clamd';
}

export interface Scanner {
  scan(filePath: string): Promise<ScanVerdict>;
}

/** clamd is unreachable or refused the file: infrastructure, worth retrying. */
export class ScanError extends Error {
  override readonly name = 'ScanError';
  readonly retryable = true;
}

export const EICAR_SIGNATURE_NAME = 'EICAR-Test-File';
// Assembled at load time so this source file never contains the test string itself.
const EICAR = Buffer.from(
  ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join(''),
  'latin1',
);
/**
 * The EICAR file is the 68-byte string at the start, optionally followed by
 * whitespace; accepting the string anywhere in the first 4 KiB covers that
 * and copies with a preamble.
 */
const EICAR_WINDOW_BYTES = 4096;
const CLAMD_CHUNK_BYTES = 64 * 1024;

export function createScanner(settings: ScannerSettings): Scanner {
  return {
    async scan(filePath) {
      if (await containsEicar(filePath)) return { clean: false, signature: EICAR_SIGNATURE_NAME, engine: 'eicar' };
      if (!settings.clamdHost) return { clean: true, signature: null, engine: 'eicar' };
      return scanWithClamd(filePath, settings.clamdHost, settings.clamdPort, settings.timeoutMs);
    },
  };
}

async function containsEicar(filePath: string): Promise<boolean> {
  const handle = await open(filePath, 'r');
  try {
    const window = Buffer.alloc(EICAR_WINDOW_BYTES);
    const { bytesRead } = await handle.read(window, 0, EICAR_WINDOW_BYTES, 0);
    return window.subarray(0, bytesRead).includes(EICAR);
  } finally {
    await handle.close();
  }
}

/**
 * clamd INSTREAM: `zINSTREAM\0`, then chunks each prefixed by a 4-byte
 * big-endian length, then a zero length; the reply is `stream: OK`,
 * `stream: <signature> FOUND` or `... ERROR`.
 */
function scanWithClamd(filePath: string, host: string, port: number, timeoutMs: number): Promise<ScanVerdict> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const file = createReadStream(filePath, { highWaterMark: CLAMD_CHUNK_BYTES });
    const reply: Buffer[] = [];
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      file.destroy();
      socket.destroy();
      outcome();
    };
    const fail = (message: string, cause?: unknown) =>
      settle(() => reject(new ScanError(`clamd at ${host}:${port}: ${message}`, { cause })));
    const deadline = setTimeout(() => fail(`no verdict within ${timeoutMs} ms`), timeoutMs);

    const replyText = () => Buffer.concat(reply).toString('utf8').replace(/\0/g, '').trim();

    // clamd answers a refused stream (e.g. over StreamMaxLength) and hangs up mid-upload.
    socket.on('error', (err) => fail(replyText() || err.message, err));
    file.on('error', (err) => fail(`cannot read ${filePath}: ${err.message}`, err));
    socket.on('data', (chunk: Buffer) => reply.push(chunk));
    socket.on('end', () => {
      try {
        const verdict = parseClamdReply(replyText());
        settle(() => resolve(verdict));
      } catch (err) {
        fail((err as Error).message, err);
      }
    });
    socket.once('connect', () => {
      socket.write('zINSTREAM\0');
      file.on('data', (chunk) => {
        if (!socket.write(Buffer.concat([lengthPrefix(chunk.length), chunk as Buffer]))) {
          file.pause();
          socket.once('drain', () => file.resume());
        }
      });
      file.on('end', () => socket.write(lengthPrefix(0)));
    });
  });
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

function parseClamdReply(reply: string): ScanVerdict {
  const body = reply.replace(/^stream:\s*/, '');
  if (body === 'OK') return { clean: true, signature: null, engine: 'clamd' };
  const found = /^(.+) FOUND$/.exec(body);
  if (found) return { clean: false, signature: found[1], engine: 'clamd' };
  throw new Error(`unexpected reply "${reply.slice(0, 200)}"`);
}
