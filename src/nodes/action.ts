import { CodedError } from '../lib/coded-error';
import type { NodeMessage, NodeRedApi, NodeStatus, RuntimeNode } from './node-red';

/**
 * What every action node (expeed-token, expeed-query, expeed-set, viatom-auth, and the hospital's:
 * health-fhir, health-hl7, hl7-send, health-outbox) shares: the runner that turns its async work into
 * status, messages and `done`, the one way to reach the config node it names, and the texts of
 * the failures these two report themselves (src/nodes/shared/locales/<lang>/action.json, which
 * an action node's locale file includes).
 */

export type Translate = (key: string, params?: Record<string, unknown>) => string;

/** The texts of one locale namespace: a node's own, or a shared one its locale file includes. */
export const translator =
  (RED: NodeRedApi, namespace: string): Translate =>
  (key, params) =>
    RED._(`${namespace}.${key}`, params);

/** The failures the runner and `configClient` report, under `health-bridge-action.errors`. */
export const ACTION_ERROR_CODES = ['no-config', 'closed'] as const;
export type ActionErrorCode = (typeof ACTION_ERROR_CODES)[number];

const SHARED_NAMESPACE = 'health-bridge-action';

/**
 * What a config node of this package (expeed-account, viatom-account, hl7-mllp)
 * offers the nodes that use it: its client, or why it has none.
 */
export interface ClientConfigNode<Client> {
  client?: Client;
  /** Why `client` is missing (the config node's own properties are invalid), in the user's language. */
  configError?: string;
}

export type ConfigClient<Client> = { client: Client; problem?: undefined } | { client?: undefined; problem: Error };

/**
 * The client of the config node `id` of `type`, or the problem: none is selected (or it is of
 * another type), or the config node has none of its own (its `configError`).
 */
export function configClient<Client>(RED: NodeRedApi, id: unknown, type: string): ConfigClient<Client> {
  const found = typeof id === 'string' && id !== '' ? (RED.nodes.getNode(id) as (RuntimeNode & ClientConfigNode<Client>) | null) : null;
  if (found?.type === type && found.client !== undefined) return { client: found.client };
  if (found?.type === type && found.configError) return { problem: new Error(found.configError) };
  return { problem: new CodedError<ActionErrorCode>('no-config', { type }) };
}

/** The client of the config node `id` of `type`; throws the problem where there is none (for a node's work). */
export function requireConfigClient<Client>(RED: NodeRedApi, id: unknown, type: string): Client {
  const found = configClient<Client>(RED, id, type);
  if (found.problem) throw found.problem;
  return found.client;
}

/** What the work of one message may do before it ends. */
export interface ActionContext {
  /** Sends a message at once, before the work ends (e.g. one page of several). */
  send(message: NodeMessage): void;
  /** Shows a status while the work goes on. */
  status(status: NodeStatus): void;
  /** Aborted when the node is stopped or redeployed; `signal.reason` is the `closed` error. */
  signal: AbortSignal;
}

/** How the work of one message ended well. */
export interface ActionOutcome {
  /** The status to show. */
  status?: NodeStatus;
  /** What to send, in this order: one message, several, or none. */
  send?: NodeMessage | NodeMessage[];
}

export interface ActionOptions {
  /** The node's texts: a failure with a `code` reads `errors.<code>` here before the shared texts. */
  translate: Translate;
  /** The status text of a failure, where the node shows less than the whole error text. */
  failureStatus?(error: unknown): string | undefined;
  /** A problem of the node's setup (e.g. no config node): reported once it is wired up, and the answer to every message. */
  setupProblem?: Error;
  /** Runs when the work of `msg` failed (its setup problem included), before `done(err)`. */
  failed?(msg: NodeMessage, error: unknown): void;
}

const codeOf = (error: unknown): unknown => (typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined);

/**
 * The user's text of a failure: an error with a string `code` in the node's language (the node's
 * `errors.<code>`, else the shared `health-bridge-action.errors.<code>`), any other as its message.
 */
function errorText(error: unknown, texts: Translate[]): string {
  const code = codeOf(error);
  if (typeof code === 'string') {
    const params = (error as { params?: Record<string, unknown> }).params;
    for (const translate of texts) {
      const text = translate(`errors.${code}`, params);
      // A missing translation comes back as its key.
      if (!text.endsWith(`errors.${code}`)) return text;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Wires a node's `input` to its work: the work runs for each message and says what to show and
 * send; a failure shows a red ring and goes to `done(err)`, with `err.message` the translated text
 * and `err.code` the failure's code, so a Catch node gets it with `msg.payload` as it came
 * (docs/nodes/README.md). Texts come from the node's locale, never from the failure's secrets or personal data: what
 * a failure carries is the lib's business to keep clean.
 */
export function runAction(
  RED: NodeRedApi,
  node: RuntimeNode,
  options: ActionOptions,
  work: (msg: NodeMessage, context: ActionContext) => Promise<ActionOutcome>,
): void {
  const texts = [options.translate, translator(RED, SHARED_NAMESPACE)];
  const closing = new AbortController();
  const show = (status: NodeStatus): void => {
    if (!closing.signal.aborted) node.status(status);
  };
  const { setupProblem } = options;
  if (setupProblem) {
    // Catch and Status nodes are wired once every node exists: report on the next turn.
    setImmediate(() => {
      const text = errorText(setupProblem, texts);
      show({ fill: 'red', shape: 'ring', text });
      node.error(text);
    });
  }

  node.on('input', (msg, send, done) => {
    (async () => {
      if (setupProblem) throw setupProblem;
      const outcome = await work(msg, { send, status: show, signal: closing.signal });
      if (outcome.status) show(outcome.status);
      for (const out of [outcome.send ?? []].flat()) send(out);
    })().then(
      () => done(),
      (error: unknown) => {
        const text = errorText(error, texts);
        show({ fill: 'red', shape: 'ring', text: options.failureStatus?.(error) ?? text });
        options.failed?.(msg, error);
        done(failureOf(error, text));
      },
    );
  });
  node.on('close', (_removed, done) => {
    closing.abort(new CodedError<ActionErrorCode>('closed'));
    done();
  });
}

/** The error for `done`: the failure itself where its message is the text, else the text with its code. */
function failureOf(error: unknown, text: string): Error {
  const failure = (error instanceof Error && error.message === text ? error : new Error(text)) as Error & { code?: unknown; retryable?: unknown };
  const code = codeOf(error);
  if (code !== undefined && failure !== error) failure.code = code;
  // a failure no retry mends: a Catch node copies only an error's message, code, stack and cause
  // into msg.error, so `retryable: false` travels in `cause` too (health-ack reads either)
  if (typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false) {
    failure.retryable = false;
    failure.cause ??= { retryable: false };
  }
  return failure;
}
