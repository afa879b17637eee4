import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildCgmPush, type CgmPatient } from '../src/sandbox/sinocare-pushes';
import { httpDelivery, placed } from './harness/flows';
import { postJson } from './harness/http';
import { freePort, NodeRed } from './harness/node-red';

/**
 * health-outbox on a disk that fills up: a tmpfs of 256 KiB that the test mounts itself, in a
 * mount namespace of its own (`unshare -m` as root, `unshare -rm`, a user namespace, otherwise),
 * so that nothing of the machine's mounts changes and a non-root `npm test` runs it too.
 *
 * The namespace lives as long as a process in it: a small holder process (a shell waiting on its
 * stdin) keeps it, so Node-RED can be killed with SIGKILL and started again on the same files.
 * Node-RED itself runs outside, and reaches the tmpfs through the holder's root,
 * `/proc/<holder>/root/<mount point>`, which the kernel resolves in the holder's namespace: the
 * user directory's `health-bridge/` (where the outboxes keep their queues) is a link to it. The
 * test checks the link lands on the small filesystem before it relies on it.
 *
 * A Sinocare cloud pushes readings (real HTTP, `ack: flow`) into receiver → health-outbox → http
 * request → health-ack while the hospital takes connections and never answers (the first
 * delivery waits for its answer, the others wait behind it), so the log holds only the pushes'
 * records, all of one length, and the queue grows until the disk is full. The cloud pushes a
 * backlog, a few at once (the outbox writes the ones that arrive together in one batch), until
 * some are answered with failure (refused). The test frees a little space (shrinks its filler
 * file), the cloud pushes one reading at a time, and right after one or two more 200s Node-RED
 * is killed. Restarted on the same files with the hospital up, every reading answered 200 must
 * arrive, none answered with failure, and the log must hold one warning per episode of
 * refusals, not a line per push. Each case fills the disk at another point (another amount of
 * free space at the start), so the refusal cuts a batch at another of its records.
 *
 * Before the file log cut refused batches off, the records of a batch cut short by the full disk
 * stayed past the log's end; the pushes after the space was freed overwrote the first of them,
 * and the restart read the next ones: refused readings were delivered, and one took the place of
 * an acknowledged reading, which was lost.
 */

const DISK_KIB = 256;
const PAGE = 4096;
/** Free pages at the start, one case each: the disk fills at as many points of the log. */
const FREE_PAGES = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
/** Pushes at once while the disk fills. */
const BURST = 8;
/** Refused pushes before the test frees space; pages it frees then. */
const REFUSALS_BEFORE_FREEING = 3;
const FREED_PAGES = 3;
const MAX_PUSHES = 400;

/**
 * A tmpfs of `kib` KiB in a mount namespace of its own, kept by a holder process; `root` is its
 * path as this process (and Node-RED) reaches it. Fails, saying why, where the machine does not
 * allow it: the test is not skipped.
 */
class SmallDisk {
  private constructor(private readonly holder: ChildProcess, private readonly point: string, readonly root: string) {}

  static async mount(kib: number): Promise<SmallDisk> {
    const point = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-small-disk-'));
    const asRoot = process.getuid?.() === 0;
    // as root a mount namespace is enough (a root without CAP_SYS_ADMIN, as in most containers,
    // may still have a user namespace); otherwise a user namespace, whose root may mount a tmpfs
    const tries = asRoot ? ['-m', '-rm'] : ['-rm'];
    const reasons: string[] = [];
    for (const flags of tries) {
      const started = await SmallDisk.hold(flags, kib, point);
      if ('reason' in started) {
        reasons.push(`unshare ${flags}: ${started.reason}`);
        continue;
      }
      const disk = new SmallDisk(started.holder, point, `/proc/${started.holder.pid}/root${point}`);
      // the path must lead to the tmpfs, not to the empty directory beneath it
      const { blocks, bsize } = fs.statfsSync(disk.root);
      assert.equal(blocks * bsize, kib * 1024, `${disk.root} is not the ${kib} KiB tmpfs (${blocks * bsize} bytes)`);
      return disk;
    }
    fs.rmSync(point, { recursive: true, force: true });
    throw new Error(
      `this test needs a small filesystem of its own (mount -t tmpfs -o size=${kib}k in a mount namespace) and could not mount one ` +
      `as ${asRoot ? 'root' : `uid ${process.getuid?.()}`}: ${reasons.join('; ')}. ` +
      'It needs util-linux unshare and either CAP_SYS_ADMIN (root; a container run with --privileged or --cap-add SYS_ADMIN) ' +
      'or unprivileged user namespaces (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone = 1 where that ' +
      'exists, and no AppArmor or seccomp rule that forbids them).',
    );
  }

  /** The holder in a new namespace, once its tmpfs is mounted; or why it could not be. */
  private static hold(flags: string, kib: number, point: string): Promise<{ holder: ChildProcess } | { reason: string }> {
    const args = [flags, 'sh', '-c', `mount -t tmpfs -o size=${kib}k,mode=0777 tmpfs "$0" && echo mounted && read _`, point];
    const holder = spawn('unshare', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    return new Promise((resolve) => {
      const done = (result: { holder: ChildProcess } | { reason: string }): void => {
        holder.removeAllListeners('exit');
        holder.removeAllListeners('error');
        holder.stdout!.removeAllListeners('data');
        holder.stderr!.removeAllListeners('data');
        resolve(result);
      };
      holder.once('error', (error) => done({ reason: String(error) }));
      holder.once('exit', (code, signal) => done({ reason: `it exited (${code ?? signal}): ${output.trim() || 'no output'}` }));
      holder.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      holder.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('mounted')) done({ holder });
      });
    });
  }

  /** Bytes still free. */
  free(): number {
    const { bavail, bsize } = fs.statfsSync(this.root);
    return bavail * bsize;
  }

  /** Ends the holder: the namespace and its tmpfs go with it. */
  async unmount(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.holder.exitCode !== null || this.holder.signalCode !== null) return resolve();
      this.holder.once('exit', () => resolve());
      this.holder.stdin!.end();
    });
    fs.rmSync(this.point, { recursive: true, force: true });
  }
}

/**
 * The hospital's HTTP API: records the reading ids it stored, in order. `silent`: it takes the
 * connection and the request and never answers (a hung server).
 */
class Hospital {
  readonly accepted: string[] = [];
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number) {}

  async up(silent = false): Promise<void> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (silent) return;
        const reading = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string };
        this.accepted.push(reading.id);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"stored":true}');
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

const patient: CgmPatient = {
  deviceSn: 'SN-FULL-DISK',
  patientId: 'P-FULL-DISK',
  visitId: 'V-1',
  inSerialId: 'IN-1',
  patientName: '患者',
  idCard: '110101199001011234',
  customerName: '示例医院',
};
const START = Date.parse('2026-12-01T08:00:00+08:00');

function reading(serial: number, k: number): { body: Record<string, unknown>; readingId: string } {
  const body = buildCgmPush(patient, { serialNo: serial, testResult: (5 + (k % 30) / 10).toFixed(1), measuredAt: START + k * 60_000, warmingUp: false });
  return { body, readingId: `sinocare:${(body.data as { testId: string }).testId}` };
}

/**
 * Receiver (ack: flow) → health-outbox → http request → 2xx? → health-ack; failures → Catch →
 * health-ack. Each case has its outbox of its own (`ob<case>`, so a directory of its own).
 */
function flow(hospital: Hospital, outbox: string): object[] {
  const tab = 'tab-full-disk';
  return placed([
    { id: tab, type: 'tab', label: 'full disk' },
    { id: 'rx', z: tab, type: 'sinocare-in', name: '', version: 1, path: '/push', ack: 'flow', ackTimeout: 10, dedupHours: 72, pii: 'keep', credentials: { key: '', piiKey: '' }, wires: [[outbox], []] },
    {
      id: outbox, z: tab, type: 'health-outbox', name: '', version: 1,
      // no delivery ends within a case's fill (ackTimeout): no record but the pushes' is written
      maxAgeHours: 72, retryMinSeconds: 1, retryMaxSeconds: 1, concurrency: 1, ackTimeout: 60, state: '',
      wires: [['req'], []],
    },
    ...httpDelivery(tab, `http://127.0.0.1:${hospital.port}/readings`, 'the hospital'),
    { id: 'ob-status', z: tab, type: 'status', scope: [outbox], wires: [['statuses']] },
    { id: 'statuses', z: tab, type: 'test-sink', name: `${outbox}/statuses`, wires: [[]] },
  ]);
}

async function until(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;
const statuses = (nodeRed: NodeRed, outbox: string): string[] =>
  nodeRed.messages.filter((m) => m.sink === `${outbox}/statuses`).map((m) => String(m.msg.status?.text ?? ''));

describe('health-outbox on a disk that fills up, then kill -9 and a restart (a 256 KiB tmpfs the test mounts)', function () {
  this.timeout(60_000);
  let disk: SmallDisk | undefined;
  let userDir: string;
  let hospital: Hospital;
  /** One Node-RED after another: a case's restart is where the next case begins. */
  let nodeRed: NodeRed | undefined;

  before(async function () {
    disk = await SmallDisk.mount(DISK_KIB);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-full-disk-'));
    fs.symlinkSync(disk.root, path.join(userDir, 'health-bridge'));
    hospital = new Hospital(await freePort());
    nodeRed = await NodeRed.start({ userDir, settings: { lang: 'en-US' }, logLevel: 'info' });
  });
  after(async function () {
    await nodeRed?.stop();
    await hospital?.down();
    await disk?.unmount();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  for (const [index, freePages] of FREE_PAGES.entries()) {
    it(`case ${index + 1}: ${freePages} pages free: every push answered 200 is delivered, none answered with failure, one warning per episode`, async function () {
      if (!disk || !nodeRed) throw new Error('no small disk or no Node-RED (see the first failure)');
      const outbox = `ob${index + 1}`;
      const filler = path.join(disk.root, 'filler');
      await hospital.down();
      await hospital.up(true);
      await nodeRed.clearMessages();
      await nodeRed.deploy(flow(hospital, outbox));
      // the previous case's outbox is gone from the flows: its files too, then the disk as full
      // as this case wants it (the filler file, shrunk later to free space)
      for (const name of fs.readdirSync(disk.root)) {
        if (name.startsWith('outbox-') && name !== `outbox-${outbox}`) fs.rmSync(path.join(disk.root, name), { recursive: true, force: true });
      }
      const fillerSize = fs.existsSync(filler) ? fs.statSync(filler).size : 0;
      fs.writeFileSync(filler, Buffer.alloc(fillerSize + disk.free() - freePages * PAGE));
      assert.equal(disk.free(), freePages * PAGE);
      const url = `${nodeRed.url}/push`;

      const accepted = new Set<string>();
      const refused = new Set<string>();
      let k = 0;
      const pushOne = async (): Promise<boolean> => {
        const { body, readingId } = reading(index * 1000 + k, k);
        k++;
        const response = await postJson(url, body);
        const stored = response.status === 200 && (response.json as { code?: number } | undefined)?.code === 0;
        (stored ? accepted : refused).add(readingId);
        return stored;
      };
      // a backlog, a few at once, until the disk refuses
      while (refused.size < REFUSALS_BEFORE_FREEING && k < MAX_PUSHES) await Promise.all(Array.from({ length: BURST }, pushOne));
      assert.ok(refused.size >= REFUSALS_BEFORE_FREEING, `the disk never filled: ${accepted.size} pushes answered 200`);
      // what the user sees under the node meanwhile (redrawn at most every 500 ms)
      const running = nodeRed;
      const lastSaid = (): string => statuses(running, outbox).at(-1) ?? '';
      const diskFull = (): boolean => /^disk full: \d+ refused$/.test(lastSaid());
      await new Promise((resolve) => setTimeout(resolve, 700));
      if (!diskFull()) {
        // a refused batch, once cut off, may leave room for a smaller one, which ends the episode:
        // then one push at a time until one finds no room
        while (k < MAX_PUSHES && (await pushOne()));
      }
      await until(diskFull, 5_000, () => `the status to say "disk full: N refused" (it says "${lastSaid()}")`);
      fs.truncateSync(filler, Math.max(0, fs.statSync(filler).size - FREED_PAGES * PAGE));
      // then one at a time, and the kill right after one 200, or two in every third case (the
      // more are written, the more of what a refused batch left behind they overwrite)
      const wanted = index % 3 === 2 ? 2 : 1;
      let acceptedSinceFreeing = 0;
      while (acceptedSinceFreeing < wanted && k < MAX_PUSHES) if (await pushOne()) acceptedSinceFreeing++;
      assert.equal(acceptedSinceFreeing, wanted, `after freeing space, ${acceptedSinceFreeing} pushes answered 200 of ${MAX_PUSHES}`);
      await nodeRed.kill();
      const before = nodeRed;
      nodeRed = undefined;

      // the hospital is back; Node-RED starts again on the same files
      await hospital.down();
      await hospital.up();
      const delivered = hospital.accepted.length;
      const restarted = await before.startAgain();
      nodeRed = restarted;
      const lastStatus = (): string => statuses(restarted, outbox).at(-1) ?? '';
      await until(() => lastStatus() === 'empty', 30_000, () => `the outbox to be empty (it says "${lastStatus()}"; ${hospital.accepted.length - delivered} delivered)`);
      const arrived = hospital.accepted.slice(delivered);
      const unique = new Set(arrived);
      const lost = [...accepted].filter((id) => !unique.has(id));
      const back = [...refused].filter((id) => unique.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${accepted.size} readings answered 200 were not delivered (${refused.size} refused)`);
      assert.deepEqual(back, [], `${back.length} of ${refused.size} readings answered with failure were delivered`);
      assert.deepEqual([...unique].filter((id) => !accepted.has(id) && !refused.has(id)), []);
      // at least once: at most the one in flight at the kill may come twice (concurrency 1)
      assert.ok(arrived.length - unique.size <= 1, `${arrived.length - unique.size} readings delivered twice`);

      // the log told of the full disk once per episode, not once per push
      const logs = before.logs;
      const warnings = count(logs, new RegExp(`\\[health-outbox:${outbox}\\] the outbox cannot write to its storage \\(ENOSPC`, 'g'));
      const recoveries = count(logs, new RegExp(`\\[health-outbox:${outbox}\\] the outbox writes to its storage again`, 'g'));
      assert.equal(count(logs, /could not store the message/g), 0, 'a line for a refused push');
      assert.ok(warnings >= 1, 'the full disk was not told');
      assert.ok(warnings - recoveries === 0 || warnings - recoveries === 1, `${warnings} warnings for ${recoveries} recoveries`);
      // (each warning after the first follows a recovery: one per episode, however many pushes it refused)
      assert.ok(warnings <= refused.size, `${warnings} warnings for ${refused.size} refused pushes`);
    });
  }
});
