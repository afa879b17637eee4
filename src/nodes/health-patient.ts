import fs from 'node:fs';
import { loadAtRestKey, Sealer } from '../lib/at-rest';
import { CodedError, errorCode } from '../lib/coded-error';
import { CsvFileSource } from '../lib/patients/csv-file';
import {
  ASSIGN_TOPIC, patientPropertiesSchema, resolveCsvPath, unassignSchema, UNASSIGN_TOPIC,
} from '../lib/patients/properties';
import { describeRowIssues, parseSourcesCredential, patientRowSchema } from '../lib/patients/rows';
import { RedisRuntimeRows } from '../lib/patients/shared';
import { RuntimeRowStore } from '../lib/patients/store';
import {
  applyAssignment, applyUnassignment, PatientTable, viatomAuthorizationOf, type RuntimeRow,
} from '../lib/patients/table';
import { hidingReceiversUpstream, type FlowNodeConfig } from '../lib/patients/upstream';
import type { HealthEvent, Reading } from '../lib/reading';
import { safeMessage, type RedisConnection } from '../lib/redis';
import { whenConnected } from '../lib/redis/ready';
import { isVendor } from '../lib/vendors/manifest';
import { describeIssues } from '../lib/zod-helpers';
import { configClient, translator } from './action';
import type { NodeConfig, NodeMessage, NodeRedApi, NodeStatus, RuntimeNode } from './node-red';
import { registerNode, statePath } from './register';

/**
 * health-patient: sets `subject.patientId` of each reading from a table of sources (the editor's
 * rows, kept as a credential; a CSV file; run-time assignments and Viatom authorizations, kept
 * encrypted in the user directory, or with `state` in Redis, shared by the instances). The
 * matching lives in src/lib/patients/; this file wires it to Node-RED: one message at a time, in
 * order, so a reading that follows an assignment sees it.
 */

type PatientNode = RuntimeNode & { log(text: string): void };
type EachNode = (callback: (node: FlowNodeConfig) => void) => void;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function isReading(payload: unknown): payload is Reading {
  return isObject(payload) && typeof payload.vendor === 'string' && isVendor(payload.vendor) && typeof payload.kind === 'string' && typeof payload.time === 'string';
}

function isEvent(payload: unknown): payload is HealthEvent {
  return isObject(payload) && typeof payload.vendor === 'string' && typeof payload.event === 'string';
}

export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-patient');

  registerNode(
    RED,
    'health-patient',
    function HealthPatientNode(this: RuntimeNode, config: NodeConfig) {
      RED.nodes.createNode(this, config);
      const node = this as PatientNode;
      const properties = patientPropertiesSchema.safeParse(config);
      const table = new PatientTable();
      let unmatched = 0;
      /** Why the editor's rows, the file or the run-time rows are not (all) in use; never a value. */
      let tableProblem: string | undefined;
      let fileProblem: string | undefined;
      let runtimeProblem: string | undefined;
      /** The code of the last failed write of the run-time rows (ENOSPC, EACCES), until one succeeds. */
      let storageProblem: string | undefined;
      let closed = false;

      const who = (msg: NodeMessage): string => {
        const user = typeof msg.user === 'string' ? msg.user : isObject(msg.user) && typeof msg.user.username === 'string' ? msg.user.username : '';
        return user.trim() !== '' ? user.trim().slice(0, 64) : t('log.this-node');
      };
      const now = (): string => new Date().toISOString();
      // Catch and Status nodes are wired once every node of the deploy exists: a problem found
      // while this node is being built is reported on the next turn
      const reportSoon = (report: () => void): void => {
        setImmediate(() => {
          if (!closed) report();
        });
      };

      let statusTimer: NodeJS.Timeout | undefined;
      const drawStatus = (): void => {
        statusTimer = undefined;
        if (closed) return;
        const counts = t('status.counts', { sources: table.sourceCount, unmatched });
        let shown: NodeStatus = { fill: 'green', shape: 'dot', text: counts };
        if (fileProblem) shown = { fill: 'yellow', shape: 'ring', text: `${counts} · ${t('status.file-problem')}` };
        if (tableProblem) shown = { fill: 'red', shape: 'ring', text: `${counts} · ${t('status.table-problem')}` };
        if (storageProblem) shown = { fill: 'red', shape: 'ring', text: `${counts} · ${t('status.storage', { reason: storageProblem })}` };
        if (runtimeProblem) shown = { fill: 'red', shape: 'ring', text: `${counts} · ${runtimeProblem}` };
        const notShared = stateProblem !== undefined ? t('status.not-shared') : sharedProblem;
        if (notShared) shown = { fill: 'red', shape: 'ring', text: `${counts} · ${notShared}` };
        node.status(shown);
      };
      // readings may come by the thousand: the status is redrawn at most every half second
      const statusSoon = (): void => {
        if (!closed) statusTimer ??= setTimeout(drawStatus, 500);
      };

      // --- the editor's rows (a credential: an exported flow carries no patient id) -------------
      const fromEditor = parseSourcesCredential(node.credentials?.sources);
      if (fromEditor.ok) {
        table.setRows('table', fromEditor.rows);
      } else {
        tableProblem = fromEditor.problem;
        reportSoon(() => node.error(t('errors.table', { problem: fromEditor.problem })));
      }
      if (!properties.success) reportSoon(() => node.error(t('errors.properties', { detail: describeIssues(properties.error) })));

      // --- the CSV file ------------------------------------------------------------------------
      let csv: CsvFileSource | undefined;
      const userDir = typeof RED.settings.userDir === 'string' ? RED.settings.userDir : undefined;
      let fileLoads = 0;
      if (properties.success && properties.data.file) {
        csv = new CsvFileSource({
          file: resolveCsvPath(properties.data.file, userDir),
          onRows: (rows) => {
            table.setRows('file', rows);
            fileProblem = undefined;
            // the first read is the deploy's, not a change
            if (fileLoads++ > 0) node.log(t('log.file-reloaded', { count: rows.length, when: now() }));
            statusSoon();
          },
          onProblem: (problem) => {
            fileProblem = problem;
            node.warn(t('warn.file', { problem, count: table.rowsOf('file').length }));
            statusSoon();
          },
        });
      }
      const fileRead = csv?.start() ?? Promise.resolve();

      // --- the run-time rows (encrypted in the user directory, or in Redis with `state`) --------
      const key = loadAtRestKey();
      const state = properties.success ? properties.data.state : '';
      let shared: RedisRuntimeRows | undefined;
      /** Why `state` cannot be used (its config node, or no key to seal with): every reading and change fails with it. */
      let stateProblem: string | undefined;
      /** Redis did not answer the last lookup or change (its error), until one succeeds. */
      let sharedProblem: string | undefined;
      let connection: RedisConnection | undefined;
      if (state) {
        const found = configClient<RedisConnection>(RED, state, 'health-redis');
        if (found.problem || key instanceof CodedError) {
          // a reading may belong to a row this instance cannot see: none is matched without them
          stateProblem = found.problem ? (found.problem instanceof CodedError ? t('reason.no-config') : found.problem.message) : t('reason.no-key', { variable: key instanceof CodedError ? key.params.variable ?? '' : '' });
          const reason = stateProblem;
          reportSoon(() => node.error(t('errors.state', { reason })));
        } else {
          connection = found.client;
          shared = new RedisRuntimeRows(connection.use(), new Sealer(key, `patients:${config.id}`), `${connection.prefix}patients:${config.id}`);
        }
      }
      const file = statePath(RED, 'patients', String(config.id), '.json');
      let store: RuntimeRowStore | undefined;
      let runtimeRows: RuntimeRow[] = [];
      /**
       * The rows a last run kept cannot be read (another key, no key, damage): a reading they may
       * have named would go on under the wrong patient or none, and the vendor would be told it
       * was taken. So readings fail (retryable: the vendor pushes them again) until it is mended.
       */
      let rowsUnreadable = false;
      if (state) {
        // the rows live in Redis: no file is read or written
      } else if (key instanceof CodedError) {
        runtimeProblem = t(key.code === 'no-key' ? 'status.no-key' : 'status.bad-key');
        if (file && fs.existsSync(file)) rowsUnreadable = true;
        // a warning, not an error: the table and the file still work; each refused assignment is the error
        const warning = key.code === 'no-key'
          ? t('warn.key-missing', { variable: key.params.variable ?? '', file: key.params.file ?? '' })
          : t('warn.key-bad', { variable: key.params.variable ?? '', reason: key.params.reason ?? '' });
        reportSoon(() => node.warn(warning));
      } else if (!file) {
        runtimeProblem = t('status.no-user-dir');
      } else {
        store = new RuntimeRowStore(file, new Sealer(key, `patients:${config.id}`));
      }
      const loaded = (store ? store.load() : Promise.resolve([] as RuntimeRow[])).then(
        (rows) => {
          runtimeRows = rows;
          table.setRuntimeRows(rows);
        },
        (error: unknown) => {
          // never overwrite a file we could not read: assignments are refused until it is fixed
          store = undefined;
          rowsUnreadable = true;
          runtimeProblem = t('status.unreadable', { reason: errorCode(error) });
          reportSoon(() => node.error(t('errors.load', { reason: errorCode(error) })));
        },
      );
      // with state, the first copy of the rows is read once the connection is up (a failure is told, and the next lookup tries again)
      const sharedRead = connection ? whenConnected(connection, 10_000).then(() => refresh()).catch(() => undefined) : undefined;
      const ready = Promise.all([loaded, fileRead, sharedRead]).then(() => statusSoon());

      /** Stores the run-time rows, then uses them: a change that did not reach the disk never happened. */
      const commit = async (rows: RuntimeRow[]): Promise<void> => {
        if (!store) throw new CodedError(runtimeRefusal());
        try {
          await store.save(rows);
        } catch (error) {
          storageProblem = errorCode(error);
          statusSoon();
          throw new CodedError('storage', { reason: storageProblem });
        }
        storageProblem = undefined;
        runtimeRows = rows;
        table.setRuntimeRows(rows);
        statusSoon();
      };
      const runtimeRefusal = (): string => (key instanceof CodedError ? 'no-key' : !file ? 'no-user-dir' : 'unreadable');

      /**
       * A failure of the shared rows as the message's error: a change's own refusal as it is; rows
       * this key cannot open refuse the reading (one may name its patient); Redis down is retryable.
       */
      const sharedFailure = (error: unknown): CodedError => {
        if (error instanceof CodedError && (error.code === 'not-assigned' || error.code === 'invalid-row')) return error;
        const code = errorCode(error);
        if (code === 'undecryptable' || code === 'damaged') {
          sharedProblem = t('status.unreadable', { reason: code });
          statusSoon();
          return new CodedError('rows-unreadable');
        }
        const reason = error instanceof CodedError ? code : safeMessage(error);
        sharedProblem = t('status.redis');
        statusSoon();
        return new CodedError('redis', { reason });
      };
      /** With state: the copy of the run-time rows brought up to the last change of any instance (one small read when none). */
      const refresh = async (): Promise<void> => {
        if (stateProblem !== undefined) throw new CodedError('state', { reason: stateProblem });
        if (!shared) return;
        let rows: RuntimeRow[] | undefined;
        try {
          rows = await shared.fresh();
        } catch (error) {
          throw sharedFailure(error);
        }
        if (sharedProblem !== undefined) statusSoon();
        sharedProblem = undefined;
        if (!rows) return;
        runtimeRows = rows;
        table.setRuntimeRows(rows);
        statusSoon();
      };
      /** Changes the rows of one source: in Redis (with state), else in the file. `change` may throw (nothing to end). */
      const change = async (source: Pick<RuntimeRow, 'vendor' | 'field' | 'value'>, update: (rows: readonly RuntimeRow[]) => RuntimeRow[]): Promise<void> => {
        if (stateProblem !== undefined) throw new CodedError('state', { reason: stateProblem });
        if (!shared) {
          if (!store) throw new CodedError(runtimeRefusal());
          return commit(update(runtimeRows));
        }
        try {
          await shared.change(source, update);
        } catch (error) {
          throw sharedFailure(error);
        }
        await refresh();
      };

      // --- deploy-time check of the receivers upstream ------------------------------------------
      const checkUpstream = (): void => {
        const eachNode = (RED.nodes as unknown as { eachNode?: EachNode }).eachNode;
        if (!eachNode) return;
        const nodes: FlowNodeConfig[] = [];
        eachNode((found) => nodes.push(found));
        for (const receiver of hidingReceiversUpstream(nodes, node.id)) {
          const label = receiver.name || `${receiver.type} ${receiver.id}`;
          if (receiver.vendor === 'viatom') node.warn(t('warn.pii-phone', { receiver: label, pii: receiver.pii }));
          // Expeed's readings carry no person's id, only the device, which no pii policy touches
          if (receiver.vendor !== 'expeed' && (receiver.pii === 'pseudonymize' || receiver.pii === 'drop')) node.warn(t('warn.pii-ids', { receiver: label, pii: receiver.pii }));
        }
      };
      RED.events?.once('flows:started', checkUpstream);

      // --- the messages, one at a time ----------------------------------------------------------
      const assign = async (msg: NodeMessage): Promise<void> => {
        const row = patientRowSchema.safeParse(msg.payload);
        if (!row.success) throw new CodedError('invalid-row', { detail: describeRowIssues(row.error) });
        const at = Date.now();
        // without a from the row starts now: an until already past would be a row that never held
        if (row.data.from === undefined && row.data.until !== undefined && row.data.until <= at) {
          throw new CodedError('invalid-row', { detail: 'until: must be later than from (now, where from is left out)' });
        }
        await change(row.data, (rows) => applyAssignment(rows, row.data, 'assigned', at));
        node.log(t('log.assigned', { who: who(msg), when: now(), vendor: row.data.vendor, field: row.data.field }));
      };

      const unassign = async (msg: NodeMessage): Promise<void> => {
        const parsed = unassignSchema.safeParse(msg.payload);
        if (!parsed.success) throw new CodedError('invalid-row', { detail: describeIssues(parsed.error) });
        const { until, patientId, ...source } = parsed.data;
        const at = until ?? Date.now();
        await change(source, (rows) => {
          const result = applyUnassignment(rows, source, at, patientId === undefined ? {} : { patientId });
          if (result.ended === 0) throw new CodedError('not-assigned', { vendor: source.vendor, field: source.field });
          return result.rows;
        });
        node.log(t('log.unassigned', { who: who(msg), when: now(), vendor: source.vendor, field: source.field }));
      };

      /** A Viatom authorization binds its member to the patient of its phone; a cancellation ends it. */
      const viatomEvent = async (event: HealthEvent): Promise<void> => {
        const { member, phone, time } = viatomAuthorizationOf(event, Date.now());
        if (member === undefined) return;
        await refresh();
        const source = { vendor: 'viatom' as const, field: 'member_id' as const, value: member };
        if (event.event === 'authorized') {
          const patientId = phone === undefined ? undefined : table.patientOfPhone(phone, time);
          if (patientId === undefined) {
            node.warn(t('warn.no-phone-row'));
            return;
          }
          if (!store && !shared) {
            node.warn(t('warn.binding-not-kept', { reason: stateProblem !== undefined ? 'state' : runtimeRefusal() }));
            return;
          }
          await change(source, (rows) => applyAssignment(rows, { ...source, patientId, from: time }, 'viatom-authorized', Date.now()));
          node.log(t('log.bound', { when: now() }));
        } else {
          if (!store && !shared) return;
          try {
            await change(source, (rows) => {
              const result = applyUnassignment(rows, source, time, { origin: 'viatom-authorized' });
              // nothing bound: nothing written
              if (result.ended === 0) throw new CodedError('not-assigned', { vendor: source.vendor, field: source.field });
              return result.rows;
            });
          } catch (error) {
            if (error instanceof CodedError && error.code === 'not-assigned') return;
            throw error;
          }
          node.log(t('log.unbound', { when: now() }));
        }
      };

      const handle = async (msg: NodeMessage, send: (out: Array<NodeMessage | null>) => void): Promise<void> => {
        await ready;
        if (msg.topic === ASSIGN_TOPIC) return assign(msg);
        if (msg.topic === UNASSIGN_TOPIC) return unassign(msg);
        const payload = msg.payload;
        // with state, what the other instances changed is seen before this message is matched
        if (isReading(payload)) await refresh();
        if (isEvent(payload)) {
          if (payload.vendor === 'viatom' && (payload.event === 'authorized' || payload.event === 'deauthorized')) {
            try {
              await viatomEvent(payload);
            } catch (error) {
              // the event still goes on: the binding's failure is told, the vendor's message is not lost
              node.error(t('errors.binding', { reason: errorCode(error) }), msg);
            }
          }
          send([msg, null]);
          return;
        }
        if (isReading(payload)) {
          if (rowsUnreadable) throw new CodedError('rows-unreadable');
          const found = table.match(payload);
          if (found) {
            msg.payload = {
              ...payload,
              subject: { ...payload.subject, patientId: found.patientId },
              context: { ...payload.context, patientSource: found.origin },
            };
            send([msg, null]);
            return;
          }
          const own = payload.subject?.patientId;
          if (own !== undefined && own !== null && String(own).trim() !== '') {
            msg.payload = { ...payload, context: { ...payload.context, patientSource: 'reading' } };
            send([msg, null]);
            return;
          }
        }
        unmatched++;
        statusSoon();
        send([null, msg]);
      };

      let queue = Promise.resolve();
      node.on('input', (msg, send, done) => {
        queue = queue.then(() =>
          handle(msg, send as unknown as (out: Array<NodeMessage | null>) => void).then(
            () => done(),
            (error: unknown) => {
              // every failure here is a CodedError of ours; anything else is told by its code alone
              const failure = error instanceof CodedError ? error : new CodedError('storage', { reason: errorCode(error) });
              done(Object.assign(new Error(t(`errors.${failure.code}`, failure.params)), { code: failure.code }));
            },
          ),
        );
      });

      node.on('close', (_removed, done) => {
        closed = true;
        if (statusTimer) clearTimeout(statusTimer);
        RED.events?.removeListener('flows:started', checkUpstream);
        csv?.close();
        void queue.finally(() => done());
      });
    },
    { credentials: { sources: { type: 'text' } } },
  );
};
