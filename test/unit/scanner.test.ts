import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createScanner, EICAR_SIGNATURE_NAME, ScanError } from '../../providers/scanner';
import { eicarBuffer } from '../support/eicar';

const FIXTURES = path.resolve(__dirname, '../fixtures');

/**
 * A stand-in for clamd (none runs here) speaking its INSTREAM protocol: it
 * reassembles the length-prefixed chunks and flags a marker string.
 */
async function startFakeClamd(behaviour: 'answer' | 'silent') {
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    let streamed = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      const command = 'zINSTREAM\0';
      if (pending.subarray(0, command.length).toString() === command) pending = pending.subarray(command.length);
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (length === 0) {
          received.push(streamed);
          if (behaviour === 'silent') return;
          const verdict = streamed.includes('FAKE-MALWARE') ? 'stream: Fake.Malware-1 FOUND' : 'stream: OK';
          socket.end(`${verdict}\0`);
          return;
        }
        if (pending.length < 4 + length) break;
        streamed = Buffer.concat([streamed, pending.subarray(4, 4 + length)]);
        pending = pending.subarray(4 + length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('scanner', () => {
  let workDir: string;
  const file = async (name: string, content: Buffer | string) => {
    const filePath = path.join(workDir, name);
    await writeFile(filePath, content);
    return filePath;
  };

  beforeEach(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'scanner-test-'));
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  describe('built-in EICAR check', () => {
    const scanner = createScanner({ clamdPort: 3310, timeoutMs: 5000 });

    it('finds the EICAR test file, alone or followed by whitespace', async () => {
      for (const content of [eicarBuffer(), Buffer.concat([eicarBuffer(), Buffer.from(' \t\r\n')])]) {
        expect(await scanner.scan(await file('eicar.com', content))).to.deep.equal({
          clean: false,
          signature: EICAR_SIGNATURE_NAME,
          engine: 'eicar',
        });
      }
    });

    it('finds the signature after a preamble within the first 4 KiB', async () => {
      const content = Buffer.concat([Buffer.from('x'.repeat(3000)), eicarBuffer()]);
      expect((await scanner.scan(await file('preamble.txt', content))).clean).to.equal(false);
    });

    it('passes the clean fixtures', async () => {
      for (const name of ['lecture.pdf', 'grades.csv', 'photo.jpg']) {
        expect(await scanner.scan(path.join(FIXTURES, name))).to.deep.equal({
          clean: true,
          signature: null,
          engine: 'eicar',
        });
      }
    });
  });

  describe('clamd INSTREAM', () => {
    it('streams the whole file in length-prefixed chunks and reports a clean verdict', async () => {
      const clamd = await startFakeClamd('answer');
      try {
        const content = randomBytes(300 * 1024);
        const verdict = await createScanner({ clamdHost: '127.0.0.1', clamdPort: clamd.port, timeoutMs: 5000 }).scan(
          await file('big.bin', content),
        );
        expect(verdict).to.deep.equal({ clean: true, signature: null, engine: 'clamd' });
        expect(clamd.received).to.have.length(1);
        expect(clamd.received[0].equals(content)).to.equal(true);
      } finally {
        await clamd.close();
      }
    });

    it("reports clamd's signature on FOUND", async () => {
      const clamd = await startFakeClamd('answer');
      try {
        const scanner = createScanner({ clamdHost: '127.0.0.1', clamdPort: clamd.port, timeoutMs: 5000 });
        expect(await scanner.scan(await file('bad.txt', 'hello FAKE-MALWARE'))).to.deep.equal({
          clean: false,
          signature: 'Fake.Malware-1',
          engine: 'clamd',
        });
      } finally {
        await clamd.close();
      }
    });

    it('still catches EICAR itself before asking clamd', async () => {
      const scanner = createScanner({ clamdHost: '127.0.0.1', clamdPort: 1, timeoutMs: 2000 });
      expect((await scanner.scan(await file('eicar.com', eicarBuffer()))).engine).to.equal('eicar');
    });

    it('fails with a retryable ScanError when clamd is unreachable or silent', async () => {
      const refused = createScanner({ clamdHost: '127.0.0.1', clamdPort: 1, timeoutMs: 2000 });
      const err = await refused.scan(await file('a.txt', 'hello')).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ScanError);
      expect((err as ScanError).retryable).to.equal(true);

      const clamd = await startFakeClamd('silent');
      try {
        const silent = createScanner({ clamdHost: '127.0.0.1', clamdPort: clamd.port, timeoutMs: 300 });
        const timeout = await silent.scan(await file('b.txt', 'hello')).catch((e: unknown) => e);
        expect(timeout).to.be.instanceOf(ScanError);
        expect((timeout as Error).message).to.include('no verdict within 300 ms');
      } finally {
        await clamd.close();
      }
    });
  });
});
