/**
 * The Kubernetes CEL libraries @bufbuild/cel does not have, with the Kubernetes minor version each joined the API
 * server's CEL environment (k8s.io/apiserver pkg/cel/environment/base.go at v0.32.0: URLs, Regex, Lists from the
 * start; Quantity and optional types 1.28; cel-go Sets and strings v2 1.29; IP and CIDR 1.30; Format 1.31; two-variable
 * comprehensions 1.32). Semantics follow pkg/cel/library/*.go; the standard functions, macros and cel-go's strings
 * extension come from @bufbuild/cel and @bufbuild/cel/ext.
 */
import {
  CelScalar,
  celEnv,
  celFunc,
  celMethod,
  isCelError,
  listType,
  mapType,
  parse,
  plan,
  type CelFunc,
  type CelValue,
} from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import {
  formatIP,
  formatPrefix,
  isIPv4Mapped,
  maskIP,
  parseIP,
  parsePrefix,
  prefixContains,
  type IpBytes,
  type Prefix,
} from '../net';
import {
  addRational,
  compareRational,
  formatRational,
  normalize,
  parseQuantity,
  parseRational,
  type Rational,
} from 'grpc-k8s-lb-common';
import { isBase64, isDate, isDateTime, isUri, isUuid } from '../formats';
import { asPrefix, dns1035Label, dns1123Label, dns1123Subdomain, labelValue, qualifiedName } from 'grpc-k8s-lb-common';
import { escapedPath, hostname, parseRequestUri, port, queryValues, type RequestUri } from './request-uri';
import { CIDR_TYPE, FORMAT_TYPE, IP_TYPE, OPTIONAL_FORMAT, OPTIONAL_STRINGS, QUANTITY_TYPE, URL_TYPE } from './types';

const { STRING, BOOL, INT, DOUBLE, DYN } = CelScalar;
const LIST = listType(DYN);

/** A library: the Kubernetes minor version that added it, the names it declares and their implementations. */
export interface Library {
  readonly name: string;
  /** Kubernetes 1.x where the library entered the API server's environment. */
  readonly sinceMinor: number;
  /** Function and method names the library declares (namespaced names in full, e.g. `ip.isCanonical`). */
  readonly names: readonly string[];
  readonly funcs: readonly CelFunc[];
}

// CEL's own operators, for list functions that compare elements exactly as `==` and `<` do.
const operators = celEnv();
const binary = (expr: string) => {
  const run = plan(operators, parse(expr));
  return (a: CelValue, b: CelValue): CelValue => {
    const result = run({ a, b } as never);
    if (isCelError(result)) throw result;
    return result;
  };
};
const celEquals = binary('a == b');
const celLess = binary('a < b');
const celAdd = binary('a + b');

// --- URLs (all versions) ---
function toUrl(text: string): object {
  const parsed = parseRequestUri(text);
  if (parsed instanceof Error) throw new Error(`URL parse error during conversion from string: ${parsed.message}`);
  return URL_TYPE.make(text);
}
const urlOf = (value: ReflectMessage): RequestUri => parseRequestUri(URL_TYPE.text(value)) as RequestUri;
const urlMethod = (name: string, read: (u: RequestUri) => string) =>
  celMethod(name, URL_TYPE.type, [], STRING, function () {
    return read(urlOf(this as unknown as ReflectMessage));
  });
const urls: Library = {
  name: 'URLs',
  sinceMinor: 0,
  names: ['url', 'isURL', 'getScheme', 'getHost', 'getHostname', 'getPort', 'getEscapedPath', 'getQuery'],
  funcs: [
    celFunc('url', [STRING], URL_TYPE.type, (s) => toUrl(s) as never),
    celFunc('isURL', [STRING], BOOL, (s) => !(parseRequestUri(s) instanceof Error)),
    urlMethod('getScheme', (u) => u.scheme),
    urlMethod('getHost', (u) => u.host),
    urlMethod('getHostname', (u) => hostname(u.host)),
    urlMethod('getPort', (u) => port(u.host)),
    urlMethod('getEscapedPath', escapedPath),
    celMethod('getQuery', URL_TYPE.type, [], mapType(STRING, listType(STRING)), function () {
      return queryValues(urlOf(this as unknown as ReflectMessage).rawQuery);
    }),
  ],
};

// --- Regex (all versions): find and findAll need match positions, which @bufbuild/re2 does not give. The pattern is
// checked as RE2 first, then run as an ECMAScript RegExp; RE2 syntax without an equivalent is an error, not a guess.
const jsRegexCache = new Map<string, RegExp>();
function jsRegex(pattern: string): RegExp {
  let re = jsRegexCache.get(pattern);
  if (!re) {
    new RE2JS(pattern);
    const flags = /^\(\?([ims]+)\)/.exec(pattern);
    const body = flags ? pattern.slice(flags[0].length) : pattern;
    if (/\(\?[a-zA-Z-]*[):]|\\[AzCpP]|\[\[:/.test(body))
      throw new Error(`regex ${JSON.stringify(pattern)} uses RE2 syntax this evaluator cannot run for find/findAll`);
    re = new RegExp(body, `gu${flags?.[1] ?? ''}`);
    jsRegexCache.set(pattern, re);
  }
  re.lastIndex = 0;
  return re;
}
function findAll(text: string, pattern: string, limit: bigint): string[] {
  const matches = [...text.matchAll(jsRegex(pattern))].map((m) => m[0]);
  return limit < 0n ? matches : matches.slice(0, Number(limit));
}
const regex: Library = {
  name: 'Regex',
  sinceMinor: 0,
  names: ['find', 'findAll'],
  funcs: [
    celMethod('find', STRING, [STRING], STRING, function (pattern) {
      return findAll(this as string, pattern, 1n)[0] ?? '';
    }),
    celMethod('findAll', STRING, [STRING], listType(STRING), function (pattern) {
      return findAll(this as string, pattern, -1n);
    }),
    celMethod('findAll', STRING, [STRING, INT], listType(STRING), function (pattern, limit) {
      return findAll(this as string, pattern, limit);
    }),
  ],
};

// --- Lists (all versions) ---
const elements = (list: unknown): CelValue[] => [...(list as Iterable<CelValue>)];
function extreme(list: unknown, pick: (a: CelValue, b: CelValue) => boolean): CelValue {
  const all = elements(list);
  if (all.length === 0) throw new Error('min/max called on empty list');
  return all.reduce((best, next) => (pick(next, best) ? next : best));
}
const lists: Library = {
  name: 'Lists',
  sinceMinor: 0,
  names: ['isSorted', 'sum', 'min', 'max', 'indexOf', 'lastIndexOf'],
  funcs: [
    celMethod('isSorted', LIST, [], BOOL, function () {
      const all = elements(this);
      return all.every((value, i) => i === 0 || celLess(value, all[i - 1]) !== true);
    }),
    celMethod('sum', LIST, [], DYN, function () {
      const all = elements(this);
      // The sum of an empty list is the zero of its element type; untyped here, so int 0.
      return (all.length === 0 ? 0n : all.reduce((a, b) => celAdd(a, b))) as never;
    }),
    celMethod('min', LIST, [], DYN, function () {
      return extreme(this, (a, b) => celLess(a, b) === true) as never;
    }),
    celMethod('max', LIST, [], DYN, function () {
      return extreme(this, (a, b) => celLess(b, a) === true) as never;
    }),
    celMethod('indexOf', LIST, [DYN], INT, function (value) {
      return BigInt(elements(this).findIndex((e) => celEquals(e, value) === true));
    }),
    celMethod('lastIndexOf', LIST, [DYN], INT, function (value) {
      const all = elements(this);
      for (let i = all.length - 1; i >= 0; i--) if (celEquals(all[i], value) === true) return BigInt(i);
      return -1n;
    }),
  ],
};

// --- Quantity (1.28) ---
function toQuantity(text: string): object {
  const value = parseQuantity(text);
  if (!value)
    throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  return QUANTITY_TYPE.make(formatRational(value));
}
const rationalOf = (value: unknown): Rational => parseRational(QUANTITY_TYPE.text(value as ReflectMessage));
const quantityOf = (r: Rational) => QUANTITY_TYPE.make(formatRational(r)) as never;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const isInt64 = (r: Rational) => r.den === 1n && r.num <= INT64_MAX && r.num >= INT64_MIN;
const sign = (r: Rational) => BigInt(compareRational(r, { num: 0n, den: 1n }));
const Q = QUANTITY_TYPE.type;
const quantity: Library = {
  name: 'Quantity',
  sinceMinor: 28,
  names: [
    'quantity',
    'isQuantity',
    'sign',
    'isGreaterThan',
    'isLessThan',
    'compareTo',
    'asApproximateFloat',
    'asInteger',
    'isInteger',
    'add',
    'sub',
  ],
  funcs: [
    celFunc('quantity', [STRING], Q, (s) => toQuantity(s) as never),
    celFunc('isQuantity', [STRING], BOOL, (s) => parseQuantity(s) !== undefined),
    // Declared as a global overload in quantity.go, documented as a method: both spellings.
    celFunc('sign', [Q], INT, (q) => sign(rationalOf(q))),
    celMethod('sign', Q, [], INT, function () {
      return sign(rationalOf(this));
    }),
    celMethod('isGreaterThan', Q, [Q], BOOL, function (other) {
      return compareRational(rationalOf(this), rationalOf(other)) > 0;
    }),
    celMethod('isLessThan', Q, [Q], BOOL, function (other) {
      return compareRational(rationalOf(this), rationalOf(other)) < 0;
    }),
    celMethod('compareTo', Q, [Q], INT, function (other) {
      return BigInt(compareRational(rationalOf(this), rationalOf(other)));
    }),
    celMethod('asApproximateFloat', Q, [], DOUBLE, function () {
      const r = rationalOf(this);
      return Number(r.num) / Number(r.den);
    }),
    celMethod('asInteger', Q, [], INT, function () {
      const r = rationalOf(this);
      if (!isInt64(r)) throw new Error('cannot convert value to integer');
      return r.num;
    }),
    celMethod('isInteger', Q, [], BOOL, function () {
      return isInt64(rationalOf(this));
    }),
    celMethod('add', Q, [Q], Q, function (other) {
      return quantityOf(addRational(rationalOf(this), rationalOf(other)));
    }),
    celMethod('add', Q, [INT], Q, function (other) {
      return quantityOf(addRational(rationalOf(this), { num: other, den: 1n }));
    }),
    celMethod('sub', Q, [Q], Q, function (other) {
      const r = rationalOf(other);
      return quantityOf(addRational(rationalOf(this), normalize(-r.num, r.den)));
    }),
    celMethod('sub', Q, [INT], Q, function (other) {
      return quantityOf(addRational(rationalOf(this), { num: -other, den: 1n }));
    }),
  ],
};

// --- Sets (cel-go ext.Sets, 1.29) ---
const containsAll = (list: unknown, sub: unknown) =>
  elements(sub).every((s) => elements(list).some((e) => celEquals(e, s) === true));
const sets: Library = {
  name: 'Sets',
  sinceMinor: 29,
  names: ['sets.contains', 'sets.equivalent', 'sets.intersects'],
  funcs: [
    celFunc('sets.contains', [LIST, LIST], BOOL, (a, b) => containsAll(a, b)),
    celFunc('sets.equivalent', [LIST, LIST], BOOL, (a, b) => containsAll(a, b) && containsAll(b, a)),
    celFunc('sets.intersects', [LIST, LIST], BOOL, (a, b) =>
      elements(b).some((s) => elements(a).some((e) => celEquals(e, s) === true)),
    ),
  ],
};

// --- IP and CIDR (1.30): netip parsing; zones and IPv4-mapped IPv6 addresses are rejected (pkg/cel/library/ip.go).
function ipFrom(text: string): IpBytes {
  if (text.includes('%')) throw new Error(`IP address with zone value is not allowed: ${text}`);
  const ip = parseIP(text);
  if (!ip)
    throw new Error(
      `IP Address "${text}" parse error during conversion from string: ParseAddr(${JSON.stringify(text)}): unable to parse IP`,
    );
  if (isIPv4Mapped(ip)) throw new Error(`IPv4-mapped IPv6 address "${text}" is not allowed`);
  return ip;
}
function prefixFrom(text: string): Prefix {
  if (text.includes('%')) throw new Error(`CIDR with zone value is not allowed: ${text}`);
  const prefix = parsePrefix(text);
  if (!prefix)
    throw new Error(
      `network address parse error during conversion from string: netip.ParsePrefix(${JSON.stringify(text)}): invalid prefix`,
    );
  if (isIPv4Mapped(prefix.ip)) throw new Error(`IPv4-mapped IPv6 address "${text}" is not allowed`);
  return prefix;
}
const succeeds = (f: () => unknown) => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};
const ipOf = (value: unknown) => parseIP(IP_TYPE.text(value as ReflectMessage))!;
const prefixOf = (value: unknown) => parsePrefix(CIDR_TYPE.text(value as ReflectMessage))!;
const IPT = IP_TYPE.type;
const CIDRT = CIDR_TYPE.type;
const startsWith = (ip: IpBytes, prefix: string) => prefixContains(prefixFrom(prefix), ip);
const ipPredicate = (name: string, test: (ip: IpBytes) => boolean) =>
  celMethod(name, IPT, [], BOOL, function () {
    return test(ipOf(this));
  });
const isLoopback = (ip: IpBytes) => (ip.length === 4 ? ip[0] === 127 : startsWith(ip, '::1/128'));
const isUnspecified = (ip: IpBytes) => ip.every((b) => b === 0);
const isMulticast = (ip: IpBytes) => (ip.length === 4 ? startsWith(ip, '224.0.0.0/4') : ip[0] === 0xff);
const isLinkLocalUnicast = (ip: IpBytes) =>
  ip.length === 4 ? startsWith(ip, '169.254.0.0/16') : startsWith(ip, 'fe80::/10');
const ipAndCidr: Library = {
  name: 'IP and CIDR',
  sinceMinor: 30,
  names: [
    'ip',
    'isIP',
    'ip.isCanonical',
    'family',
    'isUnspecified',
    'isLoopback',
    'isLinkLocalMulticast',
    'isLinkLocalUnicast',
    'isGlobalUnicast',
    'cidr',
    'isCIDR',
    'containsIP',
    'containsCIDR',
    'prefixLength',
    'masked',
  ],
  funcs: [
    celFunc('ip', [STRING], IPT, (s) => IP_TYPE.make(formatIP(ipFrom(s))) as never),
    celFunc('isIP', [STRING], BOOL, (s) => succeeds(() => ipFrom(s))),
    celFunc('ip.isCanonical', [STRING], BOOL, (s) => formatIP(ipFrom(s)) === s),
    celFunc('string', [IPT], STRING, (ip) => IP_TYPE.text(ip as unknown as ReflectMessage)),
    celMethod('family', IPT, [], INT, function () {
      return ipOf(this).length === 4 ? 4n : 6n;
    }),
    ipPredicate('isUnspecified', isUnspecified),
    ipPredicate('isLoopback', isLoopback),
    ipPredicate('isLinkLocalMulticast', (ip) =>
      ip.length === 4 ? startsWith(ip, '224.0.0.0/24') : ip[0] === 0xff && (ip[1] & 0x0f) === 0x02,
    ),
    ipPredicate('isLinkLocalUnicast', isLinkLocalUnicast),
    ipPredicate(
      'isGlobalUnicast',
      (ip) =>
        !isUnspecified(ip) &&
        !isLoopback(ip) &&
        !isMulticast(ip) &&
        !isLinkLocalUnicast(ip) &&
        !(ip.length === 4 && ip.every((b) => b === 255)),
    ),
    celFunc('cidr', [STRING], CIDRT, (s) => CIDR_TYPE.make(formatPrefix(prefixFrom(s))) as never),
    celFunc('isCIDR', [STRING], BOOL, (s) => succeeds(() => prefixFrom(s))),
    celFunc('string', [CIDRT], STRING, (c) => CIDR_TYPE.text(c as unknown as ReflectMessage)),
    celMethod('containsIP', CIDRT, [STRING], BOOL, function (ip) {
      return prefixContains(prefixOf(this), ipFrom(ip));
    }),
    celMethod('containsIP', CIDRT, [IPT], BOOL, function (ip) {
      return prefixContains(prefixOf(this), ipOf(ip));
    }),
    celMethod('containsCIDR', CIDRT, [STRING], BOOL, function (other) {
      const [p, o] = [prefixOf(this), prefixFrom(other)];
      return p.bits <= o.bits && prefixContains(p, o.ip);
    }),
    celMethod('containsCIDR', CIDRT, [CIDRT], BOOL, function (other) {
      const [p, o] = [prefixOf(this), prefixOf(other)];
      return p.bits <= o.bits && prefixContains(p, o.ip);
    }),
    celMethod('ip', CIDRT, [], IPT, function () {
      return IP_TYPE.make(formatIP(prefixOf(this).ip)) as never;
    }),
    celMethod('prefixLength', CIDRT, [], INT, function () {
      return BigInt(prefixOf(this).bits);
    }),
    celMethod('masked', CIDRT, [], CIDRT, function () {
      const p = prefixOf(this);
      return CIDR_TYPE.make(formatPrefix({ ip: maskIP(p.ip, p.bits), bits: p.bits })) as never;
    }),
  ],
};

// --- Format (1.31): named string formats, validate() returning the errors or none (pkg/cel/library/format.go).
const check = (ok: (s: string) => boolean, message: string) => (s: string) => (ok(s) ? [] : [message]);
const FORMATS: Record<string, (value: string) => string[]> = {
  dns1123Label,
  dns1123Subdomain,
  dns1035Label,
  qualifiedName,
  dns1123LabelPrefix: asPrefix(dns1123Label),
  dns1123SubdomainPrefix: asPrefix(dns1123Subdomain),
  dns1035LabelPrefix: asPrefix(dns1035Label),
  labelValue,
  uri: check(isUri, 'invalid URI'),
  uuid: check(isUuid, 'does not match the UUID format'),
  byte: check(isBase64, 'invalid base64'),
  date: check(isDate, 'invalid date'),
  datetime: check(isDateTime, 'invalid datetime'),
};
const F = FORMAT_TYPE.type;
const format: Library = {
  name: 'Format',
  sinceMinor: 31,
  names: [
    'format.named',
    'validate',
    'hasValue',
    'value',
    'orValue',
    ...Object.keys(FORMATS).map((name) => `format.${name}`),
  ],
  funcs: [
    celFunc(
      'format.named',
      [STRING],
      OPTIONAL_FORMAT.type,
      (name) => (name in FORMATS ? OPTIONAL_FORMAT.some(name) : OPTIONAL_FORMAT.none()) as never,
    ),
    ...Object.keys(FORMATS).map((name) => celFunc(`format.${name}`, [], F, () => FORMAT_TYPE.make(name) as never)),
    celMethod('validate', F, [STRING], OPTIONAL_STRINGS.type, function (value) {
      const errors = FORMATS[FORMAT_TYPE.text(this as unknown as ReflectMessage)](value);
      return (errors.length ? OPTIONAL_STRINGS.some(errors) : OPTIONAL_STRINGS.none()) as never;
    }),
    ...[OPTIONAL_STRINGS, OPTIONAL_FORMAT].flatMap((opt) => {
      const unwrap = (o: ReflectMessage) =>
        opt === OPTIONAL_FORMAT ? FORMAT_TYPE.make(opt.value(o) as string) : [...(opt.value(o) as Iterable<string>)];
      return [
        celMethod('hasValue', opt.type, [], BOOL, function () {
          return opt.hasValue(this as unknown as ReflectMessage);
        }),
        celMethod('value', opt.type, [], DYN, function () {
          const o = this as unknown as ReflectMessage;
          if (!opt.hasValue(o)) throw new Error('optional.none() dereference');
          return unwrap(o) as never;
        }),
        celMethod('orValue', opt.type, [DYN], DYN, function (fallback) {
          const o = this as unknown as ReflectMessage;
          return (opt.hasValue(o) ? unwrap(o) : fallback) as never;
        }),
      ];
    }),
  ],
};

export const KUBERNETES_LIBRARIES: readonly Library[] = [urls, regex, lists, quantity, sets, ipAndCidr, format];

/**
 * Names from @bufbuild/cel's strings extension that Kubernetes adds later than the rest: cel-go's strings v1
 * (`format`, `strings.quote`) arrives with strings v2 in 1.29; before, the API server has strings v0.
 */
export const LATER_STANDARD_NAMES: readonly Library[] = [
  { name: 'strings v2', sinceMinor: 29, names: ['format', 'strings.quote'], funcs: [] },
];
