import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import JSZip from 'jszip';
import sharp from 'sharp';
import { ConversionError, createConverter, sniffKind, type ConverterSettings } from '../../providers/converter';

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
});
