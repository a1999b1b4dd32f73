/**
 * Import this first, before anything that loads grpc-js, in a process that dials `dns://<server>/<name>:<port>`
 * targets: it makes grpc-js ask the DNS server the target names instead of the system resolver. grpc-js reads
 * GRPC_NODE_USE_ALTERNATIVE_RESOLVER once, when it loads, and only with it `true` does its DNS resolver query
 * through the target's authority (c-ares `resolve4`/`resolve6`); otherwise it calls `dns.lookup`, which ignores the
 * authority (@grpc/grpc-js@1.14.3 src/environment.ts lines 18-19, src/resolver-dns.ts lines 83-85 and 318-348;
 * the same in the 1.14.7 installed here). The re-resolution logic the DNS paths measure is the same either way.
 * Only for such processes: c-ares reads no /etc/hosts, so `localhost:<port>` targets would no longer resolve.
 */
process.env.GRPC_NODE_USE_ALTERNATIVE_RESOLVER = 'true';
