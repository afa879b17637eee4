import { BlockList, isIP } from 'node:net';

/**
 * The `allow` property: comma-separated IPv4/IPv6 addresses and CIDRs. Node's BlockList does the
 * matching (including IPv4-mapped IPv6 addresses such as ::ffff:10.0.0.1 against IPv4 rules).
 */
export interface AllowList {
  allows(address: string | undefined): boolean;
}

/** What an empty `allow` parses to: every address (isOpen in receiver/config.ts compares with it). */
export const ANYONE: AllowList = { allows: () => true };

/** Parses the property; throws with the offending entry when one is not an address or CIDR. */
export function parseAllowList(text: string): AllowList {
  const entries = text.split(/[,\s]+/).map((entry) => entry.trim()).filter(Boolean);
  if (entries.length === 0) return ANYONE;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefixText] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`allow: "${entry}" is not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`allow: "${entry}" has an invalid prefix length`);
    }
    list.addSubnet(address, prefix, type);
  }
  return {
    allows(address) {
      if (!address) return false;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
      if (mapped?.[1]) return list.check(mapped[1], 'ipv4');
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
