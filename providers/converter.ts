// Converters for uploaded assets: LibreOffice (Office → PDF), poppler (PDF facts
// and thumbnails), sharp (image renditions) and in-process EPUB/CSV readers.
// Every failure is a ConversionError whose `retryable` tells bad content from
// a broken or slow tool.
import path from 'node:path';
import { ConversionError, corruptInput } from './conversionError';
import { inspectCsv, type CsvFacts } from './csv';
import { inspectEpub, type EpubFacts } from './epub';
import { detectKind, type FileKind } from './fileKind';
import { imageRenditions, type ImageRenditions } from './images';
import { convertWithLibreOffice } from './libreoffice';
import { runProcess } from './runProcess';

export { ConversionError, type ConversionFailureReason } from './conversionError';
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
}

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

  async function officeToPdf(inputPath: string, outDir: string, control: RunControl = {}): Promise<string> {
    const kind = await detectKind(inputPath);
    const inputFilter = OFFICE_IMPORT_FILTERS[kind];
    if (!inputFilter) throw corruptInput(`not a docx or pptx document (looks like ${kind})`);
    return convertWithLibreOffice(inputPath, outDir, 'pdf', {
      bin: settings.libreofficeBin,
      timeoutMs,
      signal: control.signal,
      inputFilter,
    });
  }

  async function inspectPdf(pdfPath: string, control: RunControl = {}): Promise<PdfFacts> {
    const info = await runProcess(settings.pdfinfoBin, [path.resolve(pdfPath)], {
      timeoutMs,
      signal: control.signal,
    });
    const pages = /^Pages:\s+(\d+)\s*$/m.exec(info.stdout.toString('utf8'));
    if (!pages) throw corruptInput('pdfinfo reports no page count');
    return { pageCount: Number(pages[1]), text: await extractText(pdfPath, control) };
  }

  async function extractText(pdfPath: string, control: RunControl): Promise<string> {
    try {
      const { stdout } = await runProcess(
        settings.pdftotextBin,
        ['-q', '-enc', 'UTF-8', '-nopgbrk', path.resolve(pdfPath), '-'],
        { timeoutMs, signal: control.signal, maxStdoutBytes: PDF_TEXT_MAX_BYTES },
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
    const { stdout, truncated } = await runProcess(
      settings.pdftoppmBin,
      ['-q', '-png', '-singlefile', '-f', '1', '-l', '1', '-scale-to', String(THUMBNAIL_SIZE), path.resolve(pdfPath)],
      { timeoutMs, signal: control.signal, maxStdoutBytes: THUMBNAIL_MAX_BYTES },
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
    imageRenditions: (input) => imageRenditions(input, timeoutMs),
    inspectEpub,
    inspectCsv: async (input) => inspectCsv(input),
  };
}
