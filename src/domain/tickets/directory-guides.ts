import type { Provider } from '../connections/presets.ts';
import type { DirectoryProvider } from '../scim/views.ts';

/** How an IT admin points one IdP's SCIM client at a directory; "base URL" and "token" are shown beside it. */
export interface DirectoryGuide {
  provider: DirectoryProvider;
  label: string;
  steps: readonly string[];
}

/** Every IdP's directory sync instructions, in the order the page lists them; from each IdP's SCIM provisioning documentation. */
export const DIRECTORY_GUIDES: readonly DirectoryGuide[] = [
  {
    provider: 'okta',
    label: 'Okta',
    steps: [
      'In the Okta Admin Console, open the app integration you use for single sign-on; on General → App Settings choose Edit, ' +
        'set Provisioning to SCIM and save.',
      'On the Provisioning tab, Integration → Edit: SCIM connector base URL = the base URL below; Unique identifier field for ' +
        'users = userName; supported actions: Push New Users, Push Profile Updates, Push Groups; Authentication Mode = HTTP Header, ' +
        'Authorization = the token below. Press Test Connector Configuration, then Save.',
      'Provisioning → To App → Edit: enable Create Users, Update User Attributes and Deactivate Users, and save.',
      'Assign people and groups on the Assignments tab; push groups on the Push Groups tab.',
    ],
  },
  {
    provider: 'entra',
    label: 'Microsoft Entra ID',
    steps: [
      'In the Microsoft Entra admin center, open Enterprise applications → the application you use for single sign-on → Provisioning, and choose Get started.',
      'Provisioning Mode = Automatic. Under Admin Credentials: Tenant URL = the base URL below followed by ?aadOptscim062020, ' +
        'Secret Token = the token below. Press Test Connection, then Save.',
      'Keep the default attribute mappings (userName from userPrincipalName); under Settings, Scope = Sync only assigned users and groups.',
      'Set Provisioning Status to On and save. Entra syncs about every 40 minutes; Provision on demand tries one user at once.',
    ],
  },
  {
    provider: 'jumpcloud',
    label: 'JumpCloud',
    steps: [
      'In the JumpCloud Admin Portal, open SSO Applications → the application you use for single sign-on → Identity Management.',
      'Choose SCIM 2.0; Base URL = the base URL below, Token Key = the token below. Test Connection (it creates and deletes a test user), then Activate.',
      'Bind the user groups to provision on the User Groups tab, and save.',
    ],
  },
  {
    provider: 'onelogin',
    label: 'OneLogin',
    steps: [
      'In OneLogin, add the application "SCIM Provisioner with SAML (SCIM v2 Enterprise)" (or open the one you use for single sign-on).',
      'On Configuration: SCIM Base URL = the base URL below, SCIM Bearer Token = the token below; press Enable under API Connection, then Save.',
      'On Provisioning: tick Enable provisioning, choose Suspend for deleted and suspended users, and save; assign users on the Users tab.',
    ],
  },
  {
    provider: 'pingfederate',
    label: 'PingFederate',
    steps: [
      'In PingFederate, open the SP connection you use for single sign-on; on Connection Type tick Outbound Provisioning and choose the SCIM Connector.',
      'Outbound Provisioning → Configure Provisioning → Target: SCIM URL = the base URL below, SCIM Version = 2.0, ' +
        'Authentication Method = OAuth 2 Bearer Token, Access Token = the token below.',
      'Choose the source users and groups on Channels, map the attributes (userName, emails, name), activate the channel and save.',
    ],
  },
  {
    provider: 'rippling',
    label: 'Rippling',
    steps: [
      'In Rippling, open App Management → the application → Settings, and choose SCIM provisioning.',
      'Enter the base URL below as the SCIM base URL and the token below as the bearer token, then choose which people and groups to provision.',
    ],
  },
  {
    provider: 'generic',
    label: 'Another SCIM 2.0 client',
    steps: [
      "In your identity provider's SCIM 2.0 provisioning settings, enter the base URL below as the endpoint (tenant URL) and the token below as a bearer token (Authorization: Bearer …).",
      'Enable creating, updating and deactivating users, and pushing groups if you use them.',
    ],
  },
];

/** The directory provider of an SSO connection's provider: the same IdP when it has SCIM instructions, else generic. */
export function directoryProviderFor(provider: Provider): DirectoryProvider {
  return DIRECTORY_GUIDES.find((g) => g.provider === provider)?.provider ?? 'generic';
}
