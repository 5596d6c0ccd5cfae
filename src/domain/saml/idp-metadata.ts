import type { Catalogue } from '../catalogue.ts';
import { err, ok, type Result } from '../result.ts';
import { readCertificates, type CertificateError } from '../../crypto/certificates.ts';
import { NS, attr, children, descendants, isElement, parseXml, textOf, type XmlParseFailure } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

/** What Lanyard needs from an identity provider's SAML 2.0 metadata. */
export interface IdpMetadata {
  entityId: string;
  /** SingleSignOnService locations by binding (first of each). */
  ssoUrls: { redirect?: string; post?: string };
  /** SingleLogoutService locations by binding (first of each). */
  sloUrls: { redirect?: string; post?: string };
  /** PEM of every certificate in a KeyDescriptor with use="signing" or without `use`; never empty. */
  signingCertificates: string[];
  /** PEM of every certificate in a KeyDescriptor with use="encryption" or without `use`. */
  encryptionCertificates: string[];
  nameIdFormats: string[];
  wantAuthnRequestsSigned: boolean;
}

/**
 * Why IdP metadata is refused, by stable code; the message built next to each failure is written
 * for the IT admin who supplied the metadata and names what to fix.
 */
export const IDP_METADATA_ERROR_CATALOGUE = {
  metadata_not_xml: { description: 'The metadata is not well-formed XML.' },
  metadata_too_large: { description: 'The metadata is larger than 1 MiB.' },
  metadata_doctype_forbidden: { description: 'The metadata carries a DOCTYPE or entity declaration, which SAML metadata never needs.' },
  metadata_too_complex: {
    description:
      'The metadata nests elements more than 64 deep, or has more than 10,000 elements, 256 attributes on one element or 20,000 in all.',
  },
  metadata_not_saml: { description: 'The XML is not SAML 2.0 metadata (its root is not md:EntityDescriptor or md:EntitiesDescriptor).' },
  metadata_multiple_entities: { description: 'The metadata describes several identity providers and none was chosen by entity ID.' },
  metadata_entity_not_found: { description: 'The entity ID asked for is not an identity provider in the metadata.' },
  metadata_entity_id_missing: { description: 'The md:EntityDescriptor has no entityID.' },
  metadata_no_idp_descriptor: {
    description: 'The entity has no SAML 2.0 md:IDPSSODescriptor (for example, it is service-provider metadata).',
  },
  metadata_no_sso_service: {
    description: 'The identity provider lists no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.',
  },
  metadata_bad_endpoint_url: { description: 'A SingleSignOnService or SingleLogoutService Location is not an http(s) URL.' },
  metadata_no_signing_certificate: { description: 'The identity provider lists no signing certificate.' },
  metadata_certificate_invalid: { description: 'A ds:X509Certificate in a KeyDescriptor is not a readable X.509 certificate.' },
} as const satisfies Catalogue;

/** A stable code from {@link IDP_METADATA_ERROR_CATALOGUE}. */
export type IdpMetadataErrorCode = keyof typeof IDP_METADATA_ERROR_CATALOGUE;

/** Why metadata was refused; `message` is written for the IT admin who supplied it. */
export interface IdpMetadataError {
  code: IdpMetadataErrorCode;
  message: string;
  detail?: {
    /** For `metadata_multiple_entities` and `metadata_entity_not_found`: the IdP entity IDs on offer. */
    entityIds?: string[];
    /** For `metadata_certificate_invalid`: what the certificate reader said. */
    certificateError?: CertificateError;
  };
}

export type IdpMetadataResult = Result<IdpMetadata, IdpMetadataError>;

const FROM_XML_FAILURE = {
  xml_too_large: 'metadata_too_large',
  xml_doctype_forbidden: 'metadata_doctype_forbidden',
  xml_too_complex: 'metadata_too_complex',
  xml_malformed: 'metadata_not_xml',
} as const satisfies Record<XmlParseFailure['code'], IdpMetadataErrorCode>;
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
/** How many entity IDs an error message lists before summarising (federation aggregates hold thousands). */
const LISTED_ENTITY_IDS = 10;

/**
 * Reads IdP metadata (SAML metadata §2.3.2 EntityDescriptor, or §2.3.1 EntitiesDescriptor holding
 * one identity provider, or several with `entityId` naming the one to use). A metadata signature,
 * if present, is not checked: the XML reaches Lanyard from an admin's paste or over TLS, and the
 * certificates it yields are what later responses are verified against.
 */
export function parseIdpMetadata(xml: string, options: { entityId?: string } = {}): IdpMetadataResult {
  const parsed = parseXml(xml);
  if (!parsed.ok) {
    return failure(FROM_XML_FAILURE[parsed.error.code], parsed.error.message);
  }
  const entity = selectEntity(parsed.value.root, options.entityId);
  if (!entity.ok) return entity;
  return readEntity(entity.value);
}

function selectEntity(root: XmlElement, wanted: string | undefined): Result<XmlElement, IdpMetadataError> {
  if (isElement(root, NS.md, 'EntityDescriptor')) {
    const entityId = attr(root, 'entityID');
    if (wanted !== undefined && entityId !== wanted) {
      const detail = { entityIds: entityId === undefined ? [] : [entityId] };
      return failure('metadata_entity_not_found', `The metadata describes ${quote(entityId ?? '')}, not ${quote(wanted)}.`, { detail });
    }
    return ok(root);
  }
  if (!isElement(root, NS.md, 'EntitiesDescriptor')) return failure('metadata_not_saml', describeNotMetadata(root));
  // EntitiesDescriptor may nest (§2.3.1); descendants() walks without recursion.
  const entities = [...descendants(root)].filter((el) => isElement(el, NS.md, 'EntityDescriptor'));
  const identityProviders = entities.filter((el) => findIdpDescriptor(el) !== undefined);
  const ids = identityProviders.map((el) => attr(el, 'entityID') ?? '');
  if (wanted !== undefined) {
    const matches = identityProviders.filter((el) => attr(el, 'entityID') === wanted);
    const [match] = matches;
    if (match !== undefined && matches.length === 1) return ok(match);
    if (matches.length > 1)
      return failure('metadata_multiple_entities', `The metadata describes ${quote(wanted)} ${matches.length} times.`);
    return failure('metadata_entity_not_found', `No identity provider ${quote(wanted)} in this metadata. ${listIds(ids)}`, {
      detail: { entityIds: ids },
    });
  }
  const [only, ...others] = identityProviders;
  if (only === undefined) {
    // Let readEntity explain what the single entity lacks; with none at all, say so here.
    const [entity] = entities;
    if (entity !== undefined && entities.length === 1) return ok(entity);
    return failure('metadata_no_idp_descriptor', 'The metadata has no identity provider (no md:IDPSSODescriptor for SAML 2.0).');
  }
  if (others.length > 0) {
    const message = `The metadata describes ${ids.length} identity providers; choose one by entity ID. ${listIds(ids)}`;
    return failure('metadata_multiple_entities', message, { detail: { entityIds: ids } });
  }
  return ok(only);
}

function describeNotMetadata(root: XmlElement): string {
  const { localName, namespaceURI } = root as { localName: string; namespaceURI: string | null };
  const where = namespaceURI ? ` in namespace ${clip(namespaceURI)}` : ' without a namespace';
  return `This is not SAML 2.0 metadata: the document is a <${clip(localName)}> element${where}, not an md:EntityDescriptor.`;
}

/** Values from the document go into messages shortened, so a hostile one cannot flood logs or pages. */
function clip(value: string): string {
  return value.length > 120 ? `${value.slice(0, 117)}...` : value;
}

function quote(value: string): string {
  return `"${clip(value)}"`;
}

function listIds(ids: string[]): string {
  const shown = ids.slice(0, LISTED_ENTITY_IDS).map(quote).join(', ');
  const more = ids.length > LISTED_ENTITY_IDS ? ` and ${ids.length - LISTED_ENTITY_IDS} more` : '';
  return ids.length === 0 ? 'It names no identity provider.' : `Identity providers: ${shown}${more}.`;
}

/** The first IDPSSODescriptor that supports SAML 2.0 (§2.4.1 protocolSupportEnumeration). */
function findIdpDescriptor(entity: XmlElement): XmlElement | undefined {
  return children(entity, NS.md, 'IDPSSODescriptor').find((el) =>
    (attr(el, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL),
  );
}

function readEntity(entity: XmlElement): IdpMetadataResult {
  const entityId = attr(entity, 'entityID')?.trim();
  if (!entityId) return failure('metadata_entity_id_missing', 'The md:EntityDescriptor has no entityID attribute.');
  const idp = findIdpDescriptor(entity);
  if (idp === undefined) return failure('metadata_no_idp_descriptor', describeMissingIdp(entity));

  const ssoUrls = readEndpoints(idp, 'SingleSignOnService');
  if (!ssoUrls.ok) return ssoUrls;
  if (ssoUrls.value.redirect === undefined && ssoUrls.value.post === undefined) {
    return failure(
      'metadata_no_sso_service',
      'The identity provider lists no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.',
    );
  }
  const sloUrls = readEndpoints(idp, 'SingleLogoutService');
  if (!sloUrls.ok) return sloUrls;
  const signing = readKeyDescriptors(idp, 'signing');
  if (!signing.ok) return signing;
  if (signing.value.length === 0) {
    return failure(
      'metadata_no_signing_certificate',
      'The identity provider lists no signing certificate (md:KeyDescriptor with ds:X509Certificate).',
    );
  }
  const encryption = readKeyDescriptors(idp, 'encryption');
  if (!encryption.ok) return encryption;
  return ok({
    entityId,
    ssoUrls: ssoUrls.value,
    sloUrls: sloUrls.value,
    signingCertificates: signing.value,
    encryptionCertificates: encryption.value,
    nameIdFormats: [
      ...new Set(
        children(idp, NS.md, 'NameIDFormat')
          .map((el) => textOf(el).trim())
          .filter((f) => f !== ''),
      ),
    ],
    // xs:boolean (XML Schema Part 2 §3.2.2) allows "1" as well as "true"; absent means false.
    wantAuthnRequestsSigned: ['true', '1'].includes((attr(idp, 'WantAuthnRequestsSigned') ?? '').trim()),
  });
}

function describeMissingIdp(entity: XmlElement): string {
  if (children(entity, NS.md, 'SPSSODescriptor').length > 0) {
    return "This is a service provider's metadata (md:SPSSODescriptor); Lanyard needs the identity provider's metadata.";
  }
  if (children(entity, NS.md, 'IDPSSODescriptor').length > 0) {
    return 'The identity provider does not announce SAML 2.0 support (protocolSupportEnumeration).';
  }
  return 'The metadata has no identity provider (no md:IDPSSODescriptor).';
}

type Endpoints = Result<{ redirect?: string; post?: string }, IdpMetadataError>;

function readEndpoints(idp: XmlElement, localName: 'SingleSignOnService' | 'SingleLogoutService'): Endpoints {
  const urls: { redirect?: string; post?: string } = {};
  for (const endpoint of children(idp, NS.md, localName)) {
    const binding = attr(endpoint, 'Binding');
    const key = binding === BINDING_REDIRECT ? 'redirect' : binding === BINDING_POST ? 'post' : undefined;
    if (key === undefined || urls[key] !== undefined) continue;
    const location = (attr(endpoint, 'Location') ?? '').trim();
    // Browsers are sent to this URL, so anything but http(s) (javascript:, data:) is refused.
    if (!isHttpUrl(location)) {
      const binding = key === 'post' ? 'HTTP-POST' : 'HTTP-Redirect';
      return failure('metadata_bad_endpoint_url', `The ${localName} for ${binding} has no valid http(s) Location.`);
    }
    urls[key] = location;
  }
  return ok(urls);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

type Pems = Result<string[], IdpMetadataError>;

/** Certificates of KeyDescriptors for `use`; one without `use` serves both purposes (metadata §2.4.1.1). */
function readKeyDescriptors(idp: XmlElement, use: 'signing' | 'encryption'): Pems {
  const pems: string[] = [];
  for (const descriptor of children(idp, NS.md, 'KeyDescriptor')) {
    const declared = attr(descriptor, 'use');
    if (declared !== undefined && declared !== use) continue;
    for (const keyInfo of children(descriptor, NS.ds, 'KeyInfo')) {
      for (const data of children(keyInfo, NS.ds, 'X509Data')) {
        for (const element of children(data, NS.ds, 'X509Certificate')) {
          const read = readCertificates(textOf(element));
          // One certificate per element (XML-DSig §4.4.4); a stray PEM armour around it is tolerated.
          const certificate = read.ok && read.value.length === 1 ? read.value[0] : undefined;
          if (certificate === undefined) {
            const reason = read.ok ? 'One ds:X509Certificate element holds several certificates.' : read.error.message;
            const extra = read.ok ? {} : { detail: { certificateError: read.error } };
            return failure('metadata_certificate_invalid', `A ${use} certificate in the metadata cannot be read: ${reason}`, extra);
          }
          const pem = certificate.toString();
          if (!pems.includes(pem)) pems.push(pem);
        }
      }
    }
  }
  return ok(pems);
}

function failure(code: IdpMetadataErrorCode, message: string, extra: Partial<IdpMetadataError> = {}): Result<never, IdpMetadataError> {
  return err({ ...extra, code, message });
}
