/**
 * Runs the round-robin balancer (test/support/round-robin-proxy.ts) as its own process in front of the
 * replicas named on the command line, so the load generator does not share its event loop. Prints
 * `{"url": …}` on stdout once listening.
 */
import { RoundRobinProxy } from '../../test/support/round-robin-proxy.ts';

const proxy = await RoundRobinProxy.start(process.argv.slice(2));
process.stdout.write(`${JSON.stringify({ url: proxy.url })}\n`);
process.on('SIGTERM', () => {
  void proxy.close().then(() => process.exit(0));
});
