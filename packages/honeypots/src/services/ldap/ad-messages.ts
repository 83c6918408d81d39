/**
 * Active Directory's LDAP diagnostic messages, which differ per Windows build
 * only in the DSID (source location) and the trailing "vNNNN" (build tag). AD
 * terminates every diagnosticMessage with a NUL byte, which clients print as
 * a C string (ldapsearch) or show as "\x00" (python, node): we send it too.
 * The strings are those real DCs are publicly quoted returning.
 */
import type { Persona } from '@decnet/api';

interface BuildTags {
  /** the build tag at the end of every message */
  v: string;
  /** DSID of the "AcceptSecurityContext error, data 52e" bind failure */
  bind: string;
  /** DSID of "a successful bind must be completed" */
  needBind: string;
}

// Keyed by the lowest build each applies to; a build takes the nearest entry below it.
const TAGS: [number, BuildTags][] = [
  [7601, { v: 'v1db1', bind: 'DSID-0C0903A9', needBind: 'DSID-0C0906E8' }],
  [9600, { v: 'v23f0', bind: 'DSID-0C0903C5', needBind: 'DSID-0C09079A' }],
  [14393, { v: 'v2580', bind: 'DSID-0C09044E', needBind: 'DSID-0C0907C2' }],
  [17763, { v: 'v4563', bind: 'DSID-0C09044E', needBind: 'DSID-0C090A5C' }],
  [20348, { v: 'v4f7c', bind: 'DSID-0C090569', needBind: 'DSID-0C090A5A' }],
];

function tags(persona: Persona): BuildTags {
  const build = persona.windows?.build ?? 17763;
  let pick = TAGS[0]![1];
  for (const [from, t] of TAGS) if (build >= from) pick = t;
  return pick;
}

export interface AdMessages {
  /** invalidCredentials (49) for a wrong password or unknown user */
  invalidCredentials: string;
  /** operationsError (1) for anything but the rootDSE before a successful bind */
  bindRequired: string;
  /** noSuchObject (32) for a base DN outside the directory */
  noSuchObject(bestMatch: string): string;
  /** insufficientAccessRights (50) for writes */
  insufficientAccess: string;
  /** protocolError (2) in the notice of disconnection after an undecodable message */
  decodingError: string;
  /** unavailableCriticalExtension (12) / protocolError for an unknown extended operation */
  unknownExtended: string;
  /** authMethodNotSupported (7) for a SASL mechanism AD does not offer */
  saslNotSupported: string;
}

export function adMessages(persona: Persona): AdMessages {
  const t = tags(persona);
  return {
    invalidCredentials: `80090308: LdapErr: ${t.bind}, comment: AcceptSecurityContext error, data 52e, ${t.v}\0`,
    bindRequired: `000004DC: LdapErr: ${t.needBind}, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, ${t.v}\0`,
    noSuchObject: (best) => `0000208D: NameErr: DSID-0310028C, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'${best}'\n\0`,
    insufficientAccess: `00000005: SecErr: DSID-03152E29, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0\n\0`,
    decodingError: `00000000: LdapErr: DSID-0C0C0A2D, comment: Error decoding ldap message, data 0, ${t.v}\0`,
    unknownExtended: `0000203D: LdapErr: DSID-0C0C0B5A, comment: Unknown extended request OID, data 0, ${t.v}\0`,
    saslNotSupported: `00002027: LdapErr: DSID-0C090A1B, comment: Unsupported authentication mechanism, data 0, ${t.v}\0`,
  };
}

/** AD's functional level for the DC's build (domainControllerFunctionality; a fresh forest runs at the same level). */
export function functionalLevel(persona: Persona): number {
  const build = persona.windows?.build ?? 17763;
  if (build >= 26100) return 10;
  if (build >= 14393) return 7;
  if (build >= 9600) return 6;
  if (build >= 9200) return 5;
  return 4;
}
