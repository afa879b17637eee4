import { vendorOfReceiver, type Vendor } from '../vendors/manifest';

/**
 * Which receivers feed a health-patient node, and which of them hide what its rows are matched
 * by: a Viatom receiver whose `pii` policy is not `keep` masks, hashes or removes the phone of an
 * authorization (so no `phone` row can bind its member), and one that pseudonymizes or drops
 * turns the vendor's ids (userId, member_id, …) into other values or removes them. Read from the
 * deployed flow configuration: wires and link nodes are followed upstream; what a subflow does
 * inside is not.
 */

export interface FlowNodeConfig {
  id: string;
  type: string;
  name?: unknown;
  wires?: unknown;
  links?: unknown;
  pii?: unknown;
}

export interface HidingReceiver {
  id: string;
  type: string;
  name: string;
  vendor: Vendor;
  pii: string;
}

/** The receivers upstream of `target` whose pii policy is not `keep` (blank is `keep`). */
export function hidingReceiversUpstream(nodes: readonly FlowNodeConfig[], target: string): HidingReceiver[] {
  const upstream = new Map<string, string[]>();
  const add = (to: string, from: string): void => {
    const list = upstream.get(to);
    if (list) list.push(from);
    else upstream.set(to, [from]);
  };
  const byId = new Map(nodes.map((node) => [node.id, node]));
  for (const node of nodes) {
    if (Array.isArray(node.wires)) {
      for (const port of node.wires) if (Array.isArray(port)) for (const to of port) if (typeof to === 'string') add(to, node.id);
    }
    // a link out names the link ins it sends to (and a link in its link outs): either way, upstream
    if (node.type === 'link out' && Array.isArray(node.links)) for (const to of node.links) if (typeof to === 'string') add(to, node.id);
    if (node.type === 'link in' && Array.isArray(node.links)) for (const from of node.links) if (typeof from === 'string') add(node.id, from);
  }
  const seen = new Set<string>([target]);
  const queue = [target];
  const found: HidingReceiver[] = [];
  while (queue.length) {
    for (const from of upstream.get(queue.shift()!) ?? []) {
      if (seen.has(from)) continue;
      seen.add(from);
      queue.push(from);
      const node = byId.get(from);
      const vendor = node && vendorOfReceiver(node.type);
      if (!node || !vendor) continue;
      const pii = typeof node.pii === 'string' && node.pii.trim() !== '' ? node.pii.trim() : 'keep';
      if (pii !== 'keep') found.push({ id: node.id, type: node.type, name: typeof node.name === 'string' ? node.name : '', vendor, pii });
    }
  }
  return found;
}
