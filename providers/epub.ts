import path from 'node:path';
import { Readable } from 'node:stream';
import { XMLParser } from 'fast-xml-parser';
import JSZip from 'jszip';
import { corruptInput } from './conversionError';

export interface EpubFacts {
  title: string | null;
  /** `dc:creator`s in document order, except those given a role other than author (`aut`). */
  authors: string[];
  /** Reading order as paths inside the archive, every itemref included. */
  spine: string[];
  /**
   * Spine items that are chapters: XHTML content documents in the linear
   * reading order, not the EPUB 3 navigation document (a table of contents
   * placed in the spine is not a chapter).
   */
  chapterCount: number;
}

/** Container and package documents are small; a bigger one is a decompression bomb, not a book. */
const MAX_METADATA_BYTES = 8 * 1024 * 1024;
const XHTML = 'application/xhtml+xml';
const ALWAYS_ARRAYS = new Set(['rootfile', 'item', 'itemref', 'title', 'creator', 'meta']);

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ALWAYS_ARRAYS.has(name),
});

type XmlNode = Record<string, unknown>;

interface ManifestItem {
  path: string;
  mediaType: string;
  properties: string[];
}

export async function inspectEpub(input: Buffer): Promise<EpubFacts> {
  const zip = await JSZip.loadAsync(input).catch((err: unknown) => {
    throw corruptInput('the EPUB is not a readable ZIP archive', err);
  });
  const container = parseXml(await readEntry(zip, 'META-INF/container.xml'), 'META-INF/container.xml');
  const opfPath = packageDocumentPath(container);
  const pkg = child(parseXml(await readEntry(zip, opfPath), opfPath), 'package');
  const metadata = child(pkg, 'metadata');
  const manifest = readManifest(child(pkg, 'manifest'), path.posix.dirname(opfPath));
  const spine = list(child(pkg, 'spine'), 'itemref')
    .map((ref) => ({ item: manifest.get(String(ref['@idref'])), linear: ref['@linear'] !== 'no' }))
    .filter((ref): ref is { item: ManifestItem; linear: boolean } => ref.item !== undefined);

  return {
    title: list(metadata, 'title').map(textOf).find((t) => t !== '') ?? null,
    authors: readAuthors(metadata),
    spine: spine.map((ref) => ref.item.path),
    chapterCount: spine.filter((ref) => ref.linear && isChapter(ref.item)).length,
  };
}

const isChapter = (item: ManifestItem) => item.mediaType === XHTML && !item.properties.includes('nav');

async function readEntry(zip: JSZip, name: string): Promise<string> {
  const entry = zip.file(name);
  if (!entry) throw corruptInput(`the EPUB has no ${name}`);
  const chunks: Buffer[] = [];
  let total = 0;
  // JSZip's stream is an old-style one; wrapping it makes it async-iterable.
  for await (const chunk of new Readable().wrap(entry.nodeStream('nodebuffer'))) {
    total += (chunk as Buffer).length;
    if (total > MAX_METADATA_BYTES) throw corruptInput(`the EPUB's ${name} is larger than ${MAX_METADATA_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseXml(text: string, name: string): XmlNode {
  try {
    return xml.parse(text, true) as XmlNode;
  } catch (err) {
    throw corruptInput(`the EPUB's ${name} is not well-formed XML`, err);
  }
}

function packageDocumentPath(container: XmlNode): string {
  const rootfiles = list(child(child(container, 'container'), 'rootfiles'), 'rootfile');
  const rootfile =
    rootfiles.find((r) => r['@media-type'] === 'application/oebps-package+xml') ?? rootfiles[0];
  const fullPath = rootfile?.['@full-path'];
  if (typeof fullPath !== 'string' || fullPath === '') throw corruptInput('the EPUB container names no package document');
  return fullPath;
}

function readManifest(manifest: XmlNode, baseDir: string): Map<string, ManifestItem> {
  const items = new Map<string, ManifestItem>();
  for (const item of list(manifest, 'item')) {
    if (typeof item['@id'] !== 'string' || typeof item['@href'] !== 'string') continue;
    items.set(item['@id'], {
      path: path.posix.join(baseDir, decodeHref(item['@href'])),
      mediaType: String(item['@media-type'] ?? ''),
      properties: String(item['@properties'] ?? '').split(/\s+/),
    });
  }
  return items;
}

function readAuthors(metadata: XmlNode): string[] {
  const refinedRoles = new Map<string, string>();
  for (const meta of list(metadata, 'meta')) {
    const refines = meta['@refines'];
    if (meta['@property'] === 'role' && typeof refines === 'string') refinedRoles.set(refines.replace(/^#/, ''), textOf(meta));
  }
  return list(metadata, 'creator')
    .filter((creator) => {
      // EPUB 2 puts the role in `opf:role`, EPUB 3 in a refining <meta>.
      const role = creator['@role'] ?? refinedRoles.get(String(creator['@id']));
      return role === undefined || role === 'aut';
    })
    .map(textOf)
    .filter((name) => name !== '');
}

function decodeHref(href: string): string {
  try {
    return decodeURIComponent(href.split('#')[0]);
  } catch {
    return href;
  }
}

function child(node: XmlNode | undefined, name: string): XmlNode {
  const value = node?.[name];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as XmlNode) : {};
}

function list(node: XmlNode, name: string): XmlNode[] {
  const value = node[name];
  if (!Array.isArray(value)) return [];
  return value.map((v) => (typeof v === 'object' && v !== null ? (v as XmlNode) : { '#text': v }));
}

function textOf(node: XmlNode): string {
  const text = node['#text'];
  return typeof text === 'string' ? text.trim() : '';
}
