// Converters for uploaded assets: LibreOffice (Office → PDF), poppler (PDF facts
// and thumbnails), sharp (image renditions) and in-process EPUB/CSV readers.
// Every failure is a ConversionError whose `retryable` tells bad content from
// a broken or slow tool.
import path from 'node:path';
import { ConversionError, corruptInput } from './conversionError';
import { inspectCsv, type CsvFacts } from './csv';
import { inspectEpub, type EpubFacts } from './epub';
import { detectKind, zipUncompressedSize, type FileKind } from './fileKind';
import { DEFAULT_IMAGE_MAX_PIXELS, imageRenditions, type ImageRenditions } from './images';
import { convertWithLibreOffice } from './libreoffice';
import { DEFAULT_SANDBOX_LIMITS, runSandboxed, type SandboxLimits } from './sandbox';

export { ConversionError, type ConversionFailureReason } from './conversionError';
export { runSandboxed, type SandboxLimits } from './sandbox';
export { detectKind, sniffKind, SNIFF_BYTES, type FileKind } from './fileKind';
export type { CsvFacts } from './csv';
export type { EpubFacts } from './epub';
export type { ImageRendition, ImageRenditions } from './images';

export interface ConverterSettings {
  libreofficeBin: string;
  pdftoppmBin: string;
  pdfinfoBin: string;
  pdftotextBin: string;
  /** Deadline of one tool run; the tool is killed when it passes. */
  timeoutMs: number;
  /** Address-space and CPU-time limits of every sandboxed tool run (default 4096 MiB, 120 s). */
  sandbox?: SandboxLimits;
  /** Larger images are refused as invalid content (default 50 000 000). */
  imageMaxPixels?: number;
  /** docx/pptx/epub declaring more inflated bytes are refused as invalid content (default 500 MiB). */
  archiveMaxUncompressedBytes?: number;
}

export const DEFAULT_ARCHIVE_MAX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024;

/** `signal` (e.g. an activity's cancellation signal) kills the running tool. */
export interface RunControl {
  signal?: AbortSignal;
}

export interface PdfFacts {
  pageCount: number;
  /** The first 64 KiB of the document's text, for search. */
  text: string;
}

export interface Converter {
  detectKind(source: string | Buffer): Promise<FileKind>;
  /** Converts a docx or pptx; returns `<outDir>/<input name>.pdf`. */
  officeToPdf(inputPath: string, outDir: string, control?: RunControl): Promise<string>;
  inspectPdf(pdfPath: string, control?: RunControl): Promise<PdfFacts>;
  /** PNG of page 1, 320 px on its longest side. */
  pdfThumbnail(pdfPath: string, control?: RunControl): Promise<Buffer>;
  imageRenditions(input: Buffer): Promise<ImageRenditions>;
  inspectEpub(input: Buffer): Promise<EpubFacts>;
  inspectCsv(input: Buffer): Promise<CsvFacts>;
}

const PDF_TEXT_MAX_BYTES = 64 * 1024;
const THUMBNAIL_SIZE = 320;
const THUMBNAIL_MAX_BYTES = 16 * 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SANDBOX_PDF = '/input.pdf';

/**
 * Naming the import filter stops LibreOffice from falling back to opening
 * arbitrary bytes as plain text, and keeps its other importers out of reach.
 */
const OFFICE_IMPORT_FILTERS: Partial<Record<FileKind, string>> = {
  docx: 'MS Word 2007 XML',
  pptx: 'Impress MS PowerPoint 2007 XML',
};

export function createConverter(settings: ConverterSettings): Converter {
  const { timeoutMs } = settings;
  const limits = settings.sandbox ?? DEFAULT_SANDBOX_LIMITS;
  const maxArchiveBytes = settings.archiveMaxUncompressedBytes ?? DEFAULT_ARCHIVE_MAX_UNCOMPRESSED_BYTES;

  /** Checked from the central directory before anything is inflated: a ZIP bomb never gets to a reader. */
  async function assertArchiveWithinLimit(source: string | Buffer, kind: FileKind): Promise<void> {
    const declared = await zipUncompressedSize(source);
    if (declared > maxArchiveBytes) {
      throw corruptInput(`the ${kind} would inflate to more than ${maxArchiveBytes} bytes (a decompression bomb)`);
    }
  }

  /** poppler reads the PDF at a fixed path inside the sandbox and writes only to stdout. */
  const runPoppler = (bin: string, pdfPath: string, args: (input: string) => string[], options: RunControl & { maxStdoutBytes?: number }) =>
    runSandboxed(bin, args(SANDBOX_PDF), {
      timeoutMs,
      signal: options.signal,
      maxStdoutBytes: options.maxStdoutBytes,
      limits,
      inputs: [{ host: path.resolve(pdfPath), path: SANDBOX_PDF }],
    });

  async function officeToPdf(inputPath: string, outDir: string, control: RunControl = {}): Promise<string> {
    const kind = await detectKind(inputPath);
    const inputFilter = OFFICE_IMPORT_FILTERS[kind];
    if (!inputFilter) throw corruptInput(`not a docx or pptx document (looks like ${kind})`);
    await assertArchiveWithinLimit(inputPath, kind);
    return convertWithLibreOffice(inputPath, outDir, 'pdf', {
      bin: settings.libreofficeBin,
      timeoutMs,
      signal: control.signal,
      inputFilter,
      sandbox: limits,
    });
  }

  async function inspectPdf(pdfPath: string, control: RunControl = {}): Promise<PdfFacts> {
    const info = await runPoppler(settings.pdfinfoBin, pdfPath, (input) => [input], control);
    const pages = /^Pages:\s+(\d+)\s*$/m.exec(info.stdout.toString('utf8'));
    if (!pages) throw corruptInput('pdfinfo reports no page count');
    return { pageCount: Number(pages[1]), text: await extractText(pdfPath, control) };
  }

  async function extractText(pdfPath: string, control: RunControl): Promise<string> {
    try {
      const { stdout } = await runPoppler(
        settings.pdftotextBin,
        pdfPath,
        (input) => ['-q', '-enc', 'UTF-8', '-nopgbrk', input, '-'],
        { signal: control.signal, maxStdoutBytes: PDF_TEXT_MAX_BYTES },
      );
      // A cut can split a character; Postgres text columns reject NUL.
      return stdout.toString('utf8').replace(/\uFFFD+$/, '').replaceAll('\u0000', '').trim();
    } catch (err) {
      // A readable PDF may still forbid text extraction: it stays usable, only unsearchable by content.
      if (err instanceof ConversionError && err.reason === 'corrupt_input') return '';
      throw err;
    }
  }

  async function pdfThumbnail(pdfPath: string, control: RunControl = {}): Promise<Buffer> {
    const { stdout, truncated } = await runPoppler(
      settings.pdftoppmBin,
      pdfPath,
      (input) => ['-q', '-png', '-singlefile', '-f', '1', '-l', '1', '-scale-to', String(THUMBNAIL_SIZE), input],
      { signal: control.signal, maxStdoutBytes: THUMBNAIL_MAX_BYTES },
    );
    if (truncated || !stdout.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
      throw corruptInput('pdftoppm rendered no PNG for page 1');
    }
    return stdout;
  }

  return {
    detectKind,
    officeToPdf,
    inspectPdf,
    pdfThumbnail,
    imageRenditions: (input) => imageRenditions(input, timeoutMs, settings.imageMaxPixels ?? DEFAULT_IMAGE_MAX_PIXELS),
    inspectEpub: async (input) => {
      await assertArchiveWithinLimit(input, 'epub');
      return inspectEpub(input);
    },
    inspectCsv: async (input) => inspectCsv(input),
  };
}
