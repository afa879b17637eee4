import { ApiError } from '../lib/http-client';
import { normalizePhone, ViatomApiError, ViatomError, type ViatomAccountHandle, type ViatomClient } from '../lib/vendors/viatom';
import type { NodeConfig, NodeMessage, NodeRedApi, NodeStatus, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Asks the Viatom open platform for the page where a user authorizes us (`authorize-url`), or
 * cancels a user's authorization by phone number (`cancel`). One request per message, no retry;
 * failures go to `done(err)` with the message unchanged, so a Catch node can handle them.
 */

type Operation = 'authorize-url' | 'cancel';

const isBlank = (value: unknown): boolean => value === undefined || value === null || value === '';

/** The phone to cancel: `msg.payload.phone`, else `msg.phone`. */
function phoneOf(message: NodeMessage): unknown {
  const payload = message.payload;
  const fromPayload = typeof payload === 'object' && payload !== null ? (payload as { phone?: unknown }).phone : undefined;
  return isBlank(fromPayload) ? message.phone : fromPayload;
}

const shorten = (text: string, max = 60): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export = function register(RED: NodeRedApi): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`viatom-auth.${key}`, params);

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
    const node = this;
    const operation: Operation | undefined =
      isBlank(config.operation) || config.operation === 'authorize-url'
        ? 'authorize-url'
        : config.operation === 'cancel'
          ? 'cancel'
          : undefined;
    const account =
      typeof config.account === 'string' && config.account !== ''
        ? (RED.nodes.getNode(config.account) as Partial<ViatomAccountHandle> | null)
        : null;

    let setupProblem: string | undefined;
    if (!operation) setupProblem = t('errors.operation');
    else if (!account || typeof account.viatomClient !== 'function') setupProblem = t('errors.no-account');
    if (setupProblem) {
      const problem = setupProblem;
      // Catch and Status nodes are wired once every node exists: report on the next turn.
      setImmediate(() => {
        node.status({ fill: 'red', shape: 'ring', text: problem });
        node.error(problem);
      });
    }

    let closed = false;
    const show = (status: NodeStatus): void => {
      if (!closed) node.status(status);
    };

    node.on('input', (message, send, done) => {
      const fail = (error: unknown): void => {
        show({ fill: 'red', shape: 'ring', text: t('status.failed', { reason: statusReason(error) }) });
        done(error);
      };
      if (setupProblem || !account?.viatomClient || !operation) {
        fail(new Error(setupProblem ?? t('errors.no-account')));
        return;
      }
      const client: ViatomClient | Error = account.viatomClient();
      if (client instanceof Error) {
        fail(client);
        return;
      }

      let request: Promise<unknown>;
      if (operation === 'cancel') {
        // checked here, so that a bad phone never costs a request
        const checked = normalizePhone(phoneOf(message));
        if (!checked.ok) {
          fail(new ViatomError(checked.problem, t(`errors.${checked.problem}`)));
          return;
        }
        request = client.cancelAuthorization(checked.phone);
      } else {
        request = client.authorizeUrl();
      }
      show({ fill: 'blue', shape: 'dot', text: t(`status.requesting`) });
      request.then(
        (result) => {
          message.payload = result;
          show({ fill: 'green', shape: 'dot', text: t(operation === 'cancel' ? 'status.cancelled' : 'status.url') });
          send(message);
          done();
        },
        (error: unknown) => {
          if (error instanceof ViatomError && error.code === 'credentials-missing') {
            fail(new ViatomError(error.code, t('errors.credentials-missing')));
          } else {
            fail(error);
          }
        },
      );
    });

    node.on('close', (_removed, done) => {
      closed = true;
      done();
    });
  });
};
