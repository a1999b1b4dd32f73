/**
 * IP addresses and CIDR prefixes as Go parses them (`net/netip.ParseAddr`, `ParsePrefix`; `net.ParseIP` for the
 * OpenAPI `ipv4`/`ipv6` formats), shared by the schema formats and the CEL IP/CIDR libraries.
 */

/** An address: 4 or 16 bytes. */
export type IpBytes = Uint8Array;

/** Dotted decimal, four parts, no leading zeros (rejected by Go since 1.17). */
export function parseIPv4(text: string): IpBytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

/** RFC 4291 text: groups of up to 4 hex digits, at most one `::`, an optional trailing dotted IPv4. No zone. */
export function parseIPv6(text: string): IpBytes | undefined {
  if (!text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && halves[0].includes('.')) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

export const parseIP = (text: string): IpBytes | undefined => (text.includes(':') ? parseIPv6(text) : parseIPv4(text));

/** True for an IPv6 address of the form ::ffff:a.b.c.d. */
export const isIPv4Mapped = (ip: IpBytes): boolean =>
  ip.length === 16 && ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;

/** The canonical text of an address (RFC 5952 for IPv6, as Go's netip.Addr.String prints it). */
export function formatIP(ip: IpBytes): string {
  if (ip.length === 4) return ip.join('.');
  if (isIPv4Mapped(ip)) return `::ffff:${ip.slice(12).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => (ip[2 * i] << 8) | ip[2 * i + 1]);
  // The longest run of two or more zero groups, the first one on a tie, becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  return bestStart < 0
    ? hex(groups)
    : `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** A prefix: address and prefix length; the address keeps its host bits, as netip.Prefix does. */
export interface Prefix {
  readonly ip: IpBytes;
  readonly bits: number;
}

export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9]\d*)$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  return bits <= ip.length * 8 ? { ip, bits } : undefined;
}

export const formatPrefix = (p: Prefix): string => `${formatIP(p.ip)}/${p.bits}`;

/** The prefix's address with the host bits cleared. */
export function maskIP(ip: IpBytes, bits: number): IpBytes {
  const out = new Uint8Array(ip);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

export const sameBytes = (a: IpBytes, b: IpBytes): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

export const prefixContains = (p: Prefix, ip: IpBytes): boolean =>
  ip.length === p.ip.length && sameBytes(maskIP(p.ip, p.bits), maskIP(ip, p.bits));
