/**
 * Part 1: SAML Response validation on one core. Lanyard's ACS verifier against @node-saml/node-saml
 * and @boxyhq/saml20 on the same generated responses, each configured for the same checks, each
 * first shown to accept the valid response and refuse a tampered one and one signed by an
 * unpinned key. Stacks are interleaved round by round (their order rotates every round), each round
 * is a time box of back-to-back validations, and a full GC runs before every time box so one
 * stack's garbage is not collected on another's clock.
 */
import { randomBytes } from 'node:crypto';
import { trustedCertificate } from '../src/domain/saml/signature.ts';
import { verifySamlResponse, type SignaturePolicy } from '../src/domain/saml/verify-response.ts';
import { loadNodeSaml, loadSaml20, peerVersion, type NodeSamlCacheProvider } from './peers.ts';
import { generateResponse, tamper, testKeys, toPostBinding, type Attributes, type Signed } from './responses.ts';
import { latency, median, type Latency } from './stats.ts';

const IDP = 'https://idp.bench.test/saml/metadata';
const SP = 'https://sso.bench.test/sso/saml/conn_bench/metadata';
const ACS = 'https://sso.bench.test/sso/saml/conn_bench/acs';
const REQUEST_ID = '_bench-request-0f3c9a';
const EMAIL = 'alice@example.com';

export const STACKS = ['lanyard', 'node-saml', 'saml20'] as const;
export type Stack = (typeof STACKS)[number];
const VARIANTS: readonly Signed[] = ['assertion', 'response'];

/** One validation: takes the SAMLResponse form value (base64), resolves with the NameID, rejects on refusal. */
export type Validate = (samlResponse: string) => Promise<string>;

export interface ValidationConfig {
  readonly rounds: number;
  readonly roundMs: number;
  readonly warmupMs: number;
  /** Distinct responses per variant, used in turn. */
  readonly poolSize: number;
}

export interface StackResult {
  /** Validations per second: the median over rounds of (validations in the time box / its length). */
  readonly opsPerSecMedian: number;
  readonly opsPerSecPerRound: number[];
  /**
   * The same per second of CPU time consumed by the process (user + system, all its threads, so
   * GC helpers included): insensitive to other load on the machine taking the core away.
   */
  readonly opsPerCpuSecMedian: number;
  readonly latencyMs: Latency;
}

export interface ValidationReport {
  readonly config: ValidationConfig;
  readonly responseBytes: Record<Signed, number>;
  readonly versions: Record<string, string>;
  readonly checks: Record<Stack, string>;
  readonly results: Record<Signed, Record<Stack, StackResult>>;
  /** Lanyard's median over the faster peer's median, per variant (wall clock; and per CPU second as a cross-check). */
  readonly ratios: Record<Signed, { fasterPeer: Stack; ratio: number; cpuRatio: number }>;
}

/** The checks each stack is configured for, as printed in the report. */
const CHECKS: Record<Stack, string> = {
  lanyard:
    'pinned cert (KeyObject cached); signature policy = signed element; Response + Assertion Issuer; Audience; Destination; Recipient; NotBefore/NotOnOrAfter (skew 0); InResponseTo; one assertion; XSW structure',
  'node-saml':
    'pinned cert; wantAssertionsSigned / wantAuthnResponseSigned = signed element; Audience; NotBefore/NotOnOrAfter (skew 0); InResponseTo (validateInResponseTo: always); Assertion Issuer compared by the harness (node-saml only checks it for logout); no Destination/Recipient check exists',
  saml20:
    'pinned cert (publicKey); Audience (strict); NotBefore/NotOnOrAfter (fixed 10 min skew, not configurable); InResponseTo; Assertion Issuer compared by the harness, as Jackson does by lookup; no Destination/Recipient check exists',
};

/** A pending-request store holding exactly the one AuthnRequest ID the benchmark's responses answer. */
function pendingRequestCache(created: Date): NodeSamlCacheProvider {
  return {
    saveAsync: async (key, value) => ({ value, createdAt: Date.parse(value) || created.getTime() }),
    getAsync: async (key) => (key === REQUEST_ID ? created.toISOString() : null),
    removeAsync: async (key) => key,
  };
}

/** The three validators, configured for the same checks, for responses signed on `variant`. */
export async function buildStacks(variant: Signed): Promise<Record<Stack, Validate>> {
  const { SAML } = await loadNodeSaml();
  const saml20 = await loadSaml20();
  // What the ACS does: the pinned certificate parsed once into a KeyObject, cached per connection.
  const pinned = trustedCertificate(testKeys.idpCertPem);
  if (!pinned.ok) throw new Error(pinned.error.message);
  const trustedCerts = [pinned.value];
  const signaturePolicy: SignaturePolicy = variant;
  const nodeSaml = new SAML({
    idpCert: testKeys.idpCertPem,
    issuer: SP,
    callbackUrl: ACS,
    audience: SP,
    idpIssuer: IDP,
    wantAssertionsSigned: variant === 'assertion',
    wantAuthnResponseSigned: variant === 'response',
    acceptedClockSkewMs: 0,
    validateInResponseTo: 'always',
    requestIdExpirationPeriodMs: 24 * 3600 * 1000,
    cacheProvider: pendingRequestCache(new Date()),
  });
  const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return {
    lanyard: async (b64) => {
      const result = verifySamlResponse({
        xml: decode(b64),
        idpEntityId: IDP,
        trustedCerts,
        spEntityId: SP,
        acsUrl: ACS,
        now: new Date(),
        clockSkewSeconds: 0,
        expectedInResponseTo: REQUEST_ID,
        allowIdpInitiated: false,
        signaturePolicy,
      });
      if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
      return result.value.nameId;
    },
    'node-saml': async (b64) => {
      const { profile } = await nodeSaml.validatePostResponseAsync({ SAMLResponse: b64 });
      if (profile === null) throw new Error('no profile');
      if (profile.issuer !== IDP) throw new Error(`wrong issuer ${profile.issuer}`);
      return profile.nameID ?? '';
    },
    saml20: async (b64) => {
      const profile = await saml20.validate(decode(b64), {
        publicKey: testKeys.idpCertPem,
        audience: SP,
        strictAudienceValidation: true,
        inResponseTo: REQUEST_ID,
      });
      if (profile.issuer !== IDP) throw new Error(`wrong issuer ${profile.issuer}`);
      const nameId = profile.claims['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier'];
      return typeof nameId === 'string' ? nameId : '';
    },
  };
}

/** `count` distinct responses to the benchmark's AuthnRequest ID (`attributes`: the bench's eight unless told). */
export function responsesFor(
  variant: Signed,
  count: number,
  signer?: { keyPem: string; certPem: string },
  attributes: Attributes = 'bench',
): string[] {
  return Array.from({ length: count }, () => {
    const id = randomBytes(8).toString('hex');
    return generateResponse({
      signed: variant,
      idpEntityId: IDP,
      spEntityId: SP,
      acsUrl: ACS,
      inResponseTo: REQUEST_ID,
      responseId: `_resp-${id}`,
      assertionId: `_asrt-${id}`,
      issuedAt: new Date(),
      attributes,
      ...(signer ? { signer } : {}),
    });
  });
}

async function refuses(validate: Validate, b64: string): Promise<string | null> {
  try {
    await validate(b64);
    return null;
  } catch (error) {
    return (error as Error).message.split('\n')[0]!.slice(0, 90);
  }
}

/** Every stack must accept the valid response and refuse the tampered and the foreign-signed one, or the run aborts. */
export async function proveChecks(
  stacks: Record<Stack, Validate>,
  valid: string,
  variant: Signed,
  log: (line: string) => void,
  attributes: Attributes = 'bench',
): Promise<void> {
  const tampered = toPostBinding(tamper(valid));
  const attacker = { keyPem: testKeys.attackerKeyPem, certPem: testKeys.attackerCertPem };
  const foreign = toPostBinding(responsesFor(variant, 1, attacker, attributes)[0]!);
  for (const stack of STACKS) {
    const nameId = await stacks[stack](toPostBinding(valid));
    if (nameId !== EMAIL) throw new Error(`${stack} accepted the valid ${variant}-signed response but read NameID "${nameId}"`);
    const tamperedRefusal = await refuses(stacks[stack], tampered);
    if (tamperedRefusal === null) throw new Error(`ABORT: ${stack} accepted a tampered ${variant}-signed response`);
    const foreignRefusal = await refuses(stacks[stack], foreign);
    if (foreignRefusal === null) throw new Error(`ABORT: ${stack} accepted a ${variant}-signed response signed by an unpinned key`);
    log(
      `  ${variant}-signed · ${stack.padEnd(9)} accepts valid (NameID ${nameId}); refuses tampered ("${tamperedRefusal}") and unpinned key ("${foreignRefusal}")`,
    );
  }
}

declare const gc: (() => void) | undefined;
const collect = () => (typeof gc === 'function' ? gc() : undefined);

/** Back-to-back validations for `ms` milliseconds; returns per-validation times. */
export async function timeBox(
  validate: Validate,
  inputs: readonly string[],
  ms: number,
): Promise<{ samples: number[]; elapsedMs: number; cpuMs: number }> {
  const samples: number[] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  let i = 0;
  while (now - start < ms) {
    const t0 = now;
    await validate(inputs[i++ % inputs.length]!);
    now = performance.now();
    samples.push(now - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return { samples, elapsedMs: now - start, cpuMs: (cpu.user + cpu.system) / 1000 };
}

export async function runValidation(config: ValidationConfig, log: (line: string) => void = console.log): Promise<ValidationReport> {
  const versions = {
    '@node-saml/node-saml': await peerVersion('@node-saml/node-saml'),
    '@boxyhq/saml20': await peerVersion('@boxyhq/saml20'),
  };
  const stacksByVariant = {} as Record<Signed, Record<Stack, Validate>>;
  const inputs = {} as Record<Signed, string[]>;
  const responseBytes = {} as Record<Signed, number>;
  log('validation: every stack must accept the valid response and refuse the altered ones:');
  for (const variant of VARIANTS) {
    const xmls = responsesFor(variant, config.poolSize);
    responseBytes[variant] = Buffer.byteLength(xmls[0]!, 'utf8');
    inputs[variant] = xmls.map(toPostBinding);
    stacksByVariant[variant] = await buildStacks(variant);
    await proveChecks(stacksByVariant[variant], xmls[0]!, variant, log);
  }

  log(`validation: warm-up ${config.warmupMs} ms per stack and variant`);
  for (const variant of VARIANTS)
    for (const stack of STACKS) await timeBox(stacksByVariant[variant][stack], inputs[variant], config.warmupMs);

  const samples = {} as Record<Signed, Record<Stack, { rates: number[]; cpuRates: number[]; latencies: number[] }>>;
  for (const variant of VARIANTS) {
    samples[variant] = Object.fromEntries(STACKS.map((s) => [s, { rates: [], cpuRates: [], latencies: [] }])) as unknown as Record<
      Stack,
      { rates: number[]; cpuRates: number[]; latencies: number[] }
    >;
  }
  for (let round = 0; round < config.rounds; round++) {
    // Rotate the order every round, so no stack always runs first (or right after the same neighbour).
    const order = STACKS.map((_, i) => STACKS[(i + round) % STACKS.length]!);
    for (const variant of VARIANTS) {
      for (const stack of order) {
        collect();
        const { samples: times, elapsedMs, cpuMs } = await timeBox(stacksByVariant[variant][stack], inputs[variant], config.roundMs);
        samples[variant][stack].rates.push((times.length / elapsedMs) * 1000);
        samples[variant][stack].cpuRates.push((times.length / cpuMs) * 1000);
        samples[variant][stack].latencies.push(...times);
      }
    }
    const line = VARIANTS.map((v) => `${v}: ${STACKS.map((s) => `${s} ${Math.round(samples[v][s].rates.at(-1)!)}/s`).join(', ')}`).join(
      ' | ',
    );
    log(`validation: round ${round + 1}/${config.rounds}  ${line}`);
  }

  const results = {} as Record<Signed, Record<Stack, StackResult>>;
  const ratios = {} as Record<Signed, { fasterPeer: Stack; ratio: number; cpuRatio: number }>;
  for (const variant of VARIANTS) {
    results[variant] = Object.fromEntries(
      STACKS.map((s) => {
        const { rates, cpuRates, latencies } = samples[variant][s];
        return [
          s,
          { opsPerSecMedian: median(rates), opsPerSecPerRound: rates, opsPerCpuSecMedian: median(cpuRates), latencyMs: latency(latencies) },
        ];
      }),
    ) as Record<Stack, StackResult>;
    const fasterPeer: Stack =
      results[variant]['node-saml'].opsPerSecMedian >= results[variant].saml20.opsPerSecMedian ? 'node-saml' : 'saml20';
    const fasterPeerCpu = Math.max(results[variant]['node-saml'].opsPerCpuSecMedian, results[variant].saml20.opsPerCpuSecMedian);
    ratios[variant] = {
      fasterPeer,
      ratio: results[variant].lanyard.opsPerSecMedian / results[variant][fasterPeer].opsPerSecMedian,
      cpuRatio: results[variant].lanyard.opsPerCpuSecMedian / fasterPeerCpu,
    };
  }
  return { config, responseBytes, versions, checks: CHECKS, results, ratios };
}
