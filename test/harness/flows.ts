import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './node-red';

/**
 * Flows as a user would wire them in the editor, written out as the node objects the editor
 * deploys: a receiver, its two outputs into test sinks (named "<receiver id>/<sink>"), a Catch node and a Status node scoped to
 * it, and for `ack: flow` a health-ack after the sink.
 */

export type Sink = 'readings' | 'events' | 'errors' | 'statuses' | 'acked';

export interface ReceiverFlowOptions {
  type: string;
  path?: string;
  /** Receiver properties (the names of docs/receivers.md#properties) and `credentials`. */
  properties?: Record<string, unknown>;
  /** How the flow treats the readings in `ack: flow` mode. */
  sink?: 'store' | 'fail' | 'never-answer';
  id?: string;
}

export function bodyFixture(vendor: string, name: string): any {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'bodies', vendor, `${name}.json`), 'utf8'));
}

export function receiverFlow(options: ReceiverFlowOptions): object[] {
  const rx = options.id ?? 'rx';
  const tab = `tab-${rx}`;
  const sink = (name: Sink, wires: string[] = []): object => ({
    id: `${rx}-${name}`, z: tab, type: 'test-sink', name: `${rx}/${name}`, wires: [wires],
  });
  const nodes: object[] = [
    { id: tab, type: 'tab', label: `receiver ${rx}` },
    // Catch and Status first: Node-RED creates nodes in this order, and a receiver reports a
    // configuration problem while it is being created.
    { id: `${rx}-catch`, z: tab, type: 'catch', scope: [rx], uncaught: false, wires: [[`${rx}-errors`]] },
    sink('errors'),
    { id: `${rx}-status`, z: tab, type: 'status', scope: [rx], wires: [[`${rx}-statuses`]] },
    sink('statuses'),
    {
      id: rx, z: tab, type: options.type, name: '', path: options.path ?? '/push',
      ...options.properties,
      // As the editor does, every credential field is sent; an empty one deletes a stored value.
      credentials: { key: '', piiKey: '', ...(options.properties?.credentials as object | undefined) },
      wires: [[`${rx}-readings`], [`${rx}-events`]],
    },
  ];
  switch (options.sink ?? 'store') {
    case 'store':
      // The sink stores, then health-ack answers the vendor (a no-op for ack: auto).
      nodes.push(sink('readings', [`${rx}-ack`]), sink('events', [`${rx}-ack`]));
      nodes.push({ id: `${rx}-ack`, z: tab, type: 'health-ack', name: '', wires: [[`${rx}-acked`]] }, sink('acked'));
      break;
    case 'fail':
      // A sink that fails (a database that is down), caught and reported to health-ack.
      nodes.push(sink('readings', [`${rx}-db`]), sink('events', [`${rx}-db`]));
      nodes.push(
        { id: `${rx}-db`, z: tab, type: 'function', name: 'database down', func: 'node.error("database down", msg); return null;', outputs: 1, wires: [[]] },
        { id: `${rx}-db-catch`, z: tab, type: 'catch', scope: [`${rx}-db`], uncaught: false, wires: [[`${rx}-ack`]] },
        { id: `${rx}-ack`, z: tab, type: 'health-ack', name: '', wires: [[`${rx}-acked`]] },
        sink('acked'),
      );
      break;
    case 'never-answer':
      nodes.push(sink('readings'), sink('events'));
      break;
  }
  return placed(nodes);
}

/** Gives flow nodes a position: Node-RED treats a node without x/y as a config node. */
export function placed(nodes: object[]): object[] {
  return nodes.map((node, index) =>
    (node as { type: string }).type === 'tab' ? node : { x: 200, y: 40 + 40 * index, ...node },
  );
}

/**
 * An action node as a user wires it: a test-source ("<id>/in") into the node, its output into a
 * test sink ("<id>/out"), and a Catch ("<id>/errors") and Status ("<id>/statuses") scoped to it.
 * `configNodes` (accounts, with `credentials` inline) are deployed with it.
 */
export function actionFlow(node: { id: string; type: string } & Record<string, unknown>, configNodes: object[] = []): object[] {
  const { id } = node;
  const tab = `tab-${id}`;
  const sink = (name: string): object => ({ id: `${id}-${name}`, z: tab, type: 'test-sink', name: `${id}/${name}`, wires: [[]] });
  return [
    ...placed([
      { id: tab, type: 'tab', label: `action ${id}` },
      { id: `${id}-catch`, z: tab, type: 'catch', scope: [id], uncaught: false, wires: [[`${id}-errors`]] },
      sink('errors'),
      { id: `${id}-status`, z: tab, type: 'status', scope: [id], wires: [[`${id}-statuses`]] },
      sink('statuses'),
      { id: `${id}-source`, z: tab, type: 'test-source', name: `${id}/in`, wires: [[id]] },
      { ...node, z: tab, wires: [[`${id}-out`]] },
      sink('out'),
    ]),
    ...configNodes,
  ];
}

/**
 * The delivery end of an outbox as the example and the node help wire it: `req` (core http request,
 * POST to `url`) → `stored` (a switch on msg.statusCode: the http request node sends a 4xx or 5xx
 * on like any answer, only a lost connection is an error) → `ack`, a refusal through `refused`
 * (msg.error = "<who> answered <status>"), and a Catch `failed` on `req` → `ack`.
 */
export function httpDelivery(tab: string, url: string, who: string): object[] {
  return [
    {
      id: 'req', z: tab, type: 'http request', name: '', method: 'POST', ret: 'obj', paytoqs: 'ignore', url,
      tls: '', persist: false, proxy: '', insecureHTTPParser: false, authType: '', senderr: true, headers: [], wires: [['stored']],
    },
    {
      id: 'stored', z: tab, type: 'switch', name: '', property: 'statusCode', propertyType: 'msg',
      rules: [{ t: 'btwn', v: '200', vt: 'num', v2: '299', v2t: 'num' }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2, wires: [['ack'], ['refused']],
    },
    {
      id: 'refused', z: tab, type: 'change', name: '', rules: [{ t: 'set', p: 'error', pt: 'msg', to: `{"message": "${who} answered " & statusCode}`, tot: 'jsonata' }],
      action: '', property: '', from: '', to: '', reg: false, wires: [['ack']],
    },
    { id: 'failed', z: tab, type: 'catch', name: '', scope: ['req'], uncaught: false, wires: [['ack']] },
    { id: 'ack', z: tab, type: 'health-ack', name: '', wires: [[]] },
  ];
}
