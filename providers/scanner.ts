// Antivirus: ClamAV's clamd, the only engine. No answer from clamd is never a clean verdict.
import { createReadStream } from 'node:fs';
import net from 'node:net';

export interface ScannerSettings {
  clamdHost: string;
  clamdPort: number;
  timeoutMs: number;
}

export interface ScanVerdict {
  clean: boolean;
  signature: string | null;
  engine: 'clamd';
}

export interface Scanner {
  scan(filePath: string): Promise<ScanVerdict>;
  /** clamd answers PING with PONG; rejects with a ScanError otherwise. */
  ping(timeoutMs?: number): Promise<void>;
}

/** clamd is unreachable or refused the file: infrastructure, worth retrying. */
export class ScanError extends Error {
  override readonly name = 'ScanError';
  readonly retryable = true;
}

const CLAMD_CHUNK_BYTES = 64 * 1024;

export function createScanner(settings: ScannerSettings): Scanner {
  const clamd = { host: settings.clamdHost, port: settings.clamdPort };
  return {
    scan: async (filePath) => parseScanReply(clamd, await clamdReply(clamd, settings.timeoutMs, streamFile(filePath))),
    ping: async (timeoutMs = settings.timeoutMs) => {
      const reply = await clamdReply(clamd, timeoutMs, (socket) => {
        socket.write('zPING\0');
      });
      if (reply !== 'PONG') throw clamdError(clamd, `answered PING with "${reply.slice(0, 200)}"`);
    },
  };
}

interface ClamdAddress {
  host: string;
  port: number;
}
type Fail = (message: string, cause?: unknown) => void;
/** Sends a command on a fresh connection; returns what to release when the conversation ends. */
type Converse = (socket: net.Socket, fail: Fail) => (() => void) | void;

const clamdError = ({ host, port }: ClamdAddress, message: string, cause?: unknown) =>
  new ScanError(`clamd at ${host}:${port}: ${message}`, { cause });

/** One command on its own connection; resolves with clamd's whole reply once it hangs up. */
function clamdReply(clamd: ClamdAddress, timeoutMs: number, converse: Converse): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(clamd);
    const reply: Buffer[] = [];
    let release: (() => void) | void;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      release?.();
      socket.destroy();
      outcome();
    };
    const fail: Fail = (message, cause) => settle(() => reject(clamdError(clamd, message, cause)));
    const deadline = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const replyText = () => Buffer.concat(reply).toString('utf8').replace(/\0/g, '').trim();

    // clamd answers a refused stream (e.g. over StreamMaxLength) and hangs up mid-upload.
    socket.on('error', (err) => fail(replyText() || err.message, err));
    socket.on('data', (chunk: Buffer) => reply.push(chunk));
    socket.on('end', () => settle(() => resolve(replyText())));
    socket.once('connect', () => {
      release = converse(socket, fail);
    });
  });
}

/**
 * clamd INSTREAM: `zINSTREAM\0`, then chunks each prefixed by a 4-byte
 * big-endian length, then a zero length; the reply is `stream: OK`,
 * `stream: <signature> FOUND` or `... ERROR`.
 */
function streamFile(filePath: string): Converse {
  return (socket, fail) => {
    const file = createReadStream(filePath, { highWaterMark: CLAMD_CHUNK_BYTES });
    file.on('error', (err) => fail(`cannot read ${filePath}: ${err.message}`, err));
    socket.write('zINSTREAM\0');
    file.on('data', (chunk) => {
      if (!socket.write(Buffer.concat([lengthPrefix(chunk.length), chunk as Buffer]))) {
        file.pause();
        socket.once('drain', () => file.resume());
      }
    });
    file.on('end', () => socket.write(lengthPrefix(0)));
    return () => file.destroy();
  };
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

/** OK is clean, FOUND names the signature (heuristics such as Heuristics.Limits.Exceeded too); anything else is an error. */
function parseScanReply(clamd: ClamdAddress, reply: string): ScanVerdict {
  const body = reply.replace(/^stream:\s*/, '');
  if (body === 'OK') return { clean: true, signature: null, engine: 'clamd' };
  const found = /^(.+) FOUND$/.exec(body);
  if (found) return { clean: false, signature: found[1], engine: 'clamd' };
  throw clamdError(clamd, `no verdict: "${reply.slice(0, 200)}"`);
}
