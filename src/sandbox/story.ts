import { parseDownWindows, type DownWindow } from './hospital-faults';

/**
 * What happens in `npm start`, and when: the one place for the demo's timings (docs/sandbox.md,
 * "What npm start shows"). Change a number here and the sandbox, `npm start` and the console lines
 * that announce it follow.
 *
 * The hospital's maintenance is in seconds after the sandbox started (Node-RED is up by then in
 * `npm start`, so the first pushes follow within a second). The CGM story is in Sinocare pushes:
 * the sandbox pushes for each vendor every `--interval` (3 s unless told), so push n comes about
 * 3·n seconds after the start; the seconds below are those of the default interval, and a shorter
 * interval plays the same story faster (the tests play it in a second).
 */

/** `npm start`'s hospital maintenance unless `--hospital-down` says otherwise (`off`: none). */
export const NPM_START_HOSPITAL_DOWN = { fromSeconds: 60, toSeconds: 120 };

/** The interval the seconds of the CGM story are counted in (the sandbox's default `--interval`). */
export const STORY_SECONDS_PER_PUSH = 3;

/**
 * The CGM patients' story. Sinocare's pushes alternate between the two patients of
 * traffic/sinocare.ts: the first (`SAMPLE_CGM_PATIENT`) stays in range; the second
 * (`SECOND_CGM_PATIENT`) has, in this order:
 */
export const CGM_STORY = {
  /** One reading over the sensor's range, "HI" (flagged high, no value): push 13, about 39 s. */
  hiAtPush: 13,
  /**
   * A low going to an urgent low and back, one value per reading of that patient (every second
   * push) from push 51, about 2 min 33 s, to push 77, about 3 min 51 s: below 3.9 mmol/L (low)
   * from its 4th value, below 3.0 (urgent low) from its 7th, back over 3.0 by more than a 2 %
   * margin at its 10th, over 3.9 (with the margin) at its 12th.
   */
  lowEpisode: { fromPush: 51, values: [5.2, 4.6, 4.1, 3.8, 3.5, 3.2, 2.9, 2.7, 2.8, 3.2, 3.6, 4.1, 4.8, 5.5] },
  /**
   * A quiet spell: the patient's phone stops uploading from push 100 (5 min) to push 200 (10 min),
   * and the sensor's readings of that time never come. Its sensor says it reads every minute
   * (`increMinute` 1), so a health-watch whose `silenceMinutes` is under 5 (say 2) reports it
   * about 3 minutes in (the watch waits for the longer of `silenceMinutes` and three of the
   * sensor's intervals), and the first reading after it resolves it.
   */
  quietSpell: { fromPush: 100, toPush: 200 },
  /**
   * The `silenceMinutes` the sandbox gives the example's health-watch (its own default, 15, is
   * longer than the spell): under the spell's 5 minutes, so `npm start` shows `silent` fire and
   * resolve.
   */
  watchSilenceMinutes: 2,
} as const;

/** Seconds after the start at which push n comes, with the default interval. */
export const pushSeconds = (push: number): number => push * STORY_SECONDS_PER_PUSH;

/**
 * The hospital's maintenance windows `npm start` gives the sandbox: its default window without
 * the flag, none with `off` (or `none`, `0`), else the windows the flag names (`30-90,120-150`).
 */
export function npmStartHospitalDown(flag: string | boolean | undefined): DownWindow[] {
  if (flag === undefined) {
    return [{ fromMs: NPM_START_HOSPITAL_DOWN.fromSeconds * 1000, toMs: NPM_START_HOSPITAL_DOWN.toSeconds * 1000 }];
  }
  if (typeof flag !== 'string') throw new Error('give the seconds, such as --hospital-down 30-90, or off');
  if (['off', 'none', '0', 'no'].includes(flag.trim().toLowerCase())) return [];
  return parseDownWindows(flag);
}

/** "1 min 30 s", "45 s". */
function clock(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return minutes === 0 ? `${rest} s` : rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/**
 * What the demo will show and when, one line each, for the console of `npm start` (no patient:
 * "the second CGM patient"). `intervalMs` is the sandbox's interval between two pushes of a vendor.
 */
export function describeStory(hospitalDown: readonly DownWindow[], intervalMs = STORY_SECONDS_PER_PUSH * 1000): string[] {
  const at = (push: number): string => clock((push * intervalMs) / 1000);
  const { hiAtPush, lowEpisode, quietSpell } = CGM_STORY;
  const lowEnd = lowEpisode.fromPush + 2 * (lowEpisode.values.length - 1);
  return [
    ...hospitalDown.map((w) => `the hospital goes down for maintenance ${clock(w.fromMs / 1000)} after the start and comes back at ${clock(w.toMs / 1000)}: the outboxes' queues grow and drain`),
    `the second CGM patient reads "HI" (over the sensor's range) at about ${at(hiAtPush)}`,
    `the second CGM patient goes low, then urgently low, and back in range from about ${at(lowEpisode.fromPush)} to ${at(lowEnd)}`,
    `the second CGM patient's phone stops uploading from about ${at(quietSpell.fromPush)} to ${at(quietSpell.toPush)}`,
    'the health-watch example writes each alert, firing and resolved, to .demo/health-bridge-data/alerts.jsonl; the Health Bridge sidebar tab and /metrics show the queues and the alerts firing',
  ];
}
