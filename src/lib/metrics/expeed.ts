import { addRunning, type ExpeedAccountStatus } from '../operations/running';
import { counter, perNode, statusGauge } from './registry';

const tokenCalls = counter('health_bridge_expeed_token_calls_total', 'Token calls an Expeed account made to the platform.', ['node', 'name']);
statusGauge('health_bridge_expeed_token_calls_left', "Token calls the Expeed account has left today (the platform's daily cap less those made).",
  'expeed-account', perNode((s: ExpeedAccountStatus) => s.tokenCallsLeft));

export interface ExpeedTokenMetrics {
  /** One token call made (counted when it is made, whatever its answer). */
  tokenCall(): void;
  close(): void;
}

export function expeedTokenMetrics(node: string, name: string, figures: () => { tokenCallsToday: number; dailyTokenCap: number }): ExpeedTokenMetrics {
  const calls = tokenCalls.labels(node, name);
  calls.inc(0);
  const leave = addRunning({
    kind: 'expeed-account',
    id: node,
    status: (): ExpeedAccountStatus => {
      const { tokenCallsToday, dailyTokenCap } = figures();
      return {
        kind: 'expeed-account', id: node, type: 'expeed-account', name,
        tokenCallsToday, dailyTokenCap, tokenCallsLeft: Math.max(0, dailyTokenCap - tokenCallsToday),
      };
    },
  });
  let closed = false;
  return {
    tokenCall: () => closed || calls.inc(),
    close() {
      if (closed) return;
      closed = true;
      leave();
      tokenCalls.remove(node, name);
    },
  };
}
