// Shared by the API and the workflow: how to start, signal and update a payment capture.
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PaymentCaptureInput, PaymentCaptureResult, PaymentStatus } from '../schemas/payments';

export type { PaymentCaptureInput, PaymentCaptureResult, PaymentStatus };
export { progressQuery, type Progress } from './progress';

export const PAYMENT_CAPTURE_WORKFLOW = 'paymentCapture';
export const PAYMENTS_TASK_QUEUE = 'payments';
export const PAYMENTS_DOMAIN = 'payments';

export const paymentWorkflowId = (paymentId: string): string => `payment:${paymentId}`;

/** What a verified Stripe webhook tells the workflow; the event id makes redelivery harmless. */
export interface StripeEventSignal {
  eventId: string;
  type: string;
  declineCode: string | null;
  message: string | null;
}

export const stripeEventSignal = defineSignal<[StripeEventSignal]>('stripeEvent');

/** Capture and cancel are Updates: the workflow validates them against its state and answers at once. */
export const captureUpdate = defineUpdate<PaymentStatus, [{ requestedBy: string }]>('capture');
export const cancelUpdate = defineUpdate<PaymentStatus, [{ requestedBy: string; reason: string | null }]>('cancel');

/**
 * The early return of Update-with-Start: answers the PaymentIntent's client secret once the workflow created it
 * (null when the run ended without one), so POST /payments hands it to the browser in the same request.
 */
export const clientSecretUpdate = defineUpdate<string | null, []>('clientSecret');

/** What creating the PaymentIntent gives the workflow. */
export interface CreatedIntent {
  intentId: string;
  clientSecret: string | null;
}

/** ApplicationFailure types the capture and cancel validators reject with; lib/clients/updateErrors.ts gives each its status. */
export const PAYMENT_NOT_CAPTURABLE = 'PaymentNotCapturable';
export const PAYMENT_NOT_CANCELABLE = 'PaymentNotCancelable';
export type PaymentUpdateRejection = typeof PAYMENT_NOT_CAPTURABLE | typeof PAYMENT_NOT_CANCELABLE;

/** ApplicationFailure type for a card the issuer declined: a business outcome, never retried. */
export const CARD_DECLINED_FAILURE = 'CardDeclined';
