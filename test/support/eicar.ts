// The EICAR anti-virus test file, assembled in memory so the repository never
// holds a file a virus scanner would flag, and the files that carry it.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import JSZip from 'jszip';

const PARTS = ['X5O!P%@AP[4\\PZX5', '4(P^)7CC)7}$EICAR-', 'STANDARD-ANTIVIRUS-TEST-', 'FILE!$H+H*'];
/** MD5 of the 68-byte file as published by EICAR: proves the parts add up to the real thing. */
const EICAR_MD5 = '44d88612fea8a8f36de82e1278abb02f';

/** What clamd reports for the signatures of scanner/edulure.ndb (an unsigned database: `.UNOFFICIAL`). */
export const EICAR_SIGNATURE = 'Edulure.Eicar-Test-File.UNOFFICIAL';
export const TEST_PATTERN_SIGNATURE = 'Edulure.Test-Pattern.UNOFFICIAL';

export function eicarBuffer(): Buffer {
  const buffer = Buffer.from(PARTS.join(''), 'latin1');
  if (createHash('md5').update(buffer).digest('hex') !== EICAR_MD5) throw new Error('the EICAR test string is wrong');
  return buffer;
}

/** The project's own test marker (scanner/edulure.ndb), split here for the same reason as EICAR. */
export function testPatternBuffer(): Buffer {
  return Buffer.from(['EDULURE-FLOW-', 'SCANNER-TEST-', 'PATTERN'].join(''), 'latin1');
}

const FIRST_BYTES_SEARCHED_BY_THE_OLD_SCANNER = 4096;
const EICAR_ENTRY = 'word/media/eicar.com';

/**
 * test/fixtures/handout.docx with EICAR in a deflated zip entry of its own that starts past the first
 * 4 KiB (a stored entry of random bytes before it makes sure): the string appears nowhere in the file's
 * bytes, so only a scanner that unpacks archives entry by entry finds it.
 */
export async function docxWithEicarEntry(): Promise<Buffer> {
  const zip = await JSZip.loadAsync(await readFile(path.resolve(__dirname, '../fixtures/handout.docx')));
  zip.file('word/media/noise.bin', randomBytes(FIRST_BYTES_SEARCHED_BY_THE_OLD_SCANNER), { compression: 'STORE' });
  zip.file(EICAR_ENTRY, eicarBuffer(), { compression: 'DEFLATE' });
  const docx = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
  if (docx.indexOf(EICAR_ENTRY) < FIRST_BYTES_SEARCHED_BY_THE_OLD_SCANNER || docx.includes(eicarBuffer())) {
    throw new Error('the EICAR entry must start past 4 KiB and be compressed');
  }
  return docx;
}
