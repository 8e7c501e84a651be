// The scanner against the real clamd of the stack (scripts/stack.sh part `clamd`, 127.0.0.1:3310),
// loading only the project's signature database scanner/edulure.ndb.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { expect } from 'chai';
import { createScanner, ScanError } from '../../providers/scanner';
import { docxWithEicarEntry, EICAR_SIGNATURE, eicarBuffer, TEST_PATTERN_SIGNATURE, testPatternBuffer } from '../support/eicar';
import { shared } from '../support/shared';
import { freePort } from '../support/workerProcess';

const FIXTURES = path.resolve(__dirname, '../fixtures');

/** A gzip file that unpacks to MIB mebibytes of zeros (about 1 KiB on disk per MiB). */
async function writeGzipBomb(filePath: string, mib: number): Promise<void> {
  const oneMib = Buffer.alloc(1024 * 1024);
  let produced = 0;
  const zeros = new Readable({
    read() {
      this.push(produced++ < mib ? oneMib : null);
    },
  });
  await pipeline(zeros, createGzip({ level: 9 }), createWriteStream(filePath));
}

describe('scanner (clamd)', () => {
  let workDir: string;
  const scanner = () => shared().providers.scanner;
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

  it('answers PING', async () => {
    await scanner().ping(2000);
  });

  it('finds the EICAR test file, alone or followed by whitespace, naming the signature', async () => {
    for (const content of [eicarBuffer(), Buffer.concat([eicarBuffer(), Buffer.from(' \t\r\n')])]) {
      expect(await scanner().scan(await file('eicar.com', content))).to.deep.equal({
        clean: false,
        signature: EICAR_SIGNATURE,
        engine: 'clamd',
      });
    }
  });

  it('finds EICAR at any offset, far past the first 4 KiB', async () => {
    const content = Buffer.concat([Buffer.alloc(256 * 1024, 'x'), eicarBuffer(), Buffer.alloc(1024, 'y')]);
    expect((await scanner().scan(await file('deep.txt', content))).signature).to.equal(EICAR_SIGNATURE);
  });

  it('finds EICAR inside a compressed zip entry of a docx that starts past the first 4 KiB', async () => {
    expect(await scanner().scan(await file('handout.docx', await docxWithEicarEntry()))).to.deep.equal({
      clean: false,
      signature: EICAR_SIGNATURE,
      engine: 'clamd',
    });
  });

  it("finds the project's own test pattern", async () => {
    const content = Buffer.concat([Buffer.from('some notes\n'), testPatternBuffer(), Buffer.from('\nmore notes\n')]);
    expect((await scanner().scan(await file('notes.txt', content))).signature).to.equal(TEST_PATTERN_SIGNATURE);
  });

  it('passes the clean fixtures, a PDF and a docx among them', async () => {
    for (const name of ['lecture.pdf', 'handout.docx', 'grades.csv', 'photo.jpg']) {
      expect(await scanner().scan(path.join(FIXTURES, name)), name).to.deep.equal({ clean: true, signature: null, engine: 'clamd' });
    }
  });

  it('flags an archive that unpacks past ARCHIVE_MAX_UNCOMPRESSED_MB as Heuristics.Limits.Exceeded, never clean', async () => {
    const limitMib = Number(process.env.ARCHIVE_MAX_UNCOMPRESSED_MB ?? 500); // what the stack wrote into clamd.conf
    const bomb = path.join(workDir, 'bomb.csv.gz');
    await writeGzipBomb(bomb, limitMib + 100);
    expect((await stat(bomb)).size).to.be.below(2 * 1024 * 1024);
    const verdict = await scanner().scan(bomb);
    expect(verdict.clean).to.equal(false);
    expect(verdict.signature).to.match(/^Heuristics\.Limits\.Exceeded/);
  });

  it('fails with a retryable ScanError, never a verdict, when clamd answers ERROR (a stream over StreamMaxLength)', async () => {
    const limitMib = Number(process.env.CONTENT_MAX_UPLOAD_MB ?? 200); // StreamMaxLength in the stack's clamd.conf
    const tooLong = await file('too-long.bin', '');
    await truncate(tooLong, (limitMib + 1) * 1024 * 1024); // sparse: zeros that take no disk
    const err = await scanner().scan(tooLong).then(
      (verdict) => verdict,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ScanError);
    expect((err as ScanError).retryable).to.equal(true);
  });

  it('fails with a retryable ScanError, never a verdict, when clamd is down', async () => {
    const down = createScanner({ clamdHost: '127.0.0.1', clamdPort: await freePort(), timeoutMs: 5000 });
    for (const content of [eicarBuffer(), Buffer.from('hello')]) {
      const err = await down.scan(await file('a.txt', content)).then(
        (verdict) => verdict,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ScanError);
      expect((err as ScanError).retryable).to.equal(true);
    }
    const ping = await down.ping(2000).then(() => 'PONG', (e: unknown) => e);
    expect(ping).to.be.instanceOf(ScanError);
  });
});
