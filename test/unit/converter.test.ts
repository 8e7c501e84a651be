import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import JSZip from 'jszip';
import sharp from 'sharp';
import {
  ConversionError,
  createConverter,
  runSandboxed,
  sniffKind,
  type ConverterSettings,
} from '../../providers/converter';
import { stripExternalRelationships, withoutExternalRelationships } from '../../providers/officeLinks';
import { runProcess } from '../../providers/runProcess';

const FIXTURES = path.resolve(__dirname, '../fixtures');
const fixture = (name: string) => path.join(FIXTURES, name);
const readFixture = (name: string) => readFile(fixture(name));

const settings: ConverterSettings = {
  libreofficeBin: process.env.LIBREOFFICE_BIN ?? 'soffice',
  pdftoppmBin: process.env.PDFTOPPM_BIN ?? 'pdftoppm',
  pdfinfoBin: process.env.PDFINFO_BIN ?? 'pdfinfo',
  pdftotextBin: process.env.PDFTOTEXT_BIN ?? 'pdftotext',
  timeoutMs: 120_000,
};
const converter = createConverter(settings);

async function expectConversionError(promise: Promise<unknown>, reason: string): Promise<ConversionError> {
  const err = await promise.then(
    () => expect.fail(`expected a ConversionError (${reason})`),
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(ConversionError);
  expect((err as ConversionError).reason).to.equal(reason);
  expect((err as ConversionError).retryable).to.equal(reason !== 'corrupt_input');
  return err as ConversionError;
}

const IMAGE_RELATIONSHIP = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/image';

/** An inline picture whose bytes live at the relationship `rid` (r:link = linked, not embedded). */
const linkedPicture = (rid: string, id: number) =>
  `<w:p><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="952500" cy="952500"/>` +
  `<wp:docPr id="${id}" name="Picture ${id}"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">` +
  `<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">` +
  `<pic:nvPicPr><pic:cNvPr id="${id}" name="linked${id}.png"/><pic:cNvPicPr/></pic:nvPicPr>` +
  `<pic:blipFill><a:blip r:link="${rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>` +
  `<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>` +
  `</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`;

/** handout.docx with two pictures linked from outside the package: a URL and a local file. */
async function docxWithExternalPictures(url: string, fileUrl: string): Promise<Buffer> {
  const zip = await JSZip.loadAsync(await readFixture('handout.docx'));
  const rels = await zip.file('word/_rels/document.xml.rels')!.async('string');
  const external = (id: string, target: string) =>
    `<Relationship Id="${id}" Type="${IMAGE_RELATIONSHIP}" Target="${target}" TargetMode="External"/>`;
  zip.file(
    'word/_rels/document.xml.rels',
    rels.replace('</Relationships>', `${external('rIdRemote', url)}${external('rIdLocal', fileUrl)}</Relationships>`),
  );
  const document = await zip.file('word/document.xml')!.async('string');
  zip.file('word/document.xml', document.replace('<w:body>', `<w:body>${linkedPicture('rIdRemote', 101)}${linkedPicture('rIdLocal', 102)}`));
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

/** A listener on 127.0.0.1 that serves a PNG and counts the connections reaching it. */
async function startListener(png: Buffer) {
  let connections = 0;
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Rows of `pdfimages -list` (after its two header lines): one per image embedded in the PDF. */
async function embeddedImages(pdfPath: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('pdfimages', ['-list', pdfPath]);
  return stdout.trim().split('\n').slice(2);
}

/** LibreOffice as it ran before the sandbox: plain process, inherited environment, network. */
async function convertUnprotected(inputPath: string, outDir: string): Promise<string> {
  await runProcess(
    settings.libreofficeBin,
    ['--headless', `-env:UserInstallation=file://${outDir}/profile`, '--convert-to', 'pdf', '--outdir', outDir, inputPath],
    { timeoutMs: 120_000 },
  );
  return path.join(outDir, `${path.parse(inputPath).name}.pdf`);
}

/** Sets one byte range of the first central-directory record naming `entry`. */
function declareUncompressedSize(zip: Buffer, entry: string, size: number): Buffer {
  const patched = Buffer.from(zip);
  for (let at = patched.indexOf('PK\x01\x02', 0, 'latin1'); at >= 0; at = patched.indexOf('PK\x01\x02', at + 4, 'latin1')) {
    const nameLength = patched.readUInt16LE(at + 28);
    if (patched.toString('utf8', at + 46, at + 46 + nameLength) !== entry) continue;
    patched.writeUInt32LE(size, at + 24);
    return patched;
  }
  throw new Error(`no central-directory record for ${entry}`);
}

const sofficeWorkDirs = async () => (await readdir(os.tmpdir())).filter((n) => n.startsWith('edulure-soffice-'));

describe('converter', function () {
  this.timeout(180_000);
  let workDir: string;

  beforeEach(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'converter-test-'));
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  describe('detectKind', () => {
    const expected: Array<[string, string]> = [
      ['lecture.pdf', 'pdf'],
      ['slides.pptx', 'pptx'],
      ['handout.docx', 'docx'],
      ['book.epub', 'epub'],
      ['photo.jpg', 'jpeg'],
      ['diagram.png', 'png'],
      ['grades.csv', 'csv'],
    ];
    for (const [name, kind] of expected) {
      it(`recognises ${name} as ${kind}, from a path and from a buffer`, async () => {
        expect(await converter.detectKind(fixture(name))).to.equal(kind);
        expect(await converter.detectKind(await readFixture(name))).to.equal(kind);
      });
    }

    it('goes by content, not by name: a PNG named .pdf is a png', async () => {
      const disguised = path.join(workDir, 'report.pdf');
      await copyFile(fixture('diagram.png'), disguised);
      expect(await converter.detectKind(disguised)).to.equal('png');
    });

    it('calls binary, empty, UTF-16 and non-Office ZIP content unknown', async () => {
      const utf16 = Buffer.from('\ufeffname,grade\n', 'utf16le');
      const plainZip = await new JSZip().file('notes.txt', 'hello').generateAsync({ type: 'nodebuffer' });
      for (const content of [Buffer.from([0x00, 0x01, 0x02, 0xff]), Buffer.alloc(0), utf16, plainZip]) {
        expect(await converter.detectKind(content)).to.equal('unknown');
      }
    });

    it('rejects invalid UTF-8 as csv but accepts a character cut at the end of a partial read', async () => {
      expect(await converter.detectKind(Buffer.from([0x61, 0x2c, 0xc3, 0x28]))).to.equal('unknown');
      const cut = Buffer.from('name\nJosé', 'utf8').subarray(0, -1);
      expect(sniffKind(cut, [], false)).to.equal('csv');
      expect(sniffKind(cut, [], true)).to.equal('unknown');
    });

    it('tells an EPUB from its first bytes alone, but needs the entries for Office files', async () => {
      expect(sniffKind((await readFixture('book.epub')).subarray(0, 64))).to.equal('epub');
      expect(sniffKind((await readFixture('handout.docx')).subarray(0, 64))).to.equal('unknown');
      expect(sniffKind((await readFixture('handout.docx')).subarray(0, 64), ['word/document.xml'])).to.equal('docx');
    });
  });

  describe('officeToPdf', () => {
    it('converts the pptx to a 4-page PDF named after the input', async () => {
      const pdfPath = await converter.officeToPdf(fixture('slides.pptx'), workDir);
      expect(pdfPath).to.equal(path.join(workDir, 'slides.pdf'));
      expect((await converter.inspectPdf(pdfPath)).pageCount).to.equal(4);
    });

    it('converts the docx to a 2-page PDF', async () => {
      const pdfPath = await converter.officeToPdf(fixture('handout.docx'), workDir);
      const { pageCount, text } = await converter.inspectPdf(pdfPath);
      expect(pageCount).to.equal(2);
      expect(text).to.include('Lab exercise');
    });

    it('runs conversions in parallel, each with its own profile, and leaves no profile behind', async () => {
      const before = await sofficeWorkDirs();
      const [a, b] = await Promise.all([
        converter.officeToPdf(fixture('slides.pptx'), workDir),
        converter.officeToPdf(fixture('handout.docx'), workDir),
      ]);
      expect((await converter.inspectPdf(a)).pageCount).to.equal(4);
      expect((await converter.inspectPdf(b)).pageCount).to.equal(2);
      expect(await sofficeWorkDirs()).to.have.members(before);
    });

    it('refuses content that is not a docx or pptx without starting LibreOffice', async () => {
      const disguised = path.join(workDir, 'notes.docx');
      await writeFile(disguised, 'just some text, not a document\n');
      await expectConversionError(converter.officeToPdf(disguised, workDir), 'corrupt_input');
    });

    it('reports a docx whose XML is broken as corrupt input', async () => {
      const broken = await new JSZip()
        .file('[Content_Types].xml', '<Types/>')
        .file('word/document.xml', 'garbage <<')
        .generateAsync({ type: 'nodebuffer' });
      const brokenPath = path.join(workDir, 'broken.docx');
      await writeFile(brokenPath, broken);
      await expectConversionError(converter.officeToPdf(brokenPath, workDir), 'corrupt_input');
    });

    it('kills a conversion that passes its deadline and calls that retryable', async () => {
      const hasty = createConverter({ ...settings, timeoutMs: 200 });
      await expectConversionError(hasty.officeToPdf(fixture('slides.pptx'), workDir), 'timeout');
    });

    it('stops a conversion when its signal aborts', async () => {
      const controller = new AbortController();
      const conversion = converter.officeToPdf(fixture('slides.pptx'), workDir, { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      await expectConversionError(conversion, 'aborted');
    });

    it('reports a missing tool as retryable, not as bad content', async () => {
      const broken = createConverter({ ...settings, libreofficeBin: '/nonexistent/soffice' });
      await expectConversionError(broken.officeToPdf(fixture('handout.docx'), workDir), 'tool_missing');
    });
  });

  describe('PDF', () => {
    it('counts 3 pages and extracts the text of each', async () => {
      const { pageCount, text } = await converter.inspectPdf(fixture('lecture.pdf'));
      expect(pageCount).to.equal(3);
      expect(text).to.include('Durable execution');
      expect(text).to.include('Event histories and replay');
      expect(text).to.include('Activities, retries and idempotency');
    });

    it('renders page 1 as a PNG thumbnail 320 px on its longest side', async () => {
      const png = await converter.pdfThumbnail(fixture('lecture.pdf'));
      const meta = await sharp(png).metadata();
      expect(meta.format).to.equal('png');
      expect(meta.height, 'a portrait page: height is the longest side').to.equal(320);
      expect(meta.width).to.be.closeTo((320 * 612) / 792, 1);
    });

    it('reports a damaged PDF as corrupt input', async () => {
      const damaged = path.join(workDir, 'damaged.pdf');
      await writeFile(damaged, '%PDF-1.4\nthis is not a PDF body\n');
      await expectConversionError(converter.inspectPdf(damaged), 'corrupt_input');
      await expectConversionError(converter.pdfThumbnail(damaged), 'corrupt_input');
    });
  });

  describe('inspectEpub', () => {
    it('reads title, authors, spine and chapters, not counting the table of contents', async () => {
      expect(await converter.inspectEpub(await readFixture('book.epub'))).to.deep.equal({
        title: 'The Durable Learner',
        authors: ['Ada Lovelace', 'Alan Turing'],
        spine: ['OEBPS/nav.xhtml', 'OEBPS/chapter-1.xhtml', 'OEBPS/chapter-2.xhtml', 'OEBPS/chapter-3.xhtml'],
        chapterCount: 3,
      });
    });

    it('leaves out non-linear items and creators who are not authors (EPUB 2 and 3 roles)', async () => {
      const opf = `<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" xmlns:opf="http://www.idpf.org/2007/opf" version="3.0">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>1984</dc:title>
    <dc:creator id="a">George Orwell</dc:creator>
    <dc:creator id="b">Jane Illustrator</dc:creator>
    <dc:creator opf:role="edt">Ed Itor</dc:creator>
    <meta refines="#b" property="role" scheme="marc:relators">ill</meta>
  </metadata>
  <manifest>
    <item id="c1" href="text/part%201.xhtml" media-type="application/xhtml+xml"/>
    <item id="notes" href="text/notes.xhtml" media-type="application/xhtml+xml"/>
    <item id="img" href="cover.jpg" media-type="image/jpeg"/>
  </manifest>
  <spine><itemref idref="c1"/><itemref idref="notes" linear="no"/><itemref idref="missing"/></spine>
</package>`;
      const epub = await new JSZip()
        .file('mimetype', 'application/epub+zip', { compression: 'STORE' })
        .file(
          'META-INF/container.xml',
          '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="book.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        .file('book.opf', opf)
        .generateAsync({ type: 'nodebuffer' });
      expect(await converter.inspectEpub(epub)).to.deep.equal({
        title: '1984',
        authors: ['George Orwell'],
        spine: ['text/part 1.xhtml', 'text/notes.xhtml'],
        chapterCount: 1,
      });
    });

    it('refuses to inflate an oversized package document (a decompression bomb)', async () => {
      const bomb = await new JSZip()
        .file('META-INF/container.xml', '<container><rootfiles><rootfile full-path="book.opf"/></rootfiles></container>')
        .file('book.opf', ' '.repeat(9 * 1024 * 1024))
        .generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
      const err = await expectConversionError(converter.inspectEpub(bomb), 'corrupt_input');
      expect(err.message).to.include('larger than');
    });

    it('reports a ZIP without an EPUB container as corrupt input', async () => {
      await expectConversionError(converter.inspectEpub(await readFixture('handout.docx')), 'corrupt_input');
      await expectConversionError(converter.inspectEpub(Buffer.from('not a zip')), 'corrupt_input');
    });
  });

  describe('inspectCsv', () => {
    it('counts 5 data rows despite a quoted comma, a quoted line break and escaped quotes', async () => {
      expect(await converter.inspectCsv(await readFixture('grades.csv'))).to.deep.equal({
        rowCount: 5,
        columns: ['student_id', 'name', 'course', 'grade', 'comment'],
      });
    });

    it('accepts LF endings, a byte-order mark, blank lines, a missing final newline and ; as delimiter', async () => {
      const csv = Buffer.from('\ufeffid;"title; long"\n\n1;a\r\n2;"b\nc"\n3;d', 'utf8');
      expect(await converter.inspectCsv(csv)).to.deep.equal({ rowCount: 3, columns: ['id', 'title; long'] });
    });

    it('reports an unterminated quote and invalid UTF-8 as corrupt input', async () => {
      const err = await expectConversionError(converter.inspectCsv(Buffer.from('a,b\n1,"open\n2,3\n')), 'corrupt_input');
      expect(err.message).to.include('line 2');
      await expectConversionError(converter.inspectCsv(Buffer.from([0x61, 0x2c, 0xff, 0x0a])), 'corrupt_input');
    });
  });

  describe('imageRenditions', () => {
    const metadataOf = async (buffer: Buffer) => {
      const meta = await sharp(buffer).metadata();
      return { exif: meta.exif, icc: meta.icc, xmp: meta.xmp, iptc: meta.iptc, orientation: meta.orientation };
    };
    const noMetadata = { exif: undefined, icc: undefined, xmp: undefined, iptc: undefined, orientation: undefined };

    it('makes 320 and 1280 px JPEGs of the photo with every piece of metadata stripped', async () => {
      const photo = await readFixture('photo.jpg');
      const original = await metadataOf(photo);
      expect(original.exif, 'the fixture carries EXIF').to.be.instanceOf(Buffer);
      expect(original.icc, 'the fixture carries ICC').to.be.instanceOf(Buffer);
      expect(original.xmp, 'the fixture carries XMP').to.be.instanceOf(Buffer);

      const result = await converter.imageRenditions(photo);
      expect([result.width, result.height]).to.deep.equal([1600, 1200]);
      expect(result.renditions.map((r) => [r.name, r.contentType, r.width, r.height])).to.deep.equal([
        ['w320', 'image/jpeg', 320, 240],
        ['w1280', 'image/jpeg', 1280, 960],
      ]);
      for (const rendition of result.renditions) {
        const meta = await sharp(rendition.buffer).metadata();
        expect([meta.format, meta.width, meta.height]).to.deep.equal(['jpeg', rendition.width, rendition.height]);
        expect(await metadataOf(rendition.buffer)).to.deep.equal(noMetadata);
        expect(rendition.buffer.includes('Fixture Cam')).to.equal(false);
      }
    });

    it('keeps PNGs as PNG and never enlarges beyond the original', async () => {
      const result = await converter.imageRenditions(await readFixture('diagram.png'));
      expect([result.width, result.height]).to.deep.equal([800, 600]);
      expect(result.renditions.map((r) => [r.name, r.contentType, r.width, r.height])).to.deep.equal([
        ['w320', 'image/png', 320, 240],
        ['w1280', 'image/png', 800, 600],
      ]);
    });

    it('applies the EXIF orientation before measuring and resizing', async () => {
      const sideways = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#c33' } })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer();
      const result = await converter.imageRenditions(sideways);
      expect([result.width, result.height]).to.deep.equal([200, 400]);
      expect(result.renditions.map((r) => [r.width, r.height])).to.deep.equal([
        [200, 400],
        [200, 400],
      ]);
      expect(await metadataOf(result.renditions[0].buffer)).to.deep.equal(noMetadata);
    });

    it('reports undecodable bytes as corrupt input', async () => {
      await expectConversionError(converter.imageRenditions(Buffer.from('not an image')), 'corrupt_input');
      const truncated = (await readFixture('photo.jpg')).subarray(0, 4000);
      await expectConversionError(converter.imageRenditions(truncated), 'corrupt_input');
    });
  });

  describe('untrusted files', () => {
    let listener: Awaited<ReturnType<typeof startListener>>;
    let secretPng: Buffer;

    beforeEach(async () => {
      secretPng = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c33' } }).png().toBuffer();
      listener = await startListener(secretPng);
    });
    afterEach(async () => {
      await listener.close();
    });

    async function writeAttackDocx(): Promise<string> {
      const secretPath = path.join(workDir, 'secret.png');
      await writeFile(secretPath, secretPng);
      const docxPath = path.join(workDir, 'linked.docx');
      await writeFile(docxPath, await docxWithExternalPictures(`http://127.0.0.1:${listener.port}/x.png`, `file://${secretPath}`));
      return docxPath;
    }

    it('the attack is real: unprotected LibreOffice fetches the URL and embeds the local file; stripped, it does neither', async () => {
      const docxPath = await writeAttackDocx();
      const rawOut = await mkdtemp(path.join(workDir, 'raw-'));
      expect(await embeddedImages(await convertUnprotected(docxPath, rawOut))).to.have.length(2);
      expect(listener.connections(), 'LibreOffice fetched the linked picture').to.be.greaterThan(0);

      const fetchedBefore = listener.connections();
      const { output, removed } = await stripExternalRelationships(await readFile(docxPath));
      expect(removed).to.equal(2);
      const strippedPath = path.join(workDir, 'stripped.docx');
      await writeFile(strippedPath, output);
      const strippedOut = await mkdtemp(path.join(workDir, 'stripped-'));
      expect(await embeddedImages(await convertUnprotected(strippedPath, strippedOut))).to.deep.equal([]);
      expect(listener.connections()).to.equal(fetchedBefore);
    });

    it('strips only external relationships and leaves every other part byte-identical', async () => {
      const original = await JSZip.loadAsync(await readFile(await writeAttackDocx()));
      const { output } = await stripExternalRelationships(await original.generateAsync({ type: 'nodebuffer' }));
      const stripped = await JSZip.loadAsync(output);
      expect(Object.keys(stripped.files)).to.deep.equal(Object.keys(original.files));
      const parts = Object.values(original.files).filter((entry) => !entry.dir).map((entry) => entry.name);
      expect(parts).to.include('word/document.xml');
      for (const name of parts.filter((n) => n !== 'word/_rels/document.xml.rels')) {
        expect(await stripped.file(name)!.async('nodebuffer'), name).to.deep.equal(await original.file(name)!.async('nodebuffer'));
      }
      const rels = await stripped.file('word/_rels/document.xml.rels')!.async('string');
      expect(rels).not.to.include('External');
      expect(rels).to.include('Target="styles.xml"').and.to.include('Target="settings.xml"');

      const untouched = await readFixture('handout.docx');
      expect((await stripExternalRelationships(untouched)).output).to.equal(untouched);
    });

    it('recognises external relationships however they are spelled', () => {
      const rels = [
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">',
        '<Relationship Id="a" Type="t" Target="media/image1.png"/>',
        `<Relationship Id="b" Type='t' Target='http://evil.test/x.png' TargetMode='&#69;xternal'/>`,
        '<Relationship Id="c" Type="t" Target="file:///etc/passwd"/>',
        '<Relationship Id="d" Type="t" Target="x" TargetMode="External"></Relationship>',
        '<Relationship Id="e" Type="t" Target="/word/document.xml" TargetMode="Internal"/>',
        '</Relationships>',
      ].join('\n');
      const { text, count } = withoutExternalRelationships(rels);
      expect(count).to.equal(3);
      expect(text).to.include('Id="a"').and.to.include('Id="e"');
      expect(text).not.to.match(/Id="[bcd]"/);
      expect(text.split('\n')).to.have.length(rels.split('\n').length);
    });

    it('converts a docx with externally linked pictures: nothing reaches the listener, no image is embedded', async () => {
      const pdfPath = await converter.officeToPdf(await writeAttackDocx(), workDir);
      expect(listener.connections()).to.equal(0);
      expect(await embeddedImages(pdfPath)).to.deep.equal([]);
      expect((await converter.inspectPdf(pdfPath)).text).to.include('Lab exercise');
    });

    const limits = { memoryMb: 512, cpuSeconds: 10 };
    const sandboxed = (bin: string, args: string[]) => runSandboxed(bin, args, { timeoutMs: 10_000, limits });

    it('gives the sandbox no network: a TCP connection to 127.0.0.1 fails and the listener sees nothing', async () => {
      const connect = ['-c', `exec 3<>/dev/tcp/127.0.0.1/${listener.port} && echo connected`];
      expect((await runProcess('bash', connect, { timeoutMs: 10_000 })).stdout.toString(), 'outside the sandbox').to.include('connected');
      const reachedOutside = listener.connections();
      expect(reachedOutside).to.equal(1);

      await expectConversionError(sandboxed('bash', connect), 'corrupt_input');
      expect(listener.connections()).to.equal(reachedOutside);
      const interfaces = (await sandboxed('cat', ['/proc/net/dev'])).stdout.toString();
      expect(interfaces.split('\n').slice(2).map((line) => line.split(':')[0].trim()).filter(Boolean)).to.deep.equal(['lo']);
    });

    it('gives the sandbox none of the parent environment and none of its files', async () => {
      process.env.EDULURE_FAKE_STRIPE_SECRET = 'sk_live_must_not_leak';
      try {
        const env = (await sandboxed('env', [])).stdout.toString();
        expect(env).not.to.include('sk_live_must_not_leak');
        // PWD is bwrap's own: the working directory, no secret.
        expect(env.trim().split('\n').map((line) => line.split('=')[0]).sort()).to.deep.equal(['HOME', 'LANG', 'PATH', 'PWD']);
      } finally {
        delete process.env.EDULURE_FAKE_STRIPE_SECRET;
      }
      const hostFile = path.join(workDir, 'host-only.txt');
      await writeFile(hostFile, 'visible outside only');
      expect(await readFile(hostFile, 'utf8')).to.equal('visible outside only');
      await expectConversionError(sandboxed('cat', [hostFile]), 'corrupt_input');
      await expectConversionError(sandboxed('ls', [path.resolve(__dirname, '../..')]), 'corrupt_input');
    });

    it('calls a sandbox that cannot start a retryable tool failure, not bad content', async () => {
      const missingInput = runSandboxed('cat', ['/input.pdf'], {
        timeoutMs: 10_000,
        limits,
        inputs: [{ host: path.join(workDir, 'gone.pdf'), path: '/input.pdf' }],
      });
      const err = await expectConversionError(missingInput, 'tool_crashed');
      expect(err.message).to.include('bwrap:');
    });

    it('limits the address space and CPU time of the tool', async () => {
      const limitsInside = (await sandboxed('sh', ['-c', 'ulimit -v; ulimit -t'])).stdout.toString().trim().split('\n');
      expect(limitsInside).to.deep.equal([String(512 * 1024), '10']);
    });

    it('refuses a zip-bomb docx from its central directory, before LibreOffice or an inflater sees it', async () => {
      const bombPath = path.join(workDir, 'bomb.docx');
      const bomb = await new JSZip()
        .file('[Content_Types].xml', '<Types/>')
        .file('word/document.xml', ' '.repeat(2 * 1024 * 1024))
        .generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
      expect(bomb.length, 'highly compressible').to.be.below(64 * 1024);
      await writeFile(bombPath, bomb);
      // Without LibreOffice: had the check come after starting it, this would be tool_missing.
      const strict = createConverter({ ...settings, archiveMaxUncompressedBytes: 1024 * 1024, libreofficeBin: '/nonexistent/soffice' });
      const err = await expectConversionError(strict.officeToPdf(bombPath, workDir), 'corrupt_input');
      expect(err.message).to.include('decompression bomb');

      // The default limit (500 MiB) against an entry declaring 600 MiB.
      await writeFile(bombPath, declareUncompressedSize(bomb, 'word/document.xml', 600 * 1024 * 1024));
      await expectConversionError(converter.officeToPdf(bombPath, workDir), 'corrupt_input');
    });

    it('refuses an epub declaring more than the archive limit', async () => {
      const epub = await readFixture('book.epub');
      const strict = createConverter({ ...settings, archiveMaxUncompressedBytes: 1024 });
      const err = await expectConversionError(strict.inspectEpub(epub), 'corrupt_input');
      expect(err.message).to.include('decompression bomb');
      expect((await converter.inspectEpub(epub)).chapterCount).to.equal(3);
    });

    it('refuses an image above the pixel limit as invalid content', async () => {
      const huge = await sharp({ create: { width: 10_000, height: 5_001, channels: 3, background: '#fff' } })
        .png({ compressionLevel: 1 })
        .toBuffer();
      const err = await expectConversionError(converter.imageRenditions(huge), 'corrupt_input');
      expect(err.message).to.include('more than 50000000 pixels');
      const small = createConverter({ ...settings, imageMaxPixels: 800 * 600 - 1 });
      await expectConversionError(small.imageRenditions(await readFixture('diagram.png')), 'corrupt_input');
      expect((await converter.imageRenditions(await readFixture('diagram.png'))).width).to.equal(800);
    });
  });
});
