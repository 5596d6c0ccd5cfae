/**
 * Lanyard's verifier alone in a loop, for `node --cpu-prof` (run.ts does this when BENCH_PROFILE=1):
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-verify.ts [seconds]
 *   node --import tsx bench/profile-summary.ts /tmp/prof/<file>.cpuprofile 30 verifySamlResponse parseXml …
 */
import { trustedCertificate } from '../src/domain/saml/signature.ts';
import { verifySamlResponse, type VerifySamlResponseInput } from '../src/domain/saml/verify-response.ts';
import { generateResponse, testKeys } from './responses.ts';

const seconds = Number(process.argv[2] ?? 5);
const IDP = 'https://idp.bench.test/saml/metadata';
const SP = 'https://sso.bench.test/sso/saml/conn_bench/metadata';
const ACS = 'https://sso.bench.test/sso/saml/conn_bench/acs';
const pinned = trustedCertificate(testKeys.idpCertPem);
if (!pinned.ok) throw new Error(pinned.error.message);

const inputs: VerifySamlResponseInput[] = (['assertion', 'response'] as const).map((signed) => ({
  xml: generateResponse({
    signed,
    idpEntityId: IDP,
    spEntityId: SP,
    acsUrl: ACS,
    inResponseTo: '_req',
    responseId: `_r-${signed}`,
    assertionId: `_a-${signed}`,
    issuedAt: new Date(),
  }),
  idpEntityId: IDP,
  trustedCerts: [pinned.value],
  spEntityId: SP,
  acsUrl: ACS,
  now: new Date(),
  clockSkewSeconds: 0,
  expectedInResponseTo: '_req',
  allowIdpInitiated: false,
  signaturePolicy: signed,
}));

const cpu0 = process.cpuUsage();
const end = performance.now() + seconds * 1000;
let count = 0;
while (performance.now() < end) {
  for (let i = 0; i < 100; i++) {
    const result = verifySamlResponse(inputs[count++ % inputs.length]!);
    if (!result.ok) throw new Error(result.error.message);
  }
}
const used = process.cpuUsage(cpu0);
process.stdout.write(
  `verifier alone: ${count} validations in ${seconds} s, ${((used.user + used.system) / count).toFixed(0)} µs CPU each\n`,
);
