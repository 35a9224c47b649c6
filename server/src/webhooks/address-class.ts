// What kind of IP address a webhook would connect to (PROTOCOL §9): only `public` ones are
// reached without the operator's allow-list, so a hook cannot probe the relay's own network.
// IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by it.

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'invalid';

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;

/** Dotted-decimal IPv4 (four decimal parts, no leading zeros) as its four bytes. */
function parseIpv4(text: string): readonly number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** An IPv6 address (`::` shorthand, an IPv4 tail, a `%zone` ignored) as its 16 bytes. */
export function parseIpv6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  const address = zone < 0 ? text : text.slice(0, zone);
  if (address.length > 45) return null;
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string | undefined): number[] | null => {
    if (half === undefined || half === '') return [];
    const groups: number[] = [];
    const parts = half.split(':');
    for (const [index, part] of parts.entries()) {
      if (index === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === null) return null;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        groups.push(parseInt(part, 16));
      } else {
        return null;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function classifyIpv4([a = 0, b = 0, c = 0, d = 0]: readonly number[]): AddressClass {
  if (a === 0) return a === b && b === c && c === d ? 'unspecified' : 'reserved'; // 0.0.0.0/8
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'shared'; // CGNAT, RFC 6598
  if (a === 169 && b === 254) return 'link-local';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved'; // 240/4 and the broadcast address
  // IETF protocol assignments, documentation nets, benchmarking (RFC 6890): never a receiver.
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'reserved';
  if (a === 198 && (b === 18 || b === 19)) return 'reserved';
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113))
    return 'reserved';
  return 'public';
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, index) => bytes[index] === byte);
}

function classifyIpv6(bytes: Uint8Array): AddressClass {
  const v4At = (offset: number) => classifyIpv4([...bytes.subarray(offset, offset + 4)]);
  const zeros = (count: number) => bytes.subarray(0, count).every((byte) => byte === 0);
  if (zeros(15)) {
    if (bytes[15] === 0) return 'unspecified';
    if (bytes[15] === 1) return 'loopback';
  }
  if (zeros(10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4At(12); // ::ffff:a.b.c.d
  if (zeros(12)) return v4At(12); // ::a.b.c.d (deprecated IPv4-compatible)
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return v4At(12); // NAT64
  if (startsWith(bytes, [0x20, 0x02])) return v4At(2); // 6to4
  const first = bytes[0] ?? 0;
  const second = bytes[1] ?? 0;
  if (first === 0xff) return 'multicast';
  if (first === 0xfe && (second & 0xc0) === 0x80) return 'link-local'; // fe80::/10
  if (first === 0xfe && (second & 0xc0) === 0xc0) return 'private'; // fec0::/10, site-local
  if ((first & 0xfe) === 0xfc) return 'unique-local'; // fc00::/7
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8])) return 'reserved'; // documentation
  if (first === 0 || first === 0x01) return 'reserved'; // the rest of ::/8 and 100::/64
  return 'public';
}

/** The class of an IP address in text (IPv6 with or without brackets); `invalid` if it is none. */
export function classifyAddress(text: string): AddressClass {
  const v4 = parseIpv4(text);
  if (v4 !== null) return classifyIpv4(v4);
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v6 = bare.includes(':') ? parseIpv6(bare) : null;
  return v6 === null ? 'invalid' : classifyIpv6(v6);
}
