/**
 * OpenAPI string formats as the API server checks them. apiextensions-apiserver keeps only the formats in its
 * `supportedFormats` list (pkg/apiserver/validation/formats.go; others are stripped, so any value passes) and checks
 * them with kube-openapi's strfmt (pkg/validation/strfmt/default.go). Core definitions use `byte` and `date-time`,
 * which Go's JSON decoding of []byte and metav1.Time enforces the same way.
 */
import { parseIPv4, parseIPv6, parsePrefix } from './net';
import { parseRequestUri } from './cel/request-uri';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID_VERSION: Record<string, RegExp> = {
  uuid3: /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i,
  uuid4: /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i,
  uuid5: /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i,
};
const HOSTNAME_LABEL = /^[a-zA-Z0-9\p{S}\p{L}]([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?$/u;
const MAC =
  /^(?:[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){7}|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){19}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){2}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){3}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){9})$/;
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$/;
// strfmt also accepts "22 ns"-style durations: a number, optional spaces, a unit word.
const SPACED_DURATION =
  /^\d+\s*(ns|us|µs|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)$/;

function validDate(year: string, month: string, day: string): boolean {
  const [y, m, d] = [Number(year), Number(month), Number(day)];
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

// Go's base64 decoder skips line breaks (encoding/base64 Encoding.Decode: "New line characters (\r and \n) are
// ignored"), so data wrapped at 76 columns, as `base64` prints it, is valid.
export const isBase64 = (value: string): boolean => BASE64.test(value.replace(/[\r\n]/g, ''));

export function isDate(value: string): boolean {
  const match = DATE.exec(value);
  return !!match && validDate(match[1], match[2], match[3]);
}

export function isDateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (!match || !validDate(match[1], match[2], match[3])) return false;
  return Number(match[4]) < 24 && Number(match[5]) < 60 && Number(match[6]) < 60;
}

export const isUri = (value: string): boolean => !(parseRequestUri(value) instanceof Error);
export const isUuid = (value: string): boolean => UUID.test(value);

/** Each supported format's check. A format not listed here is not checked, as the API server strips it. */
const CHECKS: Record<string, (value: string) => boolean> = {
  bsonobjectid: (v) => /^[0-9a-fA-F]{24}$/.test(v),
  uri: isUri,
  email: (v) => /^[^@\s<>]+@[^@\s<>]+$/.test(v),
  hostname: (v) =>
    v.length <= 255 &&
    v
      .replace(/\.$/, '')
      .split('.')
      .every((label) => HOSTNAME_LABEL.test(label)),
  // net.ParseIP: IPv4 text, or IPv6 text (which may embed IPv4); the format names which one by '.' or ':'.
  ipv4: (v) => !!parseIPv4(v) || (!!parseIPv6(v) && !v.includes(':')),
  ipv6: (v) => v.includes(':') && !!parseIPv6(v),
  cidr: (v) => !!parsePrefix(v),
  mac: (v) => MAC.test(v),
  uuid: isUuid,
  ...Object.fromEntries(Object.entries(UUID_VERSION).map(([name, re]) => [name, (v: string) => re.test(v)])),
  isbn: (v) => isIsbn10(v) || isIsbn13(v),
  isbn10: (v) => isIsbn10(v),
  isbn13: (v) => isIsbn13(v),
  creditcard: (v) =>
    /^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$/.test(
      v.replace(/\D/g, ''),
    ),
  ssn: (v) => /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(v),
  hexcolor: (v) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(v),
  rgbcolor: (v) => /^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$/.test(v),
  byte: isBase64,
  password: () => true,
  date: isDate,
  duration: (v) => GO_DURATION.test(v) || SPACED_DURATION.test(v),
  datetime: isDateTime,
};

function isIsbn10(value: string): boolean {
  const digits = value.replace(/[- ]/g, '');
  if (!/^\d{9}[\dX]$/.test(digits)) return false;
  const sum = [...digits].reduce((acc, c, i) => acc + (c === 'X' ? 10 : Number(c)) * (10 - i), 0);
  return sum % 11 === 0;
}

function isIsbn13(value: string): boolean {
  const digits = value.replace(/[- ]/g, '');
  if (!/^\d{13}$/.test(digits)) return false;
  const sum = [...digits].reduce((acc, c, i) => acc + Number(c) * (i % 2 ? 3 : 1), 0);
  return sum % 10 === 0;
}

/** False when `value` breaks `format`; true for formats the API server does not check. */
export function matchesFormat(format: string, value: string): boolean {
  // go-openapi normalizes format names by dropping '-' (date-time → datetime).
  const check = CHECKS[format.replace(/-/g, '')];
  return check ? check(value) : true;
}
