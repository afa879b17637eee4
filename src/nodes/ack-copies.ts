import { AnswerPaths, countCopies, type FlowNode, type Obstacle, type SendEvent } from '../lib/ack-copies';
import type { NodeRedApi, RuntimeNode } from './node-red';

/**
 * Wires the copy counter (src/lib/ack-copies.ts) into Node-RED: one `onSend` hook per runtime,
 * which sees every send before Node-RED clones the message for its extra wires, and the deployed
 * flows read as each deploy starts. When the flows have started, each receiver in `ack: flow`
 * whose copies cannot all be counted (a subflow, a dynamic link call downstream) says so in one
 * warning. The package's node files share this module, so whichever registers first installs it.
 */

const HOOK = 'onSend.health-bridge';
/** Locale prefix of the strings all receivers share (src/nodes/shared/locales). */
const RECEIVER = 'health-bridge-receiver';

interface Hooks {
  has(id: string): boolean;
  add(id: string, callback: (events: SendEvent[]) => void): void;
}
interface Events {
  on(event: string, listener: (payload: { config?: { flows?: FlowNode[] } }) => void): void;
}
type Runtime = NodeRedApi & { hooks?: Hooks; events?: Events };

interface Installed {
  paths: AnswerPaths | undefined;
  /**
   * The node types that are receivers (they register through registerReceiver), each with its
   * module's translator: Node-RED looks a key up in the namespace of the module that asks.
   */
  receiverTypes: Map<string, NodeRedApi['_']>;
}

/** One per runtime (a process may run several, e.g. the test helper's). */
const installed = new WeakMap<object, Installed>();

function install(RED: Runtime): Installed | undefined {
  const { hooks, events } = RED;
  if (!hooks || !events) return undefined; // a runtime without hooks (a mock): nothing is counted
  const known = installed.get(hooks);
  if (known) return known;
  const state: Installed = { paths: undefined, receiverTypes: new Map() };
  installed.set(hooks, state);
  // another copy of this package in the same runtime (two user directories' worth of modules)
  // counts already: counting twice would fork each copy twice
  if (hooks.has(HOOK)) return state;

  const reaches = (id: string): boolean | undefined => state.paths?.reaches(id);
  hooks.add(HOOK, (sendEvents) => {
    // never let a fault here stop a message: Node-RED would report it as the sender's error
    try {
      countCopies(sendEvents, reaches, (message) => RED.util.cloneMessage(message));
    } catch {
      // the send goes on as Node-RED would send it without the counter
    }
  });
  // the new configuration, before its nodes exist (a push may arrive before `flows:started`)
  events.on('flows:starting', (payload) => {
    state.paths = new AnswerPaths(payload?.config?.flows ?? []);
  });
  events.on('flows:started', (payload) => {
    const flows = payload?.config?.flows ?? [];
    const paths = (state.paths ??= new AnswerPaths(flows));
    for (const node of flows) {
      const translate = state.receiverTypes.get(node.type);
      if (!translate || node.ack !== 'flow' || node.d === true) continue;
      const obstacles = paths.obstacles(node.id);
      if (obstacles.length === 0) continue;
      const receiver = RED.nodes.getNode(node.id) as RuntimeNode | null;
      receiver?.warn(translate(`${RECEIVER}.warn.uncountable`, { obstacles: describe(translate, obstacles) }));
    }
  });
  return state;
}

function describe(translate: NodeRedApi['_'], obstacles: Obstacle[]): string {
  return obstacles.map((o) => translate(`${RECEIVER}.warn.obstacle-${o.kind}`, { name: o.name })).join(', ');
}

/** Counts copies in this runtime from now on (idempotent). */
export function installCopyCounting(RED: NodeRedApi): void {
  install(RED as Runtime);
}

/** Counts copies, and checks the layout after nodes of receiver `type` at each deploy. */
export function watchReceiverType(RED: NodeRedApi, type: string): void {
  install(RED as Runtime)?.receiverTypes.set(type, (key, params) => RED._(key, params));
}
