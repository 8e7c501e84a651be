// What a file really is, from its bytes: the declared type of an upload is only a claim.
import { open } from 'node:fs/promises';

export type FileKind = 'pdf' | 'docx' | 'pptx' | 'epub' | 'png' | 'jpeg' | 'csv' | 'unknown';

/** Enough bytes for every signature, the EPUB `mimetype` entry and a fair UTF-8 check. */
export const SNIFF_BYTES = 8192;

const PDF_SIGNATURE = Buffer.from('%PDF-', 'latin1');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]);
const ZIP_LOCAL_HEADER = Buffer.from('PK\x03\x04', 'latin1');
const EPUB_MIMETYPE_ENTRY = Buffer.from('mimetypeapplication/epub+zip', 'latin1');

/**
 * Classifies a file from its first bytes (at least SNIFF_BYTES when available)
 * and, for ZIP containers, the names of its entries. Without entries a ZIP is
 * recognised only as an EPUB, whose `mimetype` entry leads the archive.
 * `isComplete` says the bytes are the whole file (an incomplete trailing UTF-8
 * sequence is then an error, not a cut).
 */
export function sniffKind(firstBytes: Buffer, zipEntries: string[] = [], isComplete = false): FileKind {
  if (firstBytes.subarray(0, PDF_SIGNATURE.length).equals(PDF_SIGNATURE)) return 'pdf';
  if (firstBytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) return 'png';
  if (firstBytes.subarray(0, JPEG_SIGNATURE.length).equals(JPEG_SIGNATURE)) return 'jpeg';
  if (firstBytes.subarray(0, ZIP_LOCAL_HEADER.length).equals(ZIP_LOCAL_HEADER)) return zipKind(firstBytes, zipEntries);
  if (isUtf8Text(firstBytes, isComplete)) return 'csv';
  return 'unknown';
}

/** Classifies a file on disk or in memory, reading only its head and, for a ZIP, its central directory. */
export async function detectKind(source: string | Buffer): Promise<FileKind> {
  return withRandomAccess(source, classify);
}

async function withRandomAccess<T>(source: string | Buffer, use: (file: RandomAccess) => Promise<T>): Promise<T> {
  if (Buffer.isBuffer(source)) return use(bufferReader(source));
  const handle = await open(source, 'r');
  try {
    const { size } = await handle.stat();
    return await use({
      size,
      read: async (offset, length) => {
        const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        return buffer.subarray(0, bytesRead);
      },
    });
  } finally {
    await handle.close();
  }
}

interface RandomAccess {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

const bufferReader = (buffer: Buffer): RandomAccess => ({
  size: buffer.length,
  read: async (offset, length) => buffer.subarray(offset, offset + length),
});

async function classify(file: RandomAccess): Promise<FileKind> {
  const head = await file.read(0, SNIFF_BYTES);
  const isZip = head.subarray(0, ZIP_LOCAL_HEADER.length).equals(ZIP_LOCAL_HEADER);
  const entries = isZip ? await listZipEntries(file) : [];
  return sniffKind(head, entries, head.length === file.size);
}

function zipKind(firstBytes: Buffer, entries: string[]): FileKind {
  if (leadsWithEpubMimetype(firstBytes) || (entries.includes('mimetype') && entries.includes('META-INF/container.xml'))) {
    return 'epub';
  }
  if (entries.some((name) => name.startsWith('word/'))) return 'docx';
  if (entries.some((name) => name.startsWith('ppt/'))) return 'pptx';
  return 'unknown';
}

/** The EPUB container's rule: first entry `mimetype`, stored uncompressed, no extra field. */
function leadsWithEpubMimetype(firstBytes: Buffer): boolean {
  if (firstBytes.length < 30 + EPUB_MIMETYPE_ENTRY.length) return false;
  const compression = firstBytes.readUInt16LE(8);
  const nameLength = firstBytes.readUInt16LE(26);
  const extraLength = firstBytes.readUInt16LE(28);
  if (compression !== 0 || nameLength !== 8 || extraLength !== 0) return false;
  return firstBytes.subarray(30, 30 + EPUB_MIMETYPE_ENTRY.length).equals(EPUB_MIMETYPE_ENTRY);
}

function isUtf8Text(bytes: Buffer, isComplete: boolean): boolean {
  if (bytes.length === 0 || bytes.includes(0)) return false;
  try {
    // `stream` tolerates a multi-byte character cut at the end of a partial read.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: !isComplete });
    return true;
  } catch {
    return false;
  }
}

// ---- ZIP central directory (APPNOTE.TXT §4.3): entry names without inflating anything.

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_MIN_BYTES = 22;
const EOCD_MAX_COMMENT = 0xffff;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
/** Office documents and EPUBs have directories far below this; a bigger one is read in part. */
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

interface ZipEntry {
  name: string;
  /** As the central directory declares it: what inflating the entry would produce. */
  uncompressedSize: number;
}

/** Names of the entries of a ZIP file; [] when the archive's directory cannot be found. */
async function listZipEntries(file: RandomAccess): Promise<string[]> {
  return (await readZipDirectory(file)).entries.map((entry) => entry.name);
}

async function readZipDirectory(file: RandomAccess): Promise<{ entries: ZipEntry[]; truncated: boolean }> {
  const directory = await locateCentralDirectory(file);
  if (!directory) return { entries: [], truncated: false };
  const bytes = await file.read(directory.offset, Math.min(directory.size, MAX_DIRECTORY_BYTES));
  return { entries: parseCentralDirectory(bytes), truncated: directory.size > MAX_DIRECTORY_BYTES };
}

/**
 * The total size a ZIP archive declares for its entries once inflated, read
 * from its central directory without inflating anything. Infinity when the
 * directory is too big to read whole (no honest document has one); 0 when
 * there is no directory (not a ZIP: its reader will say so).
 */
export async function zipUncompressedSize(source: string | Buffer): Promise<number> {
  const { entries, truncated } = await withRandomAccess(source, readZipDirectory);
  if (truncated) return Infinity;
  return entries.reduce((total, entry) => total + entry.uncompressedSize, 0);
}

async function locateCentralDirectory(file: RandomAccess): Promise<{ offset: number; size: number } | undefined> {
  const tailLength = Math.min(file.size, EOCD_MIN_BYTES + EOCD_MAX_COMMENT);
  const tailStart = file.size - tailLength;
  const tail = await file.read(tailStart, tailLength);
  for (let at = tail.length - EOCD_MIN_BYTES; at >= 0; at--) {
    if (tail.readUInt32LE(at) !== EOCD_SIGNATURE) continue;
    const size = tail.readUInt32LE(at + 12);
    const offset = tail.readUInt32LE(at + 16);
    if (offset !== 0xffffffff && size !== 0xffffffff) return { offset, size };
    return locateZip64Directory(file, tailStart + at);
  }
  return undefined;
}

async function locateZip64Directory(
  file: RandomAccess,
  eocdOffset: number,
): Promise<{ offset: number; size: number } | undefined> {
  if (eocdOffset < 20) return undefined;
  const locator = await file.read(eocdOffset - 20, 20);
  if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) return undefined;
  const record = await file.read(Number(locator.readBigUInt64LE(8)), 56);
  if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) return undefined;
  return { size: Number(record.readBigUInt64LE(40)), offset: Number(record.readBigUInt64LE(48)) };
}

function parseCentralDirectory(bytes: Buffer): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let at = 0;
  while (at + 46 <= bytes.length && bytes.readUInt32LE(at) === CENTRAL_HEADER_SIGNATURE) {
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const commentLength = bytes.readUInt16LE(at + 32);
    const extraStart = at + 46 + nameLength;
    entries.push({
      name: bytes.toString('utf8', at + 46, Math.min(bytes.length, extraStart)),
      uncompressedSize: declaredSize(bytes.readUInt32LE(at + 24), bytes.subarray(extraStart, extraStart + extraLength)),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

const ZIP64_EXTRA_ID = 0x0001;

/** A 32-bit size of 0xffffffff defers to the ZIP64 extra field, whose first value is then the uncompressed size. */
function declaredSize(size32: number, extra: Buffer): number {
  if (size32 !== 0xffffffff) return size32;
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) === ZIP64_EXTRA_ID && at + 12 <= extra.length) return Number(extra.readBigUInt64LE(at + 4));
  }
  return size32;
}
