/**
 * Kubernetes resource quantities, exactly: the grammar of k8s.io/apimachinery `resource.ParseQuantity`
 * (pkg/api/resource/quantity.go) parsed to a rational number, so comparisons and sums never round.
 *
 *   <quantity> ::= <signedNumber><suffix>;  <suffix> ::= Ki | Mi | Gi | Ti | Pi | Ei | m | "" | k | M | G | T | P | E
 *                                                       | e<signedNumber> | E<signedNumber>
 */

/** A quantity's exact value, numerator / denominator (denominator > 0). */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** The value of a quantity string, or undefined when Kubernetes would reject it. */
export function parseQuantity(text: string): Rational | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, sign, digits, suffix = ''] = match;
  const [whole, fraction = ''] = digits.split('.');
  let num = BigInt(`${whole || '0'}${fraction}`) * (sign === '-' ? -1n : 1n);
  let den = 10n ** BigInt(fraction.length);
  if (suffix in BINARY) num *= 2n ** BigInt(BINARY[suffix]);
  else {
    const exponent = suffix in DECIMAL ? DECIMAL[suffix] : suffix ? Number(suffix.slice(1)) : 0;
    // ParseQuantity rejects exponents it cannot represent; far beyond any real quantity either way.
    if (Math.abs(exponent) > 1000) return undefined;
    if (exponent >= 0) num *= 10n ** BigInt(exponent);
    else den *= 10n ** BigInt(-exponent);
  }
  return normalize(num, den);
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b) [a, b] = [b, a % b];
  return a;
}

export function normalize(num: bigint, den: bigint): Rational {
  const divisor = gcd(num, den) || 1n;
  return { num: num / divisor, den: den / divisor };
}

export const compareRational = (a: Rational, b: Rational): number => {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
};

export const addRational = (a: Rational, b: Rational): Rational =>
  normalize(a.num * b.den + b.num * a.den, a.den * b.den);

/** A rational as `num/den` text: the canonical form quantities are stored in, so equal values compare equal. */
export const formatRational = (r: Rational): string => `${r.num}/${r.den}`;

export function parseRational(text: string): Rational {
  const [num, den] = text.split('/');
  return { num: BigInt(num), den: BigInt(den) };
}
