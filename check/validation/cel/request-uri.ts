/**
 * A URL as Go's `net/url.ParseRequestURI` reads it: the parser behind the Kubernetes CEL URL library (`url()`,
 * `isURL()`; k8s.io/apiserver pkg/cel/library/urls.go) and the OpenAPI `uri` format. Absolute URIs and absolute paths
 * only; no fragment.
 */
export interface RequestUri {
  readonly scheme: string;
  readonly opaque: string;
  /** host[:port], brackets kept for IPv6 literals. */
  readonly host: string;
  readonly path: string;
  readonly rawPath: string;
  readonly rawQuery: string;
}

/** The parsed URI, or an Error carrying Go's reason. */
export function parseRequestUri(raw: string): RequestUri | Error {
  if (/[\x00-\x1f\x7f]/.test(raw)) return new Error('net/url: invalid control character in URL');
  if (raw === '') return new Error('empty url');
  if (raw === '*') return { scheme: '', opaque: '', host: '', path: '*', rawPath: '*', rawQuery: '' };
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw);
  if (raw.startsWith(':')) return new Error('missing protocol scheme');
  const scheme = schemeMatch ? schemeMatch[1].toLowerCase() : '';
  let rest = schemeMatch ? raw.slice(schemeMatch[0].length) : raw;
  let rawQuery = '';
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) rest = rest.slice(0, -1);
  else if (rest.includes('?')) [rest, rawQuery] = [rest.slice(0, rest.indexOf('?')), rest.slice(rest.indexOf('?') + 1)];
  if (!rest.startsWith('/')) {
    if (scheme) return { scheme, opaque: rest, host: '', path: '', rawPath: '', rawQuery };
    return new Error('invalid URI for request');
  }
  let host = '';
  if (scheme && rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
    const at = authority.lastIndexOf('@');
    if (at >= 0 && !/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(authority.slice(0, at)))
      return new Error('net/url: invalid userinfo');
    const parsedHost = parseHost(at < 0 ? authority : authority.slice(at + 1));
    if (parsedHost instanceof Error) return parsedHost;
    host = parsedHost;
  }
  const path = unescape(rest, false);
  if (path instanceof Error) return path;
  return { scheme, opaque: '', host, path, rawPath: rest, rawQuery };
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:\d*$/.test(port);
}

// Host characters Go accepts unescaped: unreserved, sub-delims, ':' and the brackets of an IPv6 literal.
const HOST_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"%]$/;

function parseHost(host: string): string | Error {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) return new Error("missing ']' in host");
    if (!validOptionalPort(host.slice(close + 1)))
      return new Error(`invalid port ${JSON.stringify(host.slice(close + 1))} after host`);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && !validOptionalPort(host.slice(colon)))
      return new Error(`invalid port ${JSON.stringify(host.slice(colon))} after host`);
  }
  for (const char of host)
    if (char.charCodeAt(0) < 0x80 && !HOST_CHAR.test(char))
      return new Error(`invalid character ${JSON.stringify(char)} in host name`);
  return unescape(host, false);
}

/** Percent-decoding; `plus` decodes '+' as a space (query components). Bad escapes are errors, as in Go. */
export function unescape(text: string, plus: boolean): string | Error {
  if (/%(?![0-9A-Fa-f]{2})/.test(text))
    return new Error(
      `invalid URL escape ${JSON.stringify(text.slice(text.search(/%(?![0-9A-Fa-f]{2})/), text.search(/%(?![0-9A-Fa-f]{2})/) + 3))}`,
    );
  const spaced = plus ? text.replace(/\+/g, ' ') : text;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Valid escapes of bytes that are not UTF-8: Go keeps the bytes; a string of them is as close as JS gets.
    return spaced.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** Host without port and brackets (Go's URL.Hostname). */
export function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/** The port after the host, '' when none (Go's URL.Port). */
export function port(host: string): string {
  const colon = host.lastIndexOf(':');
  if (colon < 0 || (host.startsWith('[') && colon < host.indexOf(']'))) return '';
  return host.slice(colon + 1);
}

/** The query as Go's URL.Query() reads it: '&'-separated, pairs with ';' or bad escapes dropped. */
export function queryValues(rawQuery: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = unescape(eq < 0 ? pair : pair.slice(0, eq), true);
    const value = unescape(eq < 0 ? '' : pair.slice(eq + 1), true);
    if (key instanceof Error || value instanceof Error) continue;
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

const VALID_ENCODED_PATH = /^(?:[A-Za-z0-9\-_.~!$&'()*+,;=:@[\]/]|%[0-9A-Fa-f]{2})*$/;
const PATH_SAFE = /[A-Za-z0-9\-_.~$&+,/:;=@]/;

/** The path as Go's URL.EscapedPath prints it: the raw path when it is a valid encoding of the path, else escaped. */
export function escapedPath(u: RequestUri): string {
  if (VALID_ENCODED_PATH.test(u.rawPath) && unescape(u.rawPath, false) === u.path) return u.rawPath;
  let out = '';
  for (const char of u.path) {
    if (PATH_SAFE.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
