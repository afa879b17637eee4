import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from './outbox-open';

const ROUNDS = 60;

type Report =
  | { type: 'ready'; count: number }
  | { type: 'appended'; id: string; n: number }
  | { type: 'leased'; ids: string[] }
  | { type: 'settled'; id: string; gone: boolean }
  | { type: 'refused'; n: number }
  | { type: 'error'; message: string };

/**
 * One run of the child until SIGKILL, which comes after a random number of reports (so at a
 * random point of its work, whatever the machine's speed), or after 10 s at most.
 */
function round(directory: string, seed: number, onReport: (report: Report) => void, full = false): Promise<{ reports: number; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'outbox-crash-child.js'), [directory, String(seed), ...(full ? ['full'] : [])], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const killAfter = 1 + ((seed * 7919) % 400);
    let reports = 0;
    let timedOut = false;
    const kill = (): void => { child.kill('SIGKILL'); };
    const limit = setTimeout(() => { timedOut = true; kill(); }, 10_000);
    child.on('message', (report: Report) => {
      if (report.type === 'error') reject(new Error(report.message));
      onReport(report);
      if (report.type !== 'ready' && ++reports === killAfter) kill();
    });
    child.on('error', reject);
    // 'close', not 'exit': every report the child wrote before it died has been read by then
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      if (signal !== 'SIGKILL') reject(new Error(`the child exited by itself (${code ?? signal})`));
      else resolve({ reports, timedOut });
    });
  });
}

describe('an outbox killed with SIGKILL at random moments', function () {
  this.timeout(ROUNDS * 10_000 + 60_000); // each round ends by 10 s at the latest
  let root: string;
  before(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-outbox-crash-'));
  });
  after(function () {
    // HB_OUTBOX_KEEP=1 keeps the files of a failed run to read
    if (process.env.HB_OUTBOX_KEEP) console.log(`outbox files kept in ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  });

  for (const full of [false, true]) {
  const what = full
    ? `on a disk that fills now and then (writes refused, a short write first, fsyncs failing): loses nothing it had acknowledged, brings back nothing it had settled or refused, over ${ROUNDS} kills`
    : `loses nothing it had acknowledged and brings back nothing it had settled, over ${ROUNDS} kills`;
  it(what, async function () {
    const directory = path.join(root, full ? 'full' : 'plain');
    fs.mkdirSync(directory);
    /** The payload numbers of the appends the child reported refused. */
    const refused = new Set<number>();
    /** id → the payload number, of every append the child reported durable. */
    const numbers = new Map<string, number>();
    /** Must be there: acknowledged, and not handed out to be settled since (or settled as failed). */
    const mustWait = new Set<string>();
    /** Must not be there: delivered or dead, and the settle acknowledged. */
    const gone = new Set<string>();
    let appends = 0;
    let settles = 0;
    for (let seed = 1; seed <= ROUNDS; seed++) {
      await round(directory, seed, (report) => {
        if (report.type === 'appended') {
          appends++;
          numbers.set(report.id, report.n);
          mustWait.add(report.id);
        } else if (report.type === 'leased') {
          // settled or not by the kill: either is right
          for (const id of report.ids) mustWait.delete(id);
        } else if (report.type === 'settled') {
          settles++;
          if (report.gone) gone.add(report.id);
          else mustWait.add(report.id);
        } else if (report.type === 'refused') {
          refused.add(report.n);
        }
      }, full);
      // restart: what is there now
      // a kill between a short write (the disk full) and its cut leaves a torn record at the end
      // of the last segment, which the open cuts off; nothing else may look damaged
      const last = fs.readdirSync(directory).filter((name) => name.endsWith('.log')).sort().at(-1);
      const onDamage = (file: string, offset: number, reason: string): void => {
        if (full && path.basename(file) === last && /^a torn (record|header) at the end$/.test(reason)) return;
        assert.fail(`${file}@${offset}: ${reason}`);
      };
      const log = await openLog({ directory, segmentBytes: 32 * 1024, onDamage });
      const waiting = await log.lease(Infinity, 10_000_000);
      const count = log.stats().count;
      await log.close();
      assert.equal(waiting.length, count);
      const byId = new Map<string, number>();
      for (const message of waiting) {
        assert.ok(!byId.has(message.id), `round ${seed}: ${message.id} twice`);
        byId.set(message.id, (message.msg.payload as { n: number }).n);
      }
      for (const id of mustWait) {
        assert.ok(byId.has(id), `round ${seed}: acknowledged message ${id} (n ${numbers.get(id)}) is lost`);
      }
      for (const [id, n] of byId) {
        if (numbers.has(id)) assert.equal(n, numbers.get(id), `round ${seed}: message ${id} came back with another payload`);
      }
      for (const id of gone) assert.ok(!byId.has(id), `round ${seed}: settled message ${id} is back`);
      for (const [id, n] of byId) assert.ok(!refused.has(n), `round ${seed}: refused append n ${n} is back (as ${id})`);
    }
    if (full) assert.ok(refused.size > ROUNDS, `${refused.size} appends refused`);
    assert.ok(appends > ROUNDS * 10 && settles > ROUNDS * 5, `${appends} appends and ${settles} settles reported`);
  });
  }
});
