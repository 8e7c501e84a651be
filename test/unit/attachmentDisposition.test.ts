// The Content-Disposition of presigned downloads: pure string work, no gateway needed.
import { expect } from 'chai';
import { attachmentDisposition } from '../../providers/storage';

describe('attachmentDisposition', () => {
  it('encodes file names for Content-Disposition per RFC 6266', () => {
    expect(attachmentDisposition('notes.pdf')).to.equal(`attachment; filename="notes.pdf"; filename*=UTF-8''notes.pdf`);
    expect(attachmentDisposition('日本語.pdf')).to.equal(
      `attachment; filename="___.pdf"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf`,
    );
    expect(attachmentDisposition('../a\r\nSet-Cookie: x.pdf')).to.equal(
      `attachment; filename=".._aSet-Cookie: x.pdf"; filename*=UTF-8''.._aSet-Cookie%3A%20x.pdf`,
    );
  });
});
