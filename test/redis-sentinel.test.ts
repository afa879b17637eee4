import assert from 'node:assert/strict';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson } from './harness/http';
import { NodeRed } from './harness/node-red';
import { RedisSentinelGroup } from './harness/redis';

/**
 * health-redis through Redis Sentinel, with real processes: a primary, its replica and one
 * Sentinel (redis-server --sentinel), and a real Node-RED whose receiver has `state` on a
 * health-redis with `sentinels`. The receiver emits a push once and answers a copy as a duplicate;
 * after the Sentinel fails the primary over to the replica, it takes pushes again without a
 * redeploy, and a copy of a push taken before the failover is still a duplicate (its dedup key
 * was replicated to the server that is primary now).
 *
 * The config node's `url` names the first primary on purpose: a connection that ignored
 * `sentinels` would work until the failover and then be refused by the old primary, now a
 * read-only replica (the pushes after the failover answered 503 for ever).
 */

const ACCEPTED = { code: 0, msg: '' };

/** A Sinocare push of its own test id (`which`: before or after the failover). */
function sinocarePush(which: string): any {
  return { ...bodyFixture('sinocare', 'document-example'), data: { ...bodyFixture('sinocare', 'document-example').data, testId: `sentinel-${process.pid}-${which}` } };
}

function flow(group: RedisSentinelGroup): object[] {
  return [
    ...receiverFlow({ type: 'sinocare-in', path: '/sinocare', properties: { ack: 'auto', ackTimeout: 10, state: 'shared' } }),
    {
      id: 'shared', type: 'health-redis', name: '', url: group.primary.url, prefix: 'hb-test:', tls: false, ca: '',
      sentinels: group.sentinels, sentinelName: group.name, credentials: {},
    },
  ];
}

/** Pushes until the receiver takes it (503 while it finds the primary), within `timeoutMs`. */
async function pushUntilAccepted(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let answer = await postJson(url, body);
  while (answer.status === 503 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    answer = await postJson(url, body);
  }
  assert.equal(answer.status, 200, `still not taken after ${timeoutMs} ms: ${answer.status} ${answer.text}`);
  assert.deepEqual(answer.json, ACCEPTED);
}

async function assertDuplicate(nodeRed: NodeRed, body: unknown, emitted: number): Promise<void> {
  const answer = await postJson(`${nodeRed.url}/sinocare`, body);
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(answer.json, ACCEPTED);
  assert.equal((await nodeRed.settledMessages('rx/readings', 1000)).length, emitted, 'a copy is not emitted again');
}

describe('health-redis through Redis Sentinel: the receivers\' dedup follows a failover', function () {
  this.timeout(300_000);
  let group: RedisSentinelGroup | undefined;
  let nodeRed: NodeRed | undefined;

  afterEach(async function () {
    await nodeRed?.stop();
    nodeRed = undefined;
    await group?.stop();
    group = undefined;
  });

  it('a push emitted once, a copy a duplicate, before and after SENTINEL FAILOVER, without a redeploy', async function () {
    group = await RedisSentinelGroup.start('hb-primary');
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' });
    await nodeRed.deploy(flow(group));
    const url = `${nodeRed.url}/sinocare`;

    const before = sinocarePush('before');
    await pushUntilAccepted(url, before, 60_000);
    await nodeRed.waitForMessages(1, 'rx/readings', 10_000);
    await assertDuplicate(nodeRed, before, 1);
    // the connection went where the Sentinel says: the key is on the primary, and on its replica
    assert.match(await group.primary.command('KEYS', 'hb-test:dedup:*'), /hb-test:dedup:rx:[0-9a-f]{32}/);
    assert.match(await group.primary.command('WAIT', '1', '20000'), /^:1\r\n/);
    assert.match(await group.replica.command('KEYS', 'hb-test:dedup:*'), /hb-test:dedup:rx:[0-9a-f]{32}/);

    await group.failover();

    const after = sinocarePush('after');
    await pushUntilAccepted(url, after, 90_000);
    await nodeRed.waitForMessages(2, 'rx/readings', 10_000);
    await assertDuplicate(nodeRed, after, 2);
    await assertDuplicate(nodeRed, before, 2);
    // the push taken after the failover was claimed on the new primary (the former replica)
    const keys = await group.replica.command('KEYS', 'hb-test:dedup:*');
    assert.equal((keys.match(/hb-test:dedup:rx:[0-9a-f]{32}/g) ?? []).length, 2, keys);

    const readings = await nodeRed.settledMessages('rx/readings');
    assert.deepEqual(
      readings.map((message) => (message.msg as { payload: { id: string } }).payload.id),
      [`sinocare:${before.data.testId}`, `sinocare:${after.data.testId}`],
    );
    assert.match(nodeRed.logs, /connected to sentinel:\/\/127\.0\.0\.1:\d+\/hb-primary/);
  });
});
