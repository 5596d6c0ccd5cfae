/**
 * The in-process peer of the `acs-embedded` part: `@node-saml/node-saml` validating the small
 * response (the test builder's two attributes), in a process of its own that `acs-embedded.ts`
 * pins to one CPU with taskset, as part 1 does. It first proves every validator accepts the
 * response and refuses altered ones, then answers time boxes asked for over IPC, so its rounds
 * interleave with the server's.
 */
import { peerVersion } from './peers.ts';
import { toPostBinding } from './responses.ts';
import { buildStacks, proveChecks, responsesFor, timeBox } from './validation.ts';

/** Parent → child: run back-to-back validations for `ms`. */
export interface BoxRequest {
  readonly ms: number;
}

/** Child → parent: once ready, then one answer per time box. */
export type PeerMessage =
  | { readonly kind: 'ready'; readonly version: string; readonly responseBytes: number }
  | { readonly kind: 'box'; readonly count: number; readonly elapsedMs: number; readonly cpuMs: number; readonly samples: number[] };

declare const gc: (() => void) | undefined;

const send = (message: PeerMessage) => process.send?.(message);
const stacks = await buildStacks('assertion');
const xmls = responsesFor('assertion', 8, undefined, 'builder');
await proveChecks(stacks, xmls[0]!, 'assertion', (line) => process.stdout.write(`acs-embedded: ${line.trim()}\n`), 'builder');
const inputs = xmls.map(toPostBinding);
process.on('message', (request: BoxRequest) => {
  // A full GC first, so garbage of the previous box is not collected on this one's clock.
  if (typeof gc === 'function') gc();
  void timeBox(stacks['node-saml'], inputs, request.ms).then(({ samples, elapsedMs, cpuMs }) =>
    send({ kind: 'box', count: samples.length, elapsedMs, cpuMs, samples }),
  );
});
process.once('disconnect', () => process.exit(0));
send({ kind: 'ready', version: await peerVersion('@node-saml/node-saml'), responseBytes: Buffer.byteLength(xmls[0]!, 'utf8') });
