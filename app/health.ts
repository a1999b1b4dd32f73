/**
 * grpc.health.v1 for the greeter: grpc-health-check's implementation, whose Watch calls never end by themselves
 * (it writes each status change and keeps the call open). A drain tells every watcher NOT_SERVING and then ends its
 * call with status OK, so client-side health checking moves on and no Watch holds the drain open.
 */
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { GREETER_SERVICE } from './proto';

/** The services health reports on: the server as a whole ('') and the greeter. */
const REPORTED_SERVICES = ['', GREETER_SERVICE] as const;

export class GreeterHealth {
  private readonly health = new HealthImplementation(
    Object.fromEntries(REPORTED_SERVICES.map((service) => [service, 'SERVING' as const])),
  );
  private readonly watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();

  addToServer(server: grpc.Server): void {
    this.health.addToServer({
      addService: (service, implementation) =>
        server.addService(service, {
          ...implementation,
          watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
            this.watches.add(call);
            const forget = () => this.watches.delete(call);
            call.once('cancelled', forget).once('finish', forget);
            (implementation.watch as grpc.handleServerStreamingCall<unknown, unknown>)(call);
          },
        }),
    });
  }

  /** Every reported service turns NOT_SERVING (written to each watcher), then each Watch call ends with OK. */
  drain(): void {
    for (const service of REPORTED_SERVICES) this.health.setStatus(service, 'NOT_SERVING');
    for (const call of this.watches) call.end();
    this.watches.clear();
  }
}
