import { expect } from 'chai';
import { redact, redactString } from '../../lib/logger';

describe('log redaction', () => {
  it('masks secret-looking keys at any depth', () => {
    const out = redact({ user: 'u1', authorization: 'Bearer abc', nested: { stripeSecretKey: 'sk_live_x', apiKey: 'k' } });
    expect(out).to.deep.equal({ user: 'u1', authorization: '[REDACTED]', nested: { stripeSecretKey: '[REDACTED]', apiKey: '[REDACTED]' } });
  });

  it('masks e-mail addresses, bearer tokens, URL credentials and presigned signatures inside text', () => {
    const text = redactString(
      'mail ada@example.org with Bearer eyJ.abc.def via postgres://edulure:pw@db:5432/x and https://s3/x?X-Amz-Signature=deadbeef&y=1',
    );
    expect(text).to.equal(
      'mail [EMAIL] with Bearer [REDACTED] via postgres://[REDACTED]@db:5432/x and https://s3/x?X-Amz-Signature=[REDACTED]&y=1',
    );
  });
});
