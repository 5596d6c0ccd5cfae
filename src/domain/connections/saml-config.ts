import { parseCertificates, readCertificates, type CertificateInfo } from '../../crypto/certificates.ts';
import {
  fetchGuarded,
  type CachingHeaders,
  type GuardedFetchError,
  type GuardedFetchErrorCode,
  type GuardedFetchOptions,
  type Lookup,
} from '../../net/guarded-fetch.ts';
import type { Catalogue } from '../catalogue.ts';
import { err, ok, type Result } from '../result.ts';
import type { SamlInput } from '../../http/schemas/connections.ts';
import type { SignaturePolicy } from '../saml/verify-response.ts';
import { parseIdpMetadata, type IdpMetadata, type IdpMetadataError, type IdpMetadataResult } from '../saml/idp-metadata.ts';
import { AppError } from '../errors.ts';
import { fieldError, requireHttpUrl } from './input-checks.ts';

/** The options of a SAML connection, as stored and as the login reads them. */
export interface SamlOptions {
  allowIdpInitiated: boolean;
  defaultApplicationId: string | null;
  clockSkewSeconds: number;
  nameIdFormat: string | null;
  signRequests: boolean;
  encryptAssertions: boolean;
  allowSha1: boolean;
  /** Accept LogoutRequests and LogoutResponses that carry no signature (SAML core §3.7.1: they SHOULD be signed). */
  allowUnsignedLogout: boolean;
  signaturePolicy: SignaturePolicy;
}

/** A SAML connection's settings as stored (the `settings` column): IdP values and options, no secrets. */
export interface SamlSettings extends SamlOptions {
  idpEntityId: string | null;
  ssoUrl: string | null;
  /** The binding `ssoUrl` takes AuthnRequests with. */
  ssoBinding: 'redirect' | 'post' | null;
  sloUrl: string | null;
  /** PEM of every certificate a response may be signed with (several during a rollover). */
  certificates: string[];
  /** Where the IdP values were last read from; null when given as XML or by hand. */
  metadataUrl: string | null;
}

/**
 * Why a metadata URL could not be fetched, by stable code; the message built next to each failure
 * says what happened without revealing internal addresses.
 */
export const METADATA_URL_ERROR_CATALOGUE = {
  metadata_url_invalid: { description: 'The metadata URL is not a valid absolute URL.' },
  metadata_url_bad_scheme: { description: 'The metadata URL, or a redirect from it, uses a scheme other than http or https.' },
  metadata_url_forbidden_address: { description: 'The host resolves to a private, loopback, link-local or otherwise internal address.' },
  metadata_url_timeout: { description: 'The fetch, redirects included, took longer than the time limit.' },
  metadata_url_too_large: { description: 'The metadata is larger than the size limit.' },
  metadata_url_status: { description: 'The server answered with an HTTP status other than 2xx or a redirect.' },
  metadata_url_too_many_redirects: { description: 'The URL redirected more times than allowed.' },
  metadata_url_bad_redirect: { description: 'A redirect had no Location, or an invalid one.' },
  metadata_url_insecure_redirect: { description: 'An https URL redirected to plain http.' },
  metadata_url_unreachable: { description: 'The host could not be resolved or connected to, TLS failed, or the connection broke.' },
} as const satisfies Catalogue & Record<`metadata_url_${GuardedFetchErrorCode}`, unknown>;

/** A stable code from {@link METADATA_URL_ERROR_CATALOGUE}. */
export type MetadataUrlErrorCode = keyof typeof METADATA_URL_ERROR_CATALOGUE;

/** Where and how to fetch an IdP's metadata: the guarded fetch's options, but the Accept header and names. */
export type MetadataUrlOptions = Omit<GuardedFetchOptions, 'accept' | 'names'>;

/** Why the metadata could not be fetched; `message` is safe to show to the admin who gave the URL. */
export interface MetadataUrlError {
  code: MetadataUrlErrorCode;
  message: string;
  detail?: GuardedFetchError['detail'];
}

const METADATA_ACCEPT = 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1';

/**
 * Fetches IdP metadata from a URL an admin typed, with the SSRF defences of fetchGuarded: http(s)
 * only, every hop and every address checked, time and size bounded.
 */
export async function fetchMetadataUrl(
  options: MetadataUrlOptions,
  deps: { lookup: Lookup },
): Promise<Result<{ xml: string; finalUrl: string; notModified: boolean; caching: CachingHeaders }, MetadataUrlError>> {
  const result = await fetchGuarded({ ...options, accept: METADATA_ACCEPT, names: { url: 'metadata URL', document: 'metadata' } }, deps);
  if (result.ok) {
    const { body, ...rest } = result.value;
    return ok({ xml: body, ...rest });
  }
  return err({ ...result.error, code: `metadata_url_${result.error.code}` });
}

/** How the resolver reaches a metadata URL (the SSRF-guarded fetcher, configured by the service). */
export interface SamlResolveContext {
  fetchMetadata(url: string): ReturnType<typeof fetchMetadataUrl>;
}

const OPTION_DEFAULTS = {
  allowIdpInitiated: false,
  defaultApplicationId: null,
  clockSkewSeconds: 120,
  nameIdFormat: null,
  signRequests: false,
  encryptAssertions: false,
  allowSha1: false,
  allowUnsignedLogout: false,
  signaturePolicy: 'assertion-or-response',
} as const satisfies Partial<SamlSettings>;

type IdpValues = Pick<SamlSettings, 'idpEntityId' | 'ssoUrl' | 'ssoBinding' | 'sloUrl' | 'certificates' | 'metadataUrl'>;
const MANUAL_KEYS = ['ssoUrl', 'ssoBinding', 'sloUrl', 'certificates'] as const;
const EMPTY_IDP: IdpValues = { idpEntityId: null, ssoUrl: null, ssoBinding: null, sloUrl: null, certificates: [], metadataUrl: null };

/**
 * Works out a SAML connection's settings from a request and what is stored: IdP values from
 * metadata XML, from a metadata URL (fetched now), or from fields; options laid over the stored
 * ones or the defaults. Throws a 400 naming the field for bad input, a 422 when the metadata URL
 * cannot be fetched or does not serve usable metadata.
 */
export async function resolveSamlSettings(
  input: SamlInput,
  existing: SamlSettings | undefined,
  context: SamlResolveContext,
): Promise<SamlSettings> {
  const idp = await readIdpValues(input, existing ?? { ...EMPTY_IDP }, context);
  const base = existing ?? OPTION_DEFAULTS;
  const settings: SamlSettings = {
    ...idp.values,
    allowIdpInitiated: input.allowIdpInitiated ?? base.allowIdpInitiated,
    defaultApplicationId: input.defaultApplicationId !== undefined ? input.defaultApplicationId : base.defaultApplicationId,
    clockSkewSeconds: input.clockSkewSeconds ?? base.clockSkewSeconds,
    nameIdFormat: input.nameIdFormat !== undefined ? input.nameIdFormat : base.nameIdFormat,
    // An IdP that announces WantAuthnRequestsSigned (metadata §2.4.3) would refuse unsigned requests.
    signRequests: input.signRequests ?? (idp.wantsSignedRequests || base.signRequests),
    encryptAssertions: input.encryptAssertions ?? base.encryptAssertions,
    allowSha1: input.allowSha1 ?? base.allowSha1,
    allowUnsignedLogout: input.allowUnsignedLogout ?? base.allowUnsignedLogout,
    signaturePolicy: input.signaturePolicy ?? base.signaturePolicy,
  };
  requireCompleteOrEmpty(settings);
  return settings;
}

/** True when the IdP values needed to log in are all there. */
export function isSamlComplete(settings: SamlSettings): boolean {
  return settings.idpEntityId !== null && settings.ssoUrl !== null && settings.certificates.length > 0;
}

async function readIdpValues(
  input: SamlInput,
  stored: IdpValues,
  context: SamlResolveContext,
): Promise<{ values: IdpValues; wantsSignedRequests: boolean }> {
  const manual = MANUAL_KEYS.find((key) => input[key] !== undefined);
  if (input.metadataXml !== undefined && input.metadataUrl !== undefined) {
    throw fieldError('saml.metadataUrl', 'cannot be combined with saml.metadataXml; give one of them');
  }
  const source = input.metadataXml !== undefined ? 'metadataXml' : input.metadataUrl !== undefined ? 'metadataUrl' : undefined;
  if (source !== undefined && manual !== undefined) {
    throw fieldError(`saml.${manual}`, `cannot be combined with saml.${source}, which supplies it`);
  }
  if (input.metadataXml !== undefined) {
    return fromMetadata(parseIdpMetadata(input.metadataXml, entityChoice(input)), null, 'saml.metadataXml');
  }
  if (input.metadataUrl !== undefined) {
    const url = requireHttpUrl(input.metadataUrl, 'saml.metadataUrl');
    const fetched = await context.fetchMetadata(url);
    if (!fetched.ok) {
      throw new AppError('metadata_fetch_failed', `saml.metadataUrl could not be fetched: ${fetched.error.message}`, [
        { field: 'saml.metadataUrl', message: fetched.error.message },
      ]);
    }
    return fromMetadata(parseIdpMetadata(fetched.value.xml, entityChoice(input)), url, 'saml.metadataUrl');
  }
  if (manual === undefined && input.idpEntityId === undefined) return { values: stored, wantsSignedRequests: false };
  return { values: manualValues(input, stored), wantsSignedRequests: false };
}

function entityChoice(input: SamlInput): { entityId?: string } {
  return input.idpEntityId === undefined ? {} : { entityId: input.idpEntityId };
}

function fromMetadata(
  parsed: IdpMetadataResult,
  metadataUrl: string | null,
  field: 'saml.metadataXml' | 'saml.metadataUrl',
): { values: IdpValues; wantsSignedRequests: boolean } {
  if (!parsed.ok) throw metadataError(parsed.error, field);
  return idpValuesOf(parsed.value, metadataUrl);
}

function idpValuesOf(metadata: IdpMetadata, metadataUrl: string | null): { values: IdpValues; wantsSignedRequests: boolean } {
  const ssoBinding = metadata.ssoUrls.redirect !== undefined ? 'redirect' : 'post';
  return {
    values: {
      idpEntityId: metadata.entityId,
      ssoUrl: metadata.ssoUrls[ssoBinding] ?? null,
      ssoBinding,
      sloUrl: metadata.sloUrls.redirect ?? metadata.sloUrls.post ?? null,
      certificates: metadata.signingCertificates,
      metadataUrl,
    },
    wantsSignedRequests: metadata.wantAuthnRequestsSigned,
  };
}

/**
 * A background refresh: the stored settings with the IdP values the metadata publishes now (its
 * signing certificates replace the stored ones, so a new one is trusted at once and one is dropped
 * only when the metadata no longer lists it), or why the metadata cannot be used. The IdP must keep
 * its entity ID: metadata naming another one is refused, not followed.
 */
export function refreshedSamlSettings(stored: SamlSettings, xml: string): Result<SamlSettings, IdpMetadataError> {
  const parsed = parseIdpMetadata(xml, stored.idpEntityId === null ? {} : { entityId: stored.idpEntityId });
  if (!parsed.ok) return parsed;
  const { values, wantsSignedRequests } = idpValuesOf(parsed.value, stored.metadataUrl);
  return ok({ ...stored, ...values, signRequests: stored.signRequests || wantsSignedRequests });
}

/**
 * Choosing among several IdPs is fixed in the request (saml.idpEntityId), so that is a 400 for XML
 * and URL alike; any other problem of fetched metadata lies with the URL's server: a 422.
 */
function metadataError(error: IdpMetadataError, field: 'saml.metadataXml' | 'saml.metadataUrl'): AppError {
  if (error.code === 'metadata_multiple_entities' || error.code === 'metadata_entity_not_found') {
    return fieldError('saml.idpEntityId', `must name one identity provider of the metadata: ${error.message}`);
  }
  if (field === 'saml.metadataXml') return fieldError(field, `is not usable: ${error.message}`);
  return new AppError('metadata_fetch_failed', `saml.metadataUrl does not serve usable IdP metadata: ${error.message}`, [
    { field, message: error.message },
  ]);
}

function manualValues(input: SamlInput, stored: IdpValues): IdpValues {
  const ssoUrl = input.ssoUrl === undefined ? stored.ssoUrl : requireHttpUrl(input.ssoUrl, 'saml.ssoUrl');
  let sloUrl = stored.sloUrl;
  if (input.sloUrl === null) sloUrl = null;
  else if (input.sloUrl !== undefined) sloUrl = requireHttpUrl(input.sloUrl, 'saml.sloUrl');
  return {
    idpEntityId: input.idpEntityId ?? stored.idpEntityId,
    ssoUrl,
    ssoBinding: input.ssoBinding ?? stored.ssoBinding ?? (ssoUrl === null ? null : 'redirect'),
    sloUrl,
    certificates: input.certificates === undefined ? stored.certificates : readCertificateInputs(input.certificates),
    // The values no longer come (only) from the URL, so a later refresh from it would silently undo this change.
    metadataUrl: null,
  };
}

/** Each entry is PEM (one or several blocks) or bare base64 DER; duplicates are dropped. */
function readCertificateInputs(entries: readonly string[]): string[] {
  const pems: string[] = [];
  entries.forEach((entry, index) => {
    const read = readCertificates(entry);
    if (!read.ok) throw fieldError(`saml.certificates.${index}`, `is not a usable certificate: ${read.error.message}`);
    for (const certificate of read.value) {
      const pem = certificate.toString();
      if (!pems.includes(pem)) pems.push(pem);
    }
  });
  return pems;
}

/** IdP values are either all there (the connection can log in) or none yet (a draft the customer completes). */
function requireCompleteOrEmpty(settings: SamlSettings): void {
  const present = {
    idpEntityId: settings.idpEntityId !== null,
    ssoUrl: settings.ssoUrl !== null,
    certificates: settings.certificates.length > 0,
  };
  const given = Object.entries(present).filter(([, here]) => here);
  const missing = Object.entries(present).find(([, here]) => !here);
  if (given.length > 0 && missing !== undefined) {
    throw fieldError(
      `saml.${missing[0]}`,
      `is required with ${given.map(([key]) => `saml.${key}`).join(' and ')} (or give saml.metadataXml or saml.metadataUrl)`,
    );
  }
}

/** The certificates as the API shows them, judged against `now`. */
export function describeCertificates(settings: SamlSettings, now: Date): Omit<CertificateInfo, 'pem'>[] {
  return settings.certificates.map((pem) => {
    const parsed = parseCertificates(pem, now);
    // Stored PEMs were read once already; failing now would mean the row was edited by hand.
    if (!parsed.ok || parsed.value[0] === undefined) throw new Error('a stored certificate no longer parses');
    const { pem: _pem, ...info } = parsed.value[0];
    return info;
  });
}

/** What an admin should know about these settings, though they are accepted. */
export function samlWarnings(settings: SamlSettings, now: Date): string[] {
  const warnings: string[] = [];
  describeCertificates(settings, now).forEach((certificate, index) => {
    const which = `saml.certificates.${index} (${certificate.subject})`;
    // Accepted: IdPs keep publishing expired certificates, and SAML trust is the key, not the validity period.
    if (certificate.expired) warnings.push(`${which} expired on ${certificate.notAfter}; ask the IdP for its current certificate`);
    else if (Date.parse(certificate.notBefore) > now.getTime()) warnings.push(`${which} is not valid before ${certificate.notBefore}`);
  });
  if (settings.ssoUrl?.startsWith('http:'))
    warnings.push('saml.ssoUrl uses plain http: users would sign in over an unencrypted connection');
  if (settings.allowSha1) warnings.push('saml.allowSha1 is on: SHA-1 signatures, which can be forged, are accepted');
  if (settings.allowUnsignedLogout)
    warnings.push("saml.allowUnsignedLogout is on: anyone who knows a NameID can end that user's sessions with an unsigned LogoutRequest");
  if (!isSamlComplete(settings))
    warnings.push(
      'the IdP values are missing: give saml.metadataXml, saml.metadataUrl or saml.idpEntityId, ssoUrl and certificates before enabling',
    );
  return warnings;
}
