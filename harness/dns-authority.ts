/**
 * Import this first, before anything that loads grpc-js: it makes grpc-js ask the DNS server a target names,
 * `dns://127.0.0.1:5353/<name>:<port>`, instead of the system resolver. grpc-js reads
 * GRPC_NODE_USE_ALTERNATIVE_RESOLVER once, when it loads, and only with it `true` does its DNS resolver query
 * through the target's authority (c-ares `resolve4`/`resolve6`); otherwise it calls `dns.lookup`, which ignores the
 * authority (@grpc/grpc-js@1.14.3 src/environment.ts lines 18-19, src/resolver-dns.ts lines 83-85 and 318-348;
 * the same in the 1.14.7 installed here). The re-resolution logic the DNS paths measure is the same either way.
 */
process.env.GRPC_NODE_USE_ALTERNATIVE_RESOLVER = 'true';

/** Throws unless the grpc-js in this process read the variable, i.e. this module was imported before grpc-js. */
export function assertDnsAuthorityHonoured(): void {
  // A deep import: grpc-js exports no flag for it, and the package has no `exports` map that would forbid it.
  const environment = require('@grpc/grpc-js/build/src/environment') as { GRPC_NODE_USE_ALTERNATIVE_RESOLVER: boolean };
  if (!environment.GRPC_NODE_USE_ALTERNATIVE_RESOLVER) {
    throw new Error('grpc-js loaded before harness/dns-authority set GRPC_NODE_USE_ALTERNATIVE_RESOLVER=true, so it would ignore the DNS server in dns:// targets: import harness/dns-authority first');
  }
}
