import { ApiError } from '../lib/http-client';
import { normalizePhone, ViatomApiError, ViatomError, viatomAuthOptionsSchema, type ViatomClient } from '../lib/vendors/viatom';
import { configClient, runAction, translator } from './action';
import type { NodeConfig, NodeMessage, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Asks the Viatom open platform for the page where a user authorizes us (`authorize-url`), or
 * cancels a user's authorization by phone number (`cancel`). One request per message, no retry;
 * failures go to `done(err)` with the message unchanged, so a Catch node can handle them.
 */

const isBlank = (value: unknown): boolean => value === undefined || value === null || value === '';

/** The phone to cancel: `msg.payload.phone`, else `msg.phone`. */
function phoneOf(message: NodeMessage): unknown {
  const payload = message.payload;
  const fromPayload = typeof payload === 'object' && payload !== null ? (payload as { phone?: unknown }).phone : undefined;
  return isBlank(fromPayload) ? message.phone : fromPayload;
}

const shorten = (text: string, max = 60): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'viatom-auth');

  /** A short reason for the node status: never the phone, a secret or a stack. */
  function statusReason(error: unknown): string {
    if (error instanceof ViatomApiError) return shorten(`Viatom ${error.code}: ${error.vendorMessage}`);
    if (error instanceof ApiError) {
      return error.kind === 'http' ? t('reason.http', { status: error.status }) : t(`reason.${error.kind}`);
    }
    if (error instanceof ViatomError) return t(`reason.${error.code}`);
    return t('reason.other');
  }

  registerNode(RED, 'viatom-auth', function ViatomAuth(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const options = viatomAuthOptionsSchema.safeParse(config);
    const operation = options.success ? options.data.operation : undefined;
    const account = configClient<ViatomClient>(RED, config.account, 'viatom-account');
    const setupProblem = operation ? account.problem : new Error(t('errors.operation'));

    runAction(
      RED,
      this,
      { translate: t, failureStatus: (error) => t('status.failed', { reason: statusReason(error) }), setupProblem },
      async (message, { status }) => {
        // The runner answers with the setup problem before this runs; this line tells the type so.
        if (account.problem) throw account.problem;
        let request: Promise<unknown>;
        if (operation === 'cancel') {
          // checked here, so that a bad phone never costs a request
          const checked = normalizePhone(phoneOf(message));
          if (!checked.ok) throw new ViatomError(checked.problem, checked.problem);
          request = account.client.cancelAuthorization(checked.phone);
        } else {
          request = account.client.authorizeUrl();
        }
        status({ fill: 'blue', shape: 'dot', text: t('status.requesting') });
        message.payload = await request;
        return { status: { fill: 'green', shape: 'dot', text: t(operation === 'cancel' ? 'status.cancelled' : 'status.url') }, send: message };
      },
    );
  });
};
