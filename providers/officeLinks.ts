// Office Open XML packages name external resources (linked pictures, templates,
// OLE links, hyperlinks) in their relationship parts. LibreOffice follows such
// links while converting: it fetches URLs and reads local files into the output.
import JSZip from 'jszip';

const RELATIONSHIP_ELEMENT = /<(?:[\w.-]+:)?Relationship\b[^>]*?(?:\/>|>[\s\S]*?<\/(?:[\w.-]+:)?Relationship\s*>)/g;
/** An absolute URI (`http:`, `file:`, `smb:` …): never a part of the package, whatever TargetMode says. */
const URI_SCHEME = /^\s*[a-z][a-z0-9+.-]*:/i;

/**
 * Removes every relationship that points outside the package from every
 * `*.rels` part. Returns the input itself when there is none; otherwise a new
 * archive whose other entries keep their exact content.
 */
export async function stripExternalRelationships(input: Buffer): Promise<{ output: Buffer; removed: number }> {
  const zip = await JSZip.loadAsync(input);
  let removed = 0;
  for (const entry of Object.values(zip.files)) {
    if (entry.dir || !entry.name.toLowerCase().endsWith('.rels')) continue;
    const original = await entry.async('string');
    const { text, count } = withoutExternalRelationships(original);
    if (count === 0) continue;
    zip.file(entry.name, text);
    removed += count;
  }
  if (removed === 0) return { output: input, removed };
  return { output: await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }), removed };
}

export function withoutExternalRelationships(rels: string): { text: string; count: number } {
  let count = 0;
  const text = rels.replace(RELATIONSHIP_ELEMENT, (element) => {
    if (!isExternal(element)) return element;
    count++;
    return '';
  });
  return { text, count };
}

function isExternal(element: string): boolean {
  const mode = attribute(element, 'TargetMode');
  const target = attribute(element, 'Target');
  return mode?.trim().toLowerCase() === 'external' || (target !== undefined && URI_SCHEME.test(target));
}

/** An attribute's value with XML character references resolved (`&#69;xternal` is `External`). */
function attribute(element: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(element);
  if (!match) return undefined;
  return decodeXmlReferences(match[1] ?? match[2]);
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXmlReferences(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|\w+);/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED_ENTITIES[ref] ?? whole;
    const code = ref[1].toLowerCase() === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}
