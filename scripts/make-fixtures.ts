// Regenerates the converter fixtures in test/fixtures/ (facts in its README.md).
// Usage: npx tsx scripts/make-fixtures.ts
// The PDF, EPUB, CSV and images are byte-for-byte reproducible; the Office
// files come from LibreOffice and carry its timestamps.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import sharp from 'sharp';
import { convertWithLibreOffice } from '../providers/libreoffice';

const FIXTURES_DIR = path.resolve(__dirname, '../test/fixtures');
const LIBREOFFICE_BIN = process.env.LIBREOFFICE_BIN ?? 'soffice';
const LIBREOFFICE_TIMEOUT_MS = 120_000;
const MAX_FIXTURE_BYTES = 200 * 1024;
// Zip entry dates are part of the bytes; a fixed one keeps the EPUB reproducible.
const FIXED_DATE = new Date('2024-05-17T09:30:00Z');

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// ---------------------------------------------------------------- lecture.pdf

const LECTURE_PAGES: Array<{ heading: string; lines: string[] }> = [
  {
    heading: 'Durable execution',
    lines: [
      'Lecture 1: why workflows survive crashes.',
      'A workflow is ordinary code whose progress is recorded as an event history.',
      'When a worker dies, another worker replays the history and carries on',
      'exactly where the first one stopped.',
    ],
  },
  {
    heading: 'Event histories and replay',
    lines: [
      'Every command a workflow issues becomes an event: timers, activities, signals.',
      'Replay re-runs the workflow code against the recorded events.',
      'Workflow code must therefore be deterministic: no clocks, no randomness,',
      'no network calls outside activities.',
    ],
  },
  {
    heading: 'Activities, retries and idempotency',
    lines: [
      'Activities do the side effects and are retried with backoff.',
      'An activity may run more than once, so it must be idempotent:',
      'check your own records before charging a card or sending an email.',
      'Heartbeats let long activities report progress and notice cancellation.',
    ],
  },
];

const pdfString = (s: string) => `(${s.replace(/[\\()]/g, (c) => `\\${c}`)})`;

function lecturePageContent(page: { heading: string; lines: string[] }, index: number): string {
  const body = page.lines.map((line) => `${pdfString(line)} Tj T*`).join('\n');
  const footer = `Durable execution - page ${index + 1} of ${LECTURE_PAGES.length}`;
  return [
    'BT /F1 26 Tf 72 700 Td',
    `${pdfString(page.heading)} Tj`,
    'ET',
    'BT /F2 13 Tf 18 TL 72 650 Td',
    body,
    'ET',
    `BT /F2 9 Tf 72 40 Td ${pdfString(footer)} Tj ET`,
  ].join('\n');
}

/** A hand-written PDF 1.4 with base-14 fonts: tiny and reproducible. */
function buildLecturePdf(): Buffer {
  const pageIds = LECTURE_PAGES.map((_, i) => 3 + i * 2);
  const fontBold = 3 + LECTURE_PAGES.length * 2;
  const fontRegular = fontBold + 1;
  const info = fontRegular + 1;
  const objects: string[] = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`,
  ];
  LECTURE_PAGES.forEach((page, i) => {
    const content = lecturePageContent(page, i);
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ` +
        `/Resources << /Font << /F1 ${fontBold} 0 R /F2 ${fontRegular} 0 R >> >> /Contents ${pageIds[i] + 1} 0 R >>`,
      `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    );
  });
  objects.push(
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Title (Durable execution) /Author (Edulure Flow fixtures) /Producer (scripts/make-fixtures.ts) >>',
  );

  let pdf = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefOffset = Buffer.byteLength(pdf, 'latin1');
  const xrefEntries = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${xrefEntries}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${info} 0 R >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

// ---------------------------------------------------------------- Office documents (flat ODF → OOXML)

const ODF_NAMESPACES = [
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"',
  'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"',
  'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"',
  'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"',
  'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"',
  'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"',
  'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"',
].join(' ');

const SLIDES: Array<{ title: string; bullets: string[] }> = [
  { title: 'Durable workflows for a learning business', bullets: ['Edulure Flow', 'Course operations that survive crashes'] },
  { title: 'Asset conversion', bullets: ['Upload, scan, convert, index', 'Every step recorded in the audit trail'] },
  { title: 'Payments without double charges', bullets: ['Idempotency beyond the provider window', 'Refunds as their own workflow'] },
  { title: 'Replay and operations', bullets: ['Find any run by its business key', 'Replay failed runs from the API'] },
];

function slideXml(slide: { title: string; bullets: string[] }, index: number): string {
  const bullets = slide.bullets.map((b) => `<text:p text:style-name="Body">${escapeXml(b)}</text:p>`).join('');
  return `<draw:page draw:name="Slide ${index + 1}" draw:master-page-name="Default">
  <draw:frame draw:style-name="Frame" svg:x="1.5cm" svg:y="1.2cm" svg:width="25cm" svg:height="2.8cm"><draw:text-box><text:p text:style-name="Title">${escapeXml(slide.title)}</text:p></draw:text-box></draw:frame>
  <draw:frame draw:style-name="Frame" svg:x="1.5cm" svg:y="5cm" svg:width="25cm" svg:height="9cm"><draw:text-box>${bullets}</draw:text-box></draw:frame>
</draw:page>`;
}

function slidesFodp(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<office:document ${ODF_NAMESPACES} office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.presentation">
<office:automatic-styles>
  <style:page-layout style:name="Widescreen"><style:page-layout-properties fo:page-width="28cm" fo:page-height="15.75cm" style:print-orientation="landscape"/></style:page-layout>
  <style:style style:name="Frame" style:family="graphic"><style:graphic-properties draw:fill="none" draw:stroke="none"/></style:style>
  <style:style style:name="Title" style:family="paragraph"><style:text-properties fo:font-size="32pt" fo:font-weight="bold"/></style:style>
  <style:style style:name="Body" style:family="paragraph"><style:text-properties fo:font-size="22pt"/></style:style>
</office:automatic-styles>
<office:master-styles><style:master-page style:name="Default" style:page-layout-name="Widescreen"/></office:master-styles>
<office:body><office:presentation>
${SLIDES.map(slideXml).join('\n')}
</office:presentation></office:body>
</office:document>
`;
}

const HANDOUT_PAGES: Array<{ heading: string; paragraphs: string[] }> = [
  {
    heading: 'Handout: durable execution',
    paragraphs: [
      'This handout accompanies the lecture on durable execution.',
      'Read it before the lab: it lists the vocabulary we will use all week.',
      'Workflow, activity, event history, replay, task queue, signal, query, update.',
    ],
  },
  {
    heading: 'Lab exercise',
    paragraphs: [
      'Start a payment workflow, kill the worker in the middle, start a new worker.',
      'Check that the payment completes and that the card was charged exactly once.',
    ],
  },
];

function handoutFodt(): string {
  const pages = HANDOUT_PAGES.map((page, i) => {
    const headingStyle = i === 0 ? 'Heading' : 'HeadingOnNewPage';
    const paragraphs = page.paragraphs.map((p) => `<text:p text:style-name="Body">${escapeXml(p)}</text:p>`).join('\n');
    return `<text:p text:style-name="${headingStyle}">${escapeXml(page.heading)}</text:p>\n${paragraphs}`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<office:document ${ODF_NAMESPACES} office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles>
  <style:style style:name="Heading" style:family="paragraph"><style:text-properties fo:font-size="20pt" fo:font-weight="bold"/></style:style>
  <style:style style:name="HeadingOnNewPage" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/><style:text-properties fo:font-size="20pt" fo:font-weight="bold"/></style:style>
  <style:style style:name="Body" style:family="paragraph"><style:paragraph-properties fo:margin-top="0.2cm"/><style:text-properties fo:font-size="12pt"/></style:style>
</office:automatic-styles>
<office:body><office:text>
${pages.join('\n')}
</office:text></office:body>
</office:document>
`;
}

async function convertFlatOdf(source: string, sourceName: string, format: string): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'edulure-fixtures-'));
  try {
    const sourcePath = path.join(dir, sourceName);
    await writeFile(sourcePath, source);
    const converted = await convertWithLibreOffice(sourcePath, dir, format, {
      bin: LIBREOFFICE_BIN,
      timeoutMs: LIBREOFFICE_TIMEOUT_MS,
    });
    return await readFile(converted);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- book.epub

const BOOK = {
  title: 'The Durable Learner',
  authors: ['Ada Lovelace', 'Alan Turing'],
  chapters: [
    { title: 'Chapter 1: Remembering everything', text: 'A learner who writes down every step can always resume.' },
    { title: 'Chapter 2: Replaying the past', text: 'Reading the notes again, in order, rebuilds the state of mind.' },
    { title: 'Chapter 3: Doing things once', text: 'Before acting, check the notes: was it already done?' },
  ],
};

const xhtmlPage = (title: string, body: string) => `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="en" lang="en">
<head><title>${escapeXml(title)}</title><link rel="stylesheet" type="text/css" href="style.css"/></head>
<body>
${body}
</body>
</html>
`;

const chapterFile = (i: number) => `chapter-${i + 1}.xhtml`;

function bookOpf(): string {
  const creators = BOOK.authors
    .map((a, i) => `<dc:creator id="creator${i + 1}">${escapeXml(a)}</dc:creator>`)
    .join('\n    ');
  const chapterItems = BOOK.chapters
    .map((_, i) => `<item id="ch${i + 1}" href="${chapterFile(i)}" media-type="application/xhtml+xml"/>`)
    .join('\n    ');
  const chapterRefs = BOOK.chapters.map((_, i) => `<itemref idref="ch${i + 1}"/>`).join('\n    ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" xml:lang="en">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="book-id">urn:uuid:6f1c9a52-2f0e-4d8c-9a55-0b7f3e2d1c01</dc:identifier>
    <dc:title>${escapeXml(BOOK.title)}</dc:title>
    ${creators}
    <dc:language>en</dc:language>
    <meta property="dcterms:modified">2024-05-17T09:30:00Z</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="css" href="style.css" media-type="text/css"/>
    ${chapterItems}
  </manifest>
  <spine>
    <itemref idref="nav"/>
    ${chapterRefs}
  </spine>
</package>
`;
}

function bookNav(): string {
  const entries = BOOK.chapters
    .map((c, i) => `<li><a href="${chapterFile(i)}">${escapeXml(c.title)}</a></li>`)
    .join('\n    ');
  return xhtmlPage(
    'Contents',
    `<nav epub:type="toc" id="toc"><h1>Contents</h1>\n  <ol>\n    ${entries}\n  </ol>\n</nav>`,
  );
}

async function buildBookEpub(): Promise<Buffer> {
  const zip = new JSZip();
  // No folder entries: JSZip would date them now.
  const add = (name: string, content: string) => zip.file(name, content, { date: FIXED_DATE, createFolders: false });
  // The EPUB container requires `mimetype` first and uncompressed: readers sniff it at offset 30.
  zip.file('mimetype', 'application/epub+zip', { date: FIXED_DATE, compression: 'STORE' });
  add(
    'META-INF/container.xml',
    `<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
`,
  );
  add('OEBPS/content.opf', bookOpf());
  add('OEBPS/nav.xhtml', bookNav());
  add('OEBPS/style.css', 'body { font-family: serif; line-height: 1.5; }\n');
  BOOK.chapters.forEach((c, i) =>
    add(`OEBPS/${chapterFile(i)}`, xhtmlPage(c.title, `<h1>${escapeXml(c.title)}</h1>\n<p>${escapeXml(c.text)}</p>`)),
  );
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', platform: 'UNIX' });
}

// ---------------------------------------------------------------- images

const PHOTO_XMP = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>Edulure fixtures</rdf:li></rdf:Seq></dc:creator></rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>`;

const PHOTO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1200">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#3a6ea5"/><stop offset="1" stop-color="#f4c27a"/></linearGradient></defs>
  <rect width="1600" height="1200" fill="url(#sky)"/>
  <circle cx="1180" cy="420" r="130" fill="#fff3c4"/>
  <path d="M0 820 Q400 640 800 800 T1600 760 V1200 H0 Z" fill="#4f7942"/>
  <path d="M0 960 Q500 820 1000 960 T1600 940 V1200 H0 Z" fill="#2e5a1c"/>
</svg>`;

/** A 1600x1200 JPEG carrying EXIF (camera, date, GPS), an ICC profile and XMP, for the stripping tests. */
function buildPhotoJpeg(): Promise<Buffer> {
  return sharp(Buffer.from(PHOTO_SVG))
    .withExif({
      IFD0: { Make: 'Edulure', Model: 'Fixture Cam 1' },
      IFD2: { DateTimeOriginal: '2024:05:17 09:30:00' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 2640/100', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 3960/100' },
    })
    .withIccProfile('p3')
    .withXmp(PHOTO_XMP)
    .jpeg({ quality: 80 })
    .toBuffer();
}

const DIAGRAM_STEPS = ['Upload', 'Scan', 'Convert', 'Index'];

function diagramSvg(): string {
  const boxes = DIAGRAM_STEPS.map((step, i) => {
    const x = 40 + i * 190;
    const arrow = i < DIAGRAM_STEPS.length - 1 ? `<path d="M${x + 150} 300 h28" stroke="#333" stroke-width="4" marker-end="url(#head)"/>` : '';
    return `<rect x="${x}" y="250" width="150" height="100" rx="12" fill="#dbe9f6" stroke="#1f4e79" stroke-width="4"/>
  <text x="${x + 75}" y="308" font-family="DejaVu Sans" font-size="24" text-anchor="middle" fill="#1f4e79">${step}</text>${arrow}`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600">
  <defs><marker id="head" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" refX="10" refY="6" orient="auto"><path d="M0 0 L12 6 L0 12 Z" fill="#333"/></marker></defs>
  <rect width="800" height="600" fill="#ffffff"/>
  <text x="400" y="120" font-family="DejaVu Sans" font-size="36" text-anchor="middle" fill="#222">Asset conversion</text>
  ${boxes.join('\n  ')}
</svg>`;
}

function buildDiagramPng(): Promise<Buffer> {
  return sharp(Buffer.from(diagramSvg())).png({ palette: true }).toBuffer();
}

// ---------------------------------------------------------------- grades.csv

/** RFC 4180 (CRLF): row 2 quotes a comma, row 3 quotes a line break, row 4 escapes quotes. */
const GRADES_CSV = [
  'student_id,name,course,grade,comment',
  'S-001,Ada Lovelace,Durable Execution,A,Excellent work',
  'S-002,"Turing, Alan",Durable Execution,A-,Strong on replay',
  'S-003,Grace Hopper,Durable Execution,B+,"Asked about retries:\r\nsee office hours"',
  'S-004,Edsger Dijkstra,Durable Execution,B,"Called ""goto"" harmful"',
  'S-005,Barbara Liskov,Durable Execution,A,Substitutes well',
  '',
].join('\r\n');

// ---------------------------------------------------------------- main

const FIXTURES: Array<[name: string, build: () => Buffer | Promise<Buffer>]> = [
  ['lecture.pdf', buildLecturePdf],
  ['slides.pptx', () => convertFlatOdf(slidesFodp(), 'slides.fodp', 'pptx')],
  ['handout.docx', () => convertFlatOdf(handoutFodt(), 'handout.fodt', 'docx')],
  ['book.epub', buildBookEpub],
  ['photo.jpg', buildPhotoJpeg],
  ['diagram.png', buildDiagramPng],
  ['grades.csv', () => Buffer.from(GRADES_CSV, 'utf8')],
];

async function main(): Promise<void> {
  for (const [name, build] of FIXTURES) {
    const target = path.join(FIXTURES_DIR, name);
    await writeFile(target, await build());
    const { size } = await stat(target);
    if (size > MAX_FIXTURE_BYTES) throw new Error(`${name} is ${size} bytes, over the ${MAX_FIXTURE_BYTES} byte budget`);
    console.log(`${name.padEnd(14)} ${size} bytes`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
