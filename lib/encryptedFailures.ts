// Loaded by path (DataConverter.failureConverterPath) when payload encryption is on: a failure's message
// and stack trace move into its encoded attributes, which the payload codec encrypts, so an activity's
// error text (a SQL error, a filename) is not left in plain text in the history.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
