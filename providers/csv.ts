import { corruptInput } from './conversionError';

export interface CsvFacts {
  /** Data records, header excluded; blank lines are not records. */
  rowCount: number;
  /** Header fields, trimmed. */
  columns: string[];
}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
/** Spreadsheets in many locales export `;`; tab-separated files are common too. */
const DELIMITERS = [',', ';', '\t'];
const HEADER_SCAN_CHARS = 64 * 1024;

/**
 * Counts the records of an RFC 4180 file (quoted fields may hold delimiters,
 * doubled quotes and line breaks; CRLF, LF and CR all end a record).
 * The delimiter is the candidate most frequent in the header line.
 */
export function inspectCsv(input: Buffer): CsvFacts {
  const text = decodeUtf8(input);
  const { records, header } = scanRecords(text, guessDelimiter(text));
  return { rowCount: Math.max(0, records - 1), columns: header.map((c) => c.trim()) };
}

function decodeUtf8(input: Buffer): string {
  try {
    // Also drops a leading byte-order mark.
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch (err) {
    throw corruptInput('the CSV file is not valid UTF-8', err);
  }
}

function guessDelimiter(text: string): string {
  const counts = new Map(DELIMITERS.map((d) => [d, 0]));
  let inQuotes = false;
  for (let i = 0; i < Math.min(text.length, HEADER_SCAN_CHARS); i++) {
    const c = text[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (c === '\n' || c === '\r')) break;
    else if (!inQuotes && counts.has(c)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let best = DELIMITERS[0];
  for (const d of DELIMITERS) if ((counts.get(d) ?? 0) > (counts.get(best) ?? 0)) best = d;
  return best;
}

/** One pass over the text; only the first record's fields are kept. */
function scanRecords(text: string, delimiterChar: string): { records: number; header: string[] } {
  const delimiter = delimiterChar.charCodeAt(0);
  let records = 0;
  let header: string[] = [];
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let atFieldStart = true;
  let recordHasContent = false;
  let line = 1;
  let quoteLine = 1;
  const keep = (s: string) => {
    if (records === 0) field += s;
  };
  const endField = () => {
    fields.push(field);
    field = '';
    atFieldStart = true;
  };
  const endRecord = () => {
    if (recordHasContent) {
      endField();
      if (records === 0) header = fields;
      records++;
    }
    fields = [];
    field = '';
    atFieldStart = true;
    recordHasContent = false;
  };

  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c !== QUOTE) {
        if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line++;
        keep(text[i]);
      } else if (text.charCodeAt(i + 1) === QUOTE) {
        keep('"');
        i++;
      } else {
        inQuotes = false;
      }
    } else if (c === QUOTE && atFieldStart) {
      inQuotes = true;
      atFieldStart = false;
      recordHasContent = true;
      quoteLine = line;
    } else if (c === delimiter) {
      endField();
      recordHasContent = true;
    } else if (c === LF || c === CR) {
      if (c === CR && text.charCodeAt(i + 1) === LF) i++;
      line++;
      endRecord();
    } else {
      keep(text[i]);
      atFieldStart = false;
      recordHasContent = true;
    }
  }
  if (inQuotes) throw corruptInput(`the CSV file has an unterminated quoted field starting on line ${quoteLine}`);
  endRecord();
  return { records, header };
}
