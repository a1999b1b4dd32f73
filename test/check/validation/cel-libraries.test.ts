/**
 * The Kubernetes CEL libraries registered on top of @bufbuild/cel, against the examples in their documentation
 * (k8s.io/apiserver pkg/cel/library/{urls,regex,lists,quantity,ip,cidr,format}.go at v0.32.0), plus the value typing
 * and property-name escaping rules evaluate with (pkg/cel/common/values.go, pkg/cel/escaping.go).
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../../harness/processes';
import { escapeProperty, evaluateExpression, toCel, whyNotEvaluated } from '../../../check/validation/cel/engine';
import type { ValidationRule } from '../../../check/validation/schema-types';

const cases: Array<[string, unknown]> = [
  // urls.go
  ["url('https://example.com:80/path?query=val').getScheme()", 'https'],
  ["url('https://example.com:80/').getHost()", 'example.com:80'],
  ["url('https://[::1]:80/').getHost()", '[::1]:80'],
  ["url('https://[::1]:80/').getHostname()", '::1'],
  ["url('https://example.com:80/').getPort()", '80'],
  ["url('https://example.com/path with spaces/').getEscapedPath()", '/path%20with%20spaces/'],
  ["url('https://example.com/a%2Fb').getEscapedPath()", '/a%2Fb'],
  ["url('https://example.com/path?k1=a&k2=b&k2=c').getQuery()['k2'][1]", 'c'],
  ["isURL('https://user:pass@example.com:80/path?query=val#fragment')", true],
  ["isURL('/absolute-path')", true],
  ["isURL('https://a:b:c/')", false],
  ["isURL('../relative-path')", false],
  ["isURL('example.com')", false],
  // regex.go
  ["'abc 123'.find('[0-9]+')", '123'],
  ["'abc 123'.find('xyz')", ''],
  ["'123 abc 456'.findAll('[0-9]+').size()", 2n],
  ["'123 abc 456'.findAll('[0-9]+', 1)[0]", '123'],
  // lists.go
  ['[1, 2, 3].isSorted()', true],
  ["['a', 'c', 'b'].isSorted()", false],
  ['[1, 2, 3].sum()', 6n],
  ['[1.0, 2.0, 3.0].sum()', 6],
  ['[1, 2, 3].min()', 1n],
  ['[1, 2, 3].max()', 3n],
  ["['a', 'b', 'c', 'b'].indexOf('b')", 1n],
  ["['a', 'b', 'c', 'b'].lastIndexOf('b')", 3n],
  // quantity.go
  ["quantity('50k').isInteger()", true],
  ["quantity('50k').asInteger() == 50000", true],
  ["quantity('50k').sub(20000).asApproximateFloat() == 30000.0", true],
  ["quantity('50k').add(quantity('20k')) == quantity('70k')", true],
  ["quantity('50k').add(20) == quantity('50020')", true],
  ["quantity('50k').add(20).sub(quantity('100k')).sub(-50000) == quantity('20')", true],
  ["quantity('200M').compareTo(quantity('0.2G'))", 0n],
  ["quantity('50M').compareTo(quantity('50Mi'))", -1n],
  ["quantity('150Mi').isGreaterThan(quantity('100Mi'))", true],
  ["quantity('50M').isLessThan(quantity('100M'))", true],
  ["quantity('9999999999999999999999999999999999999G').isInteger()", false],
  ["isQuantity('1.3Gi')", true],
  ["isQuantity('200K')", false],
  ["isQuantity('1,3G')", false],
  ["quantity('-1').sign()", -1n],
  // ip.go
  ["ip('127.0.0.1').family()", 4n],
  ["ip('::1').family()", 6n],
  ["isIP('127.0.0.256')", false],
  ["isIP(':::1')", false],
  ["isIP('::ffff:1.2.3.4')", false],
  ["isIP('127.0.0.01')", false],
  ["ip.isCanonical('2001:db8::abcd')", true],
  ["ip.isCanonical('2001:DB8::ABCD')", false],
  ["ip.isCanonical('2001:db8::0:0:0:abcd')", false],
  ["ip('0.0.0.0').isUnspecified()", true],
  ["ip('127.0.0.1').isLoopback()", true],
  ["ip('224.0.0.1').isLinkLocalMulticast()", true],
  ["ip('ff02::1').isLinkLocalMulticast()", true],
  ["ip('fe80::1').isLinkLocalUnicast()", true],
  ["ip('192.168.0.1').isGlobalUnicast()", true],
  ["ip('255.255.255.255').isGlobalUnicast()", false],
  ["string(ip('2001:DB8::ABCD'))", '2001:db8::abcd'],
  ["ip('127.0.0.1') == ip('127.0.0.1')", true],
  // cidr.go
  ["cidr('192.168.0.0/24').containsIP(ip('192.168.0.1'))", true],
  ["cidr('192.168.0.0/24').containsIP('192.168.1.1')", false],
  ["cidr('192.168.0.0/24').containsCIDR('192.168.0.0/25')", true],
  ["cidr('192.168.0.0/24').containsCIDR(cidr('192.168.0.0/23'))", false],
  ["cidr('192.168.0.1/24').masked() == cidr('192.168.0.0/24')", true],
  ["cidr('192.168.0.1/24').ip() == ip('192.168.0.1')", true],
  ["cidr('::1/128').prefixLength()", 128n],
  ["isCIDR('192.168.0.0/33')", false],
  ["string(cidr('192.168.0.1/24'))", '192.168.0.1/24'],
  // format.go
  ["format.dns1123Label().validate('my-label-name').hasValue()", false],
  ["format.dns1123Label().validate('My_Label').hasValue()", true],
  ["format.named('dns1123Subdomain').value().validate('apiextensions.k8s.io').hasValue()", false],
  ["format.named('unknown').hasValue()", false],
  ["format.dns1123LabelPrefix().validate('my-label-prefix-').hasValue()", false],
  ["format.qualifiedName().validate('apiextensions.k8s.io/v1beta1').hasValue()", false],
  ["format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue()", false],
  ["format.byte().validate('aGVsbG8=').hasValue()", false],
  ["format.date().validate('2021-01-01').hasValue()", false],
  ["format.datetime().validate('2021-01-01T00:00:00Z').hasValue()", false],
  ["format.dns1035Label().validate('1abc').value().size()", 1n],
  // @bufbuild/cel's standard library and strings extension, as the CRDs here use them
  ["duration('0s') >= duration('1ms')", false],
  ["'^(?i)Foo$'.size() > 0 && 'FOO'.matches('^(?i)foo$')", true],
  ["'a/b'.split('/')[0].upperAscii()", 'A'],
  ["{'1.2': 3, '1.3': 4}['1.3'] <= {'1.3': 4}['1.3']", true],
];

describe('Kubernetes CEL libraries', () => {
  test.each(cases)('%s', (expression, expected) => {
    expect(evaluateExpression(expression)).toEqual(expected);
  });

  test.each([
    ["url('../relative')", /URL parse error/],
    ["ip('::ffff:1.2.3.4')", /IPv4-mapped IPv6 address/],
    ["ip('fe80::1%eth0')", /zone/],
    ["quantity('200K')", /quantities must match/],
    ["quantity('9999999999999999999999999999999999999G').asInteger()", /cannot convert value to integer/],
    ["cidr('10.0.0.0/33')", /parse error/],
    ["format.named('unknown').value()", /optional.none\(\) dereference/],
  ])('%s is an error', (expression, message) => {
    expect(() => evaluateExpression(expression)).toThrow(message);
  });
});

describe('values as the API server types them', () => {
  test('integers are int, numbers double, int-or-string either, date-time a timestamp, and only declared fields show', () => {
    const schema = {
      type: 'object',
      properties: {
        replicas: { type: 'integer' },
        ratio: { type: 'number' },
        port: { 'x-kubernetes-int-or-string': true },
        at: { type: 'string', format: 'date-time' },
        namespace: { type: 'string' },
        'x-forwarded-for': { type: 'string' },
      },
    };
    const self = toCel(
      {
        replicas: 2,
        ratio: 2,
        port: 'http',
        at: '2024-01-01T00:00:00Z',
        namespace: 'ns',
        'x-forwarded-for': 'a',
        undeclared: 1,
      },
      schema,
    );
    expect(evaluateExpression('self.replicas == 2 && type(self.replicas) == int', self)).toBe(true);
    expect(evaluateExpression('type(self.ratio) == double', self)).toBe(true);
    expect(evaluateExpression("self.port == 'http'", self)).toBe(true);
    expect(evaluateExpression("self.at < timestamp('2025-01-01T00:00:00Z')", self)).toBe(true);
    expect(evaluateExpression("self.__namespace__ == 'ns' && self.x__dash__forwarded__dash__for == 'a'", self)).toBe(
      true,
    );
    expect(evaluateExpression('has(self.undeclared)', self)).toBe(false);
  });

  test('the resource root shows apiVersion, kind and metadata.name only', () => {
    const self = toCel(
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'n', labels: { a: 'b' } } },
      { type: 'object', properties: { metadata: { type: 'object' } } },
      true,
    );
    expect(
      evaluateExpression("self.kind == 'X' && self.metadata.name == 'n' && !has(self.metadata.labels)", self),
    ).toBe(true);
  });

  test.each([
    ['namespace', '__namespace__'],
    ['x-y', 'x__dash__y'],
    ['a.b/c', 'a__dot__b__slash__c'],
    ['a__b', 'a__underscores__b'],
    ['1a', undefined],
    ['a b', undefined],
  ])('property %s is %s in CEL', (name, escaped) => {
    expect(escapeProperty(name)).toBe(escaped);
  });
});

describe('the rules of every CRD in upstream/crds', () => {
  const rules: ValidationRule[] = [];
  const collect = (schema: unknown): void => {
    if (Array.isArray(schema)) schema.forEach(collect);
    else if (schema && typeof schema === 'object') {
      for (const [key, value] of Object.entries(schema)) {
        if (key === 'x-kubernetes-validations') rules.push(...(value as ValidationRule[]));
        else collect(value);
      }
    }
  };
  const dir = path.join(ROOT, 'upstream', 'crds');
  for (const file of readdirSync(dir))
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')))
      collect(doc.toJS()?.spec?.versions);

  test('all parse; on Kubernetes 1.27 only a transition rule and one newer library are not run', () => {
    expect(rules.length).toBeGreaterThan(700);
    const problems = [...new Set(rules.map((rule) => rule.rule))]
      .map((rule) => [rule, whyNotEvaluated({ rule }, 27)])
      .filter(([, why]) => why);
    // Gateway API v1.6.1: GatewayClass spec.controllerName is immutable (checked on update only), and TLSRoute
    // hostnames call isIP, which the API server has from Kubernetes 1.30.
    expect(problems).toEqual([
      ['self == oldSelf', 'transition rule (oldSelf): evaluated only on update'],
      [
        'self.all(h, !isIP(h))',
        "calls isIP from the IP and CIDR library, added to the API server's CEL environment in Kubernetes 1.30",
      ],
    ]);
  });
});
