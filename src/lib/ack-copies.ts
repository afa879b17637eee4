import { fork } from './ack-registry';
import { FORMATS } from './formats';

/**
 * Counting the copies of an `ack: flow` message. Node-RED clones a message once per extra wire of
 * an output; without counting, the first copy to reach health-ack would answer the vendor while a
 * second branch (FHIR and HL7 side by side) still fails. The copy counter sees each send before
 * Node-RED clones (its `onSend` hook, src/nodes/ack-copies.ts) and gives every copy that can reach
 * health-ack or an outbox an id of its own, which the push's answer then waits for (ack-registry.ts
 * `fork`).
 *
 * "Can reach" is read off the deployed flows: a node reaches the answer when health-ack or
 * health-outbox lies downstream of it along wires, link out → link in, a static link call (into
 * its targets, and out of its own output with the answer), or a Complete node scoped to it (which
 * passes the message on once the node is done). A Catch node is not a path here: it carries a
 * failure, never the success, so a branch whose only way to health-ack is a Catch node cannot be
 * awaited (it would time out on every success); a failure it carries still fails the push while
 * it waits. What the counter cannot see (the inside of a subflow instance, a link call whose
 * target comes with the message) is left as it was, and named in a warning at deploy.
 *
 * Nothing here imports Node-RED: flows are the node objects of the deployed configuration.
 */

/** A node of the deployed configuration, as far as the graph needs it. */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  g?: string;
  name?: string;
  /** A disabled node (`d`), or a disabled tab (`disabled`). */
  d?: boolean;
  disabled?: boolean;
  wires?: unknown;
  /** link out / link call: the link in nodes it sends to. */
  links?: unknown;
  /** link out: `link` (to its links) or `return` (back to the link call that called). */
  mode?: string;
  /** link call: `static` or `dynamic` (the target comes with the message). */
  linkType?: string;
  /** complete / catch: the node ids, `group`, or none (the whole tab). */
  scope?: unknown;
  [property: string]: unknown;
}

/** The nodes that end a copy's way toward the vendor's answer: it is counted there (health-ack), or stored and counted there (an outbox). */
export const ANSWER_NODE_TYPES: ReadonlySet<string> = new Set(['health-ack', 'health-outbox']);

/** Why the copies past a node cannot be counted. */
export interface Obstacle {
  kind: 'subflow' | 'dynamic-link-call';
  id: string;
  /** The node's name, else its subflow's name, else its id. */
  name: string;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const wiresOf = (node: FlowNode): string[] => (Array.isArray(node.wires) ? node.wires.flatMap(strings) : []);
const isSubflowInstance = (node: FlowNode): boolean => node.type.startsWith('subflow:');

/** The deployed flows as paths toward the vendor's answer: which nodes lie upstream of health-ack or an outbox. */
export class AnswerPaths {
  private readonly nodes = new Map<string, FlowNode>();
  private readonly next = new Map<string, string[]>();
  private readonly reaching = new Set<string>();
  /** Disabled nodes (or on a disabled tab): Node-RED drops what is sent to them. */
  private readonly disabled = new Set<string>();

  constructor(config: readonly FlowNode[]) {
    const disabledTabs = new Set(config.filter((n) => n.type === 'tab' && n.disabled === true).map((n) => n.id));
    const known = config.filter((n) => typeof n.id === 'string' && typeof n.type === 'string');
    const live = known.filter((n) => n.d !== true && !(n.z && disabledTabs.has(n.z)));
    for (const node of known) if (!live.includes(node)) this.disabled.add(node.id);
    for (const node of live) this.nodes.set(node.id, node);

    const edge = (from: string, to: string): void => {
      if (!this.nodes.has(to)) return;
      const list = this.next.get(from);
      if (list) list.push(to);
      else this.next.set(from, [to]);
    };
    for (const node of live) {
      if (ANSWER_NODE_TYPES.has(node.type)) continue; // a copy's way ends here
      for (const target of wiresOf(node)) edge(node.id, target);
      if ((node.type === 'link out' && node.mode !== 'return') || (node.type === 'link call' && node.linkType !== 'dynamic')) {
        for (const target of strings(node.links)) edge(node.id, target);
      }
      // a link in may name the link outs that send to it, as well as the other way round
      if (node.type === 'link in') {
        for (const source of strings(node.links)) {
          const linkOut = this.nodes.get(source);
          if (linkOut?.type === 'link out' && linkOut.mode !== 'return' && !strings(linkOut.links).includes(node.id)) edge(source, node.id);
        }
      }
      if (node.type === 'complete') {
        for (const member of this.scopeOf(node, live)) edge(member, node.id);
      }
    }

    // every node from which health-ack or an outbox lies downstream: backwards from those
    const previous = new Map<string, string[]>();
    for (const [from, targets] of this.next) {
      for (const to of targets) {
        const list = previous.get(to);
        if (list) list.push(from);
        else previous.set(to, [from]);
      }
    }
    const queue = live.filter((n) => ANSWER_NODE_TYPES.has(n.type)).map((n) => n.id);
    for (const id of queue) this.reaching.add(id);
    while (queue.length > 0) {
      for (const from of previous.get(queue.pop()!) ?? []) {
        if (this.reaching.has(from)) continue;
        this.reaching.add(from);
        queue.push(from);
      }
    }
  }

  /**
   * Whether a copy sent to node `id` can reach health-ack or an outbox; undefined where the graph
   * cannot tell: a subflow instance, or a node it does not know (inside a subflow instance, whose
   * nodes get new ids at run time).
   */
  reaches(id: string): boolean | undefined {
    if (this.disabled.has(id)) return false;
    const node = this.nodes.get(id);
    if (!node || isSubflowInstance(node)) return undefined;
    return this.reaching.has(id);
  }

  /**
   * What lies downstream of node `id` (a receiver) whose copies cannot be counted, up to
   * health-ack or an outbox (past an outbox its deliveries are settled on their own).
   */
  obstacles(id: string): Obstacle[] {
    const found: Obstacle[] = [];
    const seen = new Set<string>([id]);
    const queue = [...(this.next.get(id) ?? [])];
    while (queue.length > 0) {
      const current = queue.shift()!;
      if (seen.has(current)) continue;
      seen.add(current);
      const node = this.nodes.get(current);
      if (!node) continue;
      if (isSubflowInstance(node)) {
        const definition = this.nodes.get(node.type.slice('subflow:'.length));
        found.push({ kind: 'subflow', id: node.id, name: node.name || definition?.name || node.id });
      } else if (node.type === 'link call' && node.linkType === 'dynamic') {
        found.push({ kind: 'dynamic-link-call', id: node.id, name: node.name || node.id });
      }
      queue.push(...(this.next.get(current) ?? []));
    }
    return found;
  }

  /** The nodes a Complete (or Catch) node listens to: its list, its group, or its whole tab. */
  private scopeOf(node: FlowNode, live: readonly FlowNode[]): string[] {
    if (Array.isArray(node.scope)) return strings(node.scope);
    if (node.scope === 'group') return node.g ? live.filter((n) => n.g === node.g && n.id !== node.id).map((n) => n.id) : [];
    return live.filter((n) => n.z === node.z && n.id !== node.id && n.type !== 'tab').map((n) => n.id);
  }
}

/** One entry of a node's send, as Node-RED's `onSend` hook hands it over (before any clone). */
export interface SendEvent {
  msg: Record<string, unknown>;
  destination: { id: string };
  cloneMessage: boolean;
}

/**
 * Gives each copy of an `ack: flow` message in one send an id of its own where the message forks
 * (one output wired to several nodes) and a copy can reach health-ack or an outbox. Node-RED delivers
 * the message object itself to the first destination and clones it for the others; here every
 * copy whose id changes is cloned at once with its new id (and not cloned again by Node-RED), and
 * the original object takes the id of its own copy last. A send the graph cannot read (a subflow
 * on a branch, an unknown node) is left as it was.
 */
export function countCopies(
  events: SendEvent[],
  reaches: (id: string) => boolean | undefined,
  clone: <T extends Record<string, unknown>>(message: T) => T,
): void {
  if (events.length < 2) return;
  const groups = new Map<Record<string, unknown>, SendEvent[]>();
  for (const event of events) {
    if (typeof event.msg?._ack !== 'string') continue;
    const group = groups.get(event.msg);
    if (group) group.push(event);
    else groups.set(event.msg, [event]);
  }
  for (const [original, group] of groups) {
    if (group.length < 2) continue;
    const flags = group.map((event) => reaches(event.destination.id));
    if (flags.some((flag) => flag === undefined)) continue;
    const ids = fork(original._ack as string, flags as boolean[]);
    if (!ids) continue;
    const owner = group.findIndex((event) => !event.cloneMessage);
    group.forEach((event, index) => {
      if (index === owner) return;
      const copy = clone(original);
      copy._ack = ids[index];
      event.msg = copy;
      event.cloneMessage = false;
    });
    if (owner >= 0) original._ack = ids[owner];
  }
}

/** The node types whose failures may be not retryable (a reading no format can file). */
const MAPPING_TYPES: ReadonlySet<string> = new Set(Object.values(FORMATS).map((format) => format.nodeType));

/**
 * Catch nodes wired straight into a `health-ack` that hear a mapping node: health-ack answers a
 * failure no retry can mend (`no-patient`) with success, trusting the flow to have kept the
 * message on the way; straight from the Catch node it is kept nowhere. One entry per such pair.
 */
export function catchesStraightToAck(flows: readonly FlowNode[]): Array<{ healthAckId: string; catchName: string }> {
  const byId = new Map(flows.map((node) => [node.id, node]));
  const enabled = (node: FlowNode | undefined): node is FlowNode => node !== undefined && node.d !== true;
  const found: Array<{ healthAckId: string; catchName: string }> = [];
  for (const node of flows) {
    if (node.type !== 'catch' || !enabled(node)) continue;
    const { scope } = node;
    // no scope: every node of its tab (or group) hears it
    const heard = Array.isArray(scope)
      ? scope.some((id) => MAPPING_TYPES.has(byId.get(String(id))?.type ?? ''))
      : flows.some((other) => MAPPING_TYPES.has(other.type) && other.z === node.z && (node.g === undefined || other.g === node.g));
    if (!heard) continue;
    const targets = Array.isArray(node.wires) ? (node.wires as unknown[]).flat() : [];
    for (const target of targets) {
      const healthAck = byId.get(String(target));
      if (enabled(healthAck) && healthAck.type === 'health-ack') found.push({ healthAckId: healthAck.id, catchName: node.name || node.id });
    }
  }
  return found;
}

/**
 * Core `http request` nodes wired straight into a `health-ack`: the request node answers a
 * hospital's refusal (503, 400) with `msg.statusCode` and no error, so health-ack counts it as
 * delivered and the vendor, or the outbox, never tries again. Between them belongs a switch on
 * `msg.statusCode` that sets `msg.error` for anything but 2xx (examples/hospital-bridge.json).
 */
export function httpRequestsStraightToAck(flows: readonly FlowNode[]): Array<{ healthAckId: string; requestName: string }> {
  const byId = new Map(flows.map((node) => [node.id, node]));
  const found: Array<{ healthAckId: string; requestName: string }> = [];
  for (const node of flows) {
    if (node.type !== 'http request' || node.d === true) continue;
    const targets = Array.isArray(node.wires) ? (node.wires as unknown[]).flat() : [];
    for (const target of targets) {
      const healthAck = byId.get(String(target));
      if (healthAck && healthAck.d !== true && healthAck.type === 'health-ack') found.push({ healthAckId: healthAck.id, requestName: node.name || node.id });
    }
  }
  return found;
}
