// The typed client of payment captures and refunds: the API starts, signals and updates them only through here.
import {
  isGrpcDeadlineError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { unavailable } from '../errors';
import type { Run } from '../../schemas/common';
import { runningRun, type TemporalSettings } from '../temporal';
import type { paymentCapture } from '../../workflows/paymentCapture';
import type { refund } from '../../workflows/refund';
import {
  cancelUpdate,
  captureUpdate,
  clientSecretUpdate,
  PAYMENT_CAPTURE_WORKFLOW,
  PAYMENT_NOT_CANCELABLE,
  PAYMENT_NOT_CAPTURABLE,
  PAYMENTS_DOMAIN,
  PAYMENTS_TASK_QUEUE,
  paymentWorkflowId,
  stripeEventSignal,
  type PaymentCaptureInput,
  type PaymentStatus,
  type PaymentUpdateRejection,
  type StripeEventSignal,
} from '../../workflows/paymentCapture.contract';
import { REFUND_WORKFLOW, refundWorkflowId, type RefundInput } from '../../workflows/refund.contract';
import { DEADLINES_MS, executeUpdate, latestRunOrNull, startOptionsOf, startOrGetRun, withDeadline, type WorkflowStart } from './calls';
import { rejectionError, type UpdateOutcomes } from './updateErrors';

/** A payment as its record shows it: a refused capture or cancel is explained by the recorded status. */
export interface RecordedPayment {
  id: string;
  status: string;
}

/** A started capture run and, when the workflow answered in time, the PaymentIntent's client secret. */
export interface StartedPayment {
  run: Run;
  clientSecret: string | null;
}

const isTimeout = (err: unknown) => err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err);

/**
 * Starts the capture run with Update-with-Start (Temporal's early-return pattern): one request starts the
 * run and waits, at most `waitMs`, for the workflow to create the PaymentIntent and answer its client secret.
 * The run object comes from the start itself, never from a describe after it. Past `waitMs` the run is
 * started (or joined) all the same and answered without the secret; a run that already closed is described.
 */
export async function startPaymentCapture(
  client: Client,
  settings: TemporalSettings,
  input: PaymentCaptureInput,
  summary: string,
  waitMs: number,
): Promise<StartedPayment> {
  const workflowId = paymentWorkflowId(input.paymentId);
  const start: WorkflowStart<typeof paymentCapture> = {
    workflowType: PAYMENT_CAPTURE_WORKFLOW,
    taskQueue: PAYMENTS_TASK_QUEUE,
    domain: PAYMENTS_DOMAIN,
    workflowId,
    args: [input],
    businessKey: input.paymentId,
    summary,
  };
  const startedRunOf = (runId: string) => runningRun(settings, PAYMENT_CAPTURE_WORKFLOW, workflowId, runId);
  let run: Run | null = null;
  try {
    return await withDeadline(
      client,
      async () => {
        const operation = new WithStartWorkflowOperation<typeof paymentCapture>(PAYMENT_CAPTURE_WORKFLOW, startOptionsOf(start));
        const update = await client.workflow.startUpdateWithStart(clientSecretUpdate, { waitForStage: 'ACCEPTED', startWorkflowOperation: operation });
        run = startedRunOf(update.workflowRunId as string);
        return { run, clientSecret: await update.result() };
      },
      waitMs,
    );
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { run: await startOrGetRun(client, settings, start), clientSecret: null };
    if (!isTimeout(err)) throw err;
    if (run) return { run, clientSecret: null };
    // The start may or may not have reached Temporal: joining with a plain start makes sure it did.
    const handle = await withDeadline(client, () => client.workflow.start<typeof paymentCapture>(PAYMENT_CAPTURE_WORKFLOW, startOptionsOf(start)));
    return { run: startedRunOf(handle.firstExecutionRunId), clientSecret: null };
  }
}

/** Starts the refund an idempotency key names, or answers its run. */
export function startRefund(client: Client, settings: TemporalSettings, input: RefundInput, idempotencyKey: string, summary: string): Promise<Run> {
  return startOrGetRun<typeof refund>(client, settings, {
    workflowType: REFUND_WORKFLOW,
    taskQueue: PAYMENTS_TASK_QUEUE,
    domain: PAYMENTS_DOMAIN,
    workflowId: refundWorkflowId(input.paymentId, idempotencyKey),
    args: [input],
    businessKey: input.paymentId,
    summary,
  });
}

/** The capture run of a payment, or null when none was started. */
export function paymentCaptureRun(client: Client, settings: TemporalSettings, paymentId: string): Promise<Run | null> {
  return latestRunOrNull(client, settings, paymentWorkflowId(paymentId));
}

/** A closed run refuses a change the way its validator would. */
function paymentUpdateOutcomes(rejection: PaymentUpdateRejection, payment: RecordedPayment): UpdateOutcomes {
  const message = `the payment is ${payment.status}`;
  return {
    closed: rejectionError(rejection, message),
    unanswered: unavailable('WORKER_UNAVAILABLE', 'no payments worker answered in time; retry'),
    rejectionMessage: message,
  };
}

/** Asks the workflow to capture an authorized manual payment; its validator decides against its own state. */
export function capturePayment(client: Client, payment: RecordedPayment, requestedBy: string): Promise<PaymentStatus> {
  const outcomes = paymentUpdateOutcomes(PAYMENT_NOT_CAPTURABLE, payment);
  return executeUpdate(client, paymentWorkflowId(payment.id), captureUpdate, { requestedBy }, DEADLINES_MS.paymentUpdate, outcomes);
}

/** Asks the workflow to cancel a payment that is not captured yet. */
export function cancelPayment(client: Client, payment: RecordedPayment, requestedBy: string, reason: string | null): Promise<PaymentStatus> {
  const outcomes = paymentUpdateOutcomes(PAYMENT_NOT_CANCELABLE, payment);
  return executeUpdate(client, paymentWorkflowId(payment.id), cancelUpdate, { requestedBy, reason }, DEADLINES_MS.paymentUpdate, outcomes);
}

/** Hands a verified Stripe event to its payment's workflow; false when the run is closed and has nothing left to learn. */
export async function signalStripeEvent(client: Client, paymentId: string, event: StripeEventSignal): Promise<boolean> {
  try {
    const handle = client.workflow.getHandle<typeof paymentCapture>(paymentWorkflowId(paymentId));
    await withDeadline(client, () => handle.signal(stripeEventSignal, event));
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
