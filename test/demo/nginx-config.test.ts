/** The upstream keepalive limits the nginx template derives from the pods' max connection age. */
import { upstreamKeepalive } from '../../harness/nginx-config';

describe('upstream keepalive limits', () => {
  test("without a max connection age they are nginx's own defaults", () => {
    expect(upstreamKeepalive()).toEqual({ timeMs: 3_600_000, timeoutMs: 60_000 });
  });

  test.each([100, 1000, 30_000, 600_000])(
    'age %i ms: the last call on a connection starts within half the earliest GOAWAY',
    (ageMs) => {
      const { timeMs, timeoutMs } = upstreamKeepalive(ageMs);
      expect(timeMs).toBeGreaterThan(0);
      expect(timeoutMs).toBeGreaterThan(0);
      // grpc-js may GOAWAY at 0.9 × the age; nginx may start a call at keepalive_time + keepalive_timeout.
      expect(timeMs + timeoutMs).toBeLessThanOrEqual((ageMs * 0.9) / 2);
    },
  );

  test.each([99, 0, -1000, 1500.5])('age %p is refused with an error naming the setting and the value', (ageMs) => {
    expect(() => upstreamKeepalive(ageMs)).toThrow(`backendMaxConnectionAgeMs must be an integer >= 100, got ${ageMs}`);
  });
});
