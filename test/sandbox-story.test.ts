import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { CGM_STORY, describeStory, npmStartHospitalDown, NPM_START_HOSPITAL_DOWN } from '../src/sandbox/story';
import { SAMPLE_CGM_PATIENT, SECOND_CGM_PATIENT } from '../src/sandbox/traffic/sinocare';
import { receiverFlow } from './harness/flows';
import { NodeRed, ROOT } from './harness/node-red';

/**
 * What `npm start` shows: the sandbox's Sinocare traffic, played fast into a real sinocare-in,
 * has two CGM patients, and the second has the story of src/sandbox/story.ts (a "HI", a low that
 * goes urgently low and comes back, a quiet spell while the first goes on); and `npm start` takes
 * the hospital down by default, as long as it is not told otherwise.
 */

/** Where a series goes below 3.9, then below 3.0, and the first value back at 4.0 or over after that. */
function lowEpisode(values: readonly number[]): { from: number; to: number } | undefined {
  const from = values.findIndex((v) => v < 3.9);
  const urgent = values.findIndex((v, i) => i > from && v < 3.0);
  const to = values.findIndex((v, i) => i > urgent && v >= 4.0);
  return from >= 0 && urgent > from && to > urgent ? { from, to } : undefined;
}

describe('the sandbox story that npm start shows', function () {
  this.timeout(180_000);

  describe('the CGM patients, through a real sinocare-in', function () {
    let nodeRed: NodeRed;
    let sandbox: Sandbox | undefined;
    const pushes = CGM_STORY.quietSpell.toPush + 20;

    before(async function () {
      nodeRed = await NodeRed.start({ settings: { lang: 'en-US' } });
      // the test tells the patients apart by their device serials, which the receiver leaves as they are
      await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare', properties: { ack: 'auto' } }));
      sandbox = await startSandbox({
        nodeRedUrl: nodeRed.url, vendors: ['sinocare'], port: 0, mllpPort: 0, count: pushes, intervalMs: 2, duplicateEvery: 0, log: () => undefined,
      });
      await sandbox.finished;
    });
    after(async function () {
      await sandbox?.stop();
      await nodeRed?.stop();
    });

    it('two patients; the second reads "HI" once, goes low, urgently low and back, and is quiet for a while as the first goes on', async function () {
      assert.ok(sandbox!.deliveries.every((d) => d.acknowledged), 'every push answered with success');
      const readings = (await nodeRed.waitForMessages(pushes, 'rx/readings', 30_000)).map((m) => m.msg.payload);
      assert.equal(readings.length, pushes);
      const of = (sn: string): any[] => readings.filter((r) => r.device?.sn === sn);
      const glucose = (r: any): number | undefined => r.values?.glucose?.value;
      const first = of(SAMPLE_CGM_PATIENT.deviceSn);
      const second = of(SECOND_CGM_PATIENT.deviceSn);
      assert.equal(first.length + second.length, pushes, 'every reading is one of the two');

      // the first stays in range: nothing for a watch
      assert.ok(first.filter((r) => r.context.valid !== false).every((r) => glucose(r)! >= 4.5 && glucose(r)! <= 9.5), 'the first patient stays in range');
      assert.ok(!first.some((r) => r.context.outOfRange), 'the first patient never reads HI');

      // one HI of the second, flagged high, without a value
      const high = second.filter((r) => r.context.outOfRange);
      assert.equal(high.length, 1);
      assert.equal(high[0].context.outOfRange, 'high');
      assert.equal(glucose(high[0]), undefined);

      // the low episode: below 3.9, then below 3.0, then back over 3.9, in this order, as the story has it
      const values = second.map(glucose).filter((v): v is number => typeof v === 'number');
      const episode = lowEpisode(values);
      assert.ok(episode, `low, urgent low, back: ${values.join(' ')}`);
      const story = lowEpisode(CGM_STORY.lowEpisode.values)!;
      assert.deepEqual(values.slice(episode.from, episode.to + 1), CGM_STORY.lowEpisode.values.slice(story.from, story.to + 1));
      const backInRange = episode.to;
      assert.ok(values.slice(backInRange + 1).every((v) => v >= 4.5), 'in range after it');

      // the quiet spell: a run of the first patient's readings with none of the second's
      let longest = 0;
      let run = 0;
      for (const r of readings) {
        run = r.device.sn === SAMPLE_CGM_PATIENT.deviceSn ? run + 1 : 0;
        longest = Math.max(longest, run);
      }
      const spell = CGM_STORY.quietSpell.toPush - CGM_STORY.quietSpell.fromPush;
      assert.ok(longest >= spell, `the first patient alone for ${spell} pushes (longest run ${longest})`);
      const afterSpell = second.at(-1)!;
      assert.equal(afterSpell.context.intervalMinutes, 1, 'the second sensor says it reads every minute');
      // her readings come back after the spell
      assert.ok(readings.slice(-20).some((r) => r.device.sn === SECOND_CGM_PATIENT.deviceSn));
    });
  });

  describe('npm start takes the hospital down by default', function () {
    it('a default window, announced; another on --hospital-down; none on "off"', function () {
      const { fromSeconds, toSeconds } = NPM_START_HOSPITAL_DOWN;
      assert.deepEqual(npmStartHospitalDown(undefined), [{ fromMs: fromSeconds * 1000, toMs: toSeconds * 1000 }]);
      assert.ok(fromSeconds > 0 && toSeconds > fromSeconds);
      assert.deepEqual(npmStartHospitalDown('30-90'), [{ fromMs: 30_000, toMs: 90_000 }]);
      assert.deepEqual(npmStartHospitalDown('off'), []);
      assert.throws(() => npmStartHospitalDown(true), /give the seconds/);
      const lines = describeStory(npmStartHospitalDown(undefined));
      assert.match(lines[0]!, /hospital goes down for maintenance 1 min after the start and comes back at 2 min/);
      assert.ok(lines.some((line) => /"HI".*39 s/.test(line)));
      assert.deepEqual(describeStory([]).filter((line) => line.includes('hospital')), [], 'no outage announced when there is none');
      // no patient in what the console says
      for (const patient of [SAMPLE_CGM_PATIENT, SECOND_CGM_PATIENT]) {
        assert.ok(!lines.join('\n').includes(patient.patientName) && !lines.join('\n').includes(patient.patientId));
      }
    });

    it('npm start refuses a window that ends before it begins, before it starts anything', function () {
      const started = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs'), '--hospital-down', '90-30'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(started.status, 2, started.stderr);
      assert.match(started.stderr, /--hospital-down/);
    });
  });
});
