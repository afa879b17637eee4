import { vendorOfReceiver } from '../vendors/manifest';

/**
 * Whether a deployed flow is clearly meant to run on several instances: a receiver, an outbox or
 * an Expeed account in it shares its state on Redis (`state` set). A watch in such a flow without
 * `state` of its own sees only the readings that reach its instance: it would report false
 * silences and send each episode's alerts once per instance. One instance cannot know whether
 * others run, so this is what it warns on.
 */
export function flowSharesState(nodes: ReadonlyArray<{ type: string; state?: unknown }>): boolean {
  return nodes.some(
    (node) =>
      (vendorOfReceiver(node.type) !== undefined || node.type === 'health-outbox' || node.type === 'expeed-account') &&
      typeof node.state === 'string' &&
      node.state.trim() !== '',
  );
}
