import { PRESETS, type Provider } from '../connections/presets.ts';

/** One identity provider and protocol an IT admin can pick on the setup page. */
export interface SetupChoice {
  /** `<provider>:<protocol>`, the value the page's form posts. */
  id: string;
  provider: Provider;
  protocol: 'saml' | 'oidc';
  label: string;
  /** How sentences name it: "Okta", or "your identity provider" for the generic choices. */
  name: string;
}

/** Short instructions for one choice; the values they name ("ACS URL", …) are shown beside them. */
export interface SetupGuide {
  steps: readonly string[];
  /** Where the admin finds what to give back to Lanyard. */
  giveBack: string;
}

const SAML_ORDER: Provider[] = ['okta', 'entra', 'google', 'adfs', 'jumpcloud', 'keycloak', 'onelogin', 'pingfederate', 'auth0', 'generic'];
const OIDC_ORDER: Provider[] = ['okta', 'entra', 'google', 'keycloak', 'auth0', 'generic'];

function choice(provider: Provider, protocol: 'saml' | 'oidc'): SetupChoice {
  const label =
    provider === 'generic'
      ? protocol === 'saml'
        ? 'Another SAML 2.0 identity provider'
        : 'Another OpenID Connect provider'
      : `${PRESETS[provider].label} (${protocol === 'saml' ? 'SAML' : 'OpenID Connect'})`;
  return {
    id: `${provider}:${protocol}`,
    provider,
    protocol,
    label,
    name: provider === 'generic' ? 'your identity provider' : PRESETS[provider].label,
  };
}

/** Every choice, SAML first (what most enterprise IdPs do best), each protocol in a stable order. */
export const SETUP_CHOICES: readonly SetupChoice[] = [
  ...SAML_ORDER.map((p) => choice(p, 'saml')),
  ...OIDC_ORDER.map((p) => choice(p, 'oidc')),
];

/** The choice for a connection's provider and protocol; providers without OIDC instructions fall back to generic OIDC. */
export function choiceFor(provider: Provider, protocol: 'saml' | 'oidc'): SetupChoice {
  return SETUP_CHOICES.find((c) => c.provider === provider && c.protocol === protocol) ?? choice('generic', protocol);
}

/** The choice a form posted, if it is one on offer. */
export function findChoice(id: string): SetupChoice | undefined {
  return SETUP_CHOICES.find((c) => c.id === id);
}

const SAML: Record<Provider, SetupGuide> = {
  okta: {
    steps: [
      'In the Okta Admin Console, open Applications → Applications → Create App Integration, choose SAML 2.0 and press Next.',
      'Name the app after this product and press Next.',
      'Single sign-on URL: paste the ACS URL (keep "Use this for Recipient URL and Destination URL" checked). Audience URI (SP ' +
        'Entity ID): paste the SP entity ID. Name ID format: EmailAddress; Application username: Email.',
      'Under Attribute Statements, add the attributes listed below (user.email, user.firstName, user.lastName). To send ' +
        'groups, add a Group Attribute Statement with the groups name and the filter "Matches regex .*".',
      'Press Finish, then on the Assignments tab assign the people or groups who should sign in.',
    ],
    giveBack: "Okta shows the Metadata URL on the app's Sign On tab: paste it below.",
  },
  entra: {
    steps: [
      'In the Microsoft Entra admin center, open Enterprise applications → New application → Create your own application, and ' +
        'choose "Integrate any other application you don\'t find in the gallery".',
      'Open Single sign-on and choose SAML.',
      'In Basic SAML Configuration, set Identifier (Entity ID) to the SP entity ID and Reply URL (Assertion Consumer Service ' +
        'URL) to the ACS URL, then Save.',
      'The default Attributes & Claims already send the names listed below. To send groups, add a group claim.',
      'Under Users and groups, assign the people or groups who should sign in.',
    ],
    giveBack: 'Entra ID shows the App Federation Metadata Url in the SAML Certificates section: paste it below.',
  },
  google: {
    steps: [
      'In the Google Admin console, open Apps → Web and mobile apps → Add app → Add custom SAML app; name it and press Continue.',
      'On "Google Identity Provider details", press Download Metadata to save the IdP metadata file, then Continue.',
      'Set ACS URL to the ACS URL and Entity ID to the SP entity ID. Name ID format: EMAIL; Name ID: Basic Information › Primary email. Continue.',
      'Under Attribute mapping, map Primary email, First name and Last name to the names listed below (and Group membership to ' +
        'the groups name, if groups are asked for). Finish.',
      'Open User access and turn the app ON for the organizational units that should sign in (this can take a few minutes to apply).',
    ],
    giveBack: 'Google offers no metadata URL: upload or paste the metadata file you downloaded in step 2.',
  },
  adfs: {
    steps: [
      'In AD FS Management, open Relying Party Trusts → Add Relying Party Trust, choose Claims aware and press Start.',
      'Choose "Import data about the relying party published online" and paste the SP metadata URL (if AD FS cannot reach it, ' +
        'download the SP metadata below and import it from the file).',
      'Give it a display name, choose an access control policy (for example "Permit everyone") and finish.',
      'Edit the Claim Issuance Policy: add a "Send LDAP Attributes as Claims" rule mapping E-Mail-Addresses, Given-Name, ' +
        'Surname (and Token-Groups – Unqualified Names for groups) to the claim types listed below, and a "Transform an Incoming ' +
        'Claim" rule from E-Mail Address to Name ID in Email format.',
    ],
    giveBack:
      'AD FS publishes its metadata at https://<your AD FS host>/FederationMetadata/2007-06/FederationMetadata.xml: paste that ' +
      'URL below, or upload the file.',
  },
  jumpcloud: {
    steps: [
      'In the JumpCloud Admin Portal, open SSO Applications → Add New Application → Custom Application, and choose SAML.',
      'Set SP Entity ID to the SP entity ID and ACS URL to the ACS URL; set an IdP Entity ID of your choosing; SAMLSubject ' +
        'NameID: email, format emailAddress; sign the assertion.',
      'Add the user attributes listed below (email, firstname, lastname); to send groups, include the group attribute under the groups name.',
      'Activate the application and bind the user groups who should sign in.',
    ],
    giveBack: "Use Export Metadata on the application's SSO tab, then upload or paste the file below.",
  },
  keycloak: {
    steps: [
      'In the Keycloak admin console, choose your realm and open Clients → Create client; Client type: SAML; Client ID: the SP entity ID. Save.',
      'Set Valid redirect URIs and Master SAML Processing URL to the ACS URL, Name ID format to email, and turn "Sign assertions" on.',
      'On the Keys tab, turn "Client signature required" off.',
      'Under Client scopes → the client\'s dedicated scope, add "User Property" mappers for email, firstName and lastName with ' +
        'the SAML attribute names listed below (and a "Group list" mapper named groups, full group path off, for groups).',
    ],
    giveBack: 'Keycloak serves its metadata at https://<host>/realms/<realm>/protocol/saml/descriptor: paste that URL below.',
  },
  onelogin: {
    steps: [
      'In OneLogin Administration, open Applications → Add App and choose "SAML Custom Connector (Advanced)". Save.',
      'On Configuration, set Audience (EntityID) to the SP entity ID, Recipient and ACS (Consumer) URL to the ACS URL, and ACS ' +
        '(Consumer) URL Validator to the ACS URL as a regular expression. SAML signature element: Assertion. Save.',
      'On Parameters, add the parameters listed below (User.email, User.FirstName, User.LastName; memberOf for groups) with ' +
        '"Include in SAML assertion" checked.',
      'Give access to the roles or users who should sign in.',
    ],
    giveBack: "On the SSO tab, copy the Issuer URL (OneLogin's metadata URL) and paste it below.",
  },
  pingfederate: {
    steps: [
      'In the PingFederate administrative console, open Applications → SP Connections → Create Connection, with Browser SSO and SAML 2.0.',
      'Import the SP metadata: choose URL and paste the SP metadata URL (or upload the downloaded SP metadata file).',
      'In Browser SSO, enable SP-initiated SSO; in the attribute contract add the attributes listed below (mail, givenName, ' +
        'sn; memberOf for groups) and map them from your data store; use the emailAddress Name ID format.',
      'Sign the assertion with your signing certificate and activate the connection.',
    ],
    giveBack:
      'Export your IdP metadata (System → Protocol Metadata → Metadata Export) and upload it below, or paste ' +
      'https://<PingFederate host>/pf/federation_metadata.ping?PartnerSpId=<the SP entity ID>.',
  },
  auth0: {
    steps: [
      'In the Auth0 Dashboard, open Applications → Create Application → Regular Web Application.',
      'On the Addons tab, enable SAML2 Web App. Set Application Callback URL to the ACS URL and, in Settings, set "audience" to the SP entity ID.',
      'Auth0 sends the claim types listed below by default.',
    ],
    giveBack: "On the add-on's Usage tab, copy the Identity Provider Metadata URL and paste it below.",
  },
  generic: {
    steps: [
      'Create a SAML 2.0 application (a service provider) in your identity provider, or import the SP metadata from the SP metadata URL.',
      'Otherwise enter the ACS URL (HTTP-POST binding) and the SP entity ID (the audience) by hand.',
      "Send the user's email address as the NameID (a persistent identifier also works) and sign the assertion or the response with RSA-SHA256.",
      'Send the attributes listed below.',
    ],
    giveBack:
      "Give Lanyard your identity provider's metadata (a URL, or the XML file), or its entity ID, single sign-on URL and signing certificate.",
  },
};

const OIDC_GENERIC: SetupGuide = {
  steps: [
    'Register a confidential web application (OpenID Connect, authorization code flow) in your provider.',
    'Register the redirect URI exactly as shown. Lanyard uses PKCE (S256), state and nonce.',
    'Allow the scopes openid, email and profile, and send the claims listed below.',
  ],
  giveBack:
    'Give Lanyard the issuer URL (its discovery document must be at <issuer>/.well-known/openid-configuration), the client ID and the client secret.',
};

const OIDC: Partial<Record<Provider, SetupGuide>> = {
  okta: {
    steps: [
      'In the Okta Admin Console, open Applications → Create App Integration, choose OIDC – OpenID Connect and Web Application.',
      'Add the redirect URI as a Sign-in redirect URI; grant type Authorization Code. Assign the people or groups who should sign in.',
      'To send groups, set the ID token\'s groups claim filter to "groups" matching the regex .* on the Sign On tab.',
    ],
    giveBack:
      "Issuer: https://<your Okta domain> (or https://<your Okta domain>/oauth2/default). Copy the Client ID and Client secret from the app's General tab.",
  },
  entra: {
    steps: [
      'In the Microsoft Entra admin center, open App registrations → New registration; supported account types: this ' +
        'organizational directory only; Redirect URI: Web, the redirect URI.',
      'Under Certificates & secrets, create a client secret and copy its Value.',
      'Under Token configuration, add the optional claims email, given_name and family_name; for groups, define app roles and assign them.',
    ],
    giveBack:
      'Issuer: https://login.microsoftonline.com/<Directory (tenant) ID>/v2.0. Client ID: the Application (client) ID on the ' +
      'Overview page; client secret: the value from step 2.',
  },
  google: {
    steps: [
      'In the Google Cloud console, set the OAuth consent screen to Internal.',
      'Open APIs & Services → Credentials → Create credentials → OAuth client ID, type Web application, and add the redirect ' +
        'URI as an Authorized redirect URI.',
      'Google sends no groups over OpenID Connect; use SAML if groups are needed.',
    ],
    giveBack: 'Issuer: https://accounts.google.com. Copy the client ID and client secret Google shows.',
  },
  keycloak: {
    steps: [
      'In the Keycloak admin console, open Clients → Create client, type OpenID Connect; turn Client authentication on and keep Standard flow.',
      'Add the redirect URI to Valid redirect URIs. Save.',
      'For groups, add a "Group Membership" mapper named groups (full group path off) to the client\'s dedicated scope.',
    ],
    giveBack: 'Issuer: https://<host>/realms/<realm>. Copy the client secret from the Credentials tab.',
  },
  auth0: {
    steps: [
      'In the Auth0 Dashboard, open Applications → Create Application → Regular Web Application.',
      'In Settings, add the redirect URI to Allowed Callback URLs and save.',
    ],
    giveBack: 'Issuer: https://<your Auth0 domain>/ (with the trailing slash). Copy the Client ID and Client Secret from Settings.',
  },
  generic: OIDC_GENERIC,
};

/** The instructions for a choice. */
export function guideFor(choice: SetupChoice): SetupGuide {
  return choice.protocol === 'saml' ? SAML[choice.provider] : (OIDC[choice.provider] ?? OIDC_GENERIC);
}
