/** Shared shapes of the INI import. */
import type { ConfigValue, ServicePort } from './types.js';
import type { IniSection } from './ini-parse.js';

export interface IniIssue {
  file: string;
  line?: number;
  section?: string;
  key?: string;
  message: string;
}

export interface IniImportOptions {
  /** file name used in issues (default `<ini>`) */
  file?: string;
  /** name of the Fleet the deckies join (default `default`) */
  fleetName?: string;
  /** build a lab fleet: `lab: true`, no parent interface */
  lab?: boolean;
}

export interface IniImportResult {
  /** plain Fleet / Decky / DeckySet manifest objects (best effort when there are issues) */
  manifests: Record<string, unknown>[];
  /** nothing should be applied while this is non-empty */
  issues: IniIssue[];
}

/** What the import needs to know about services, archetypes and OS profiles. */
export interface IniCatalog {
  /** known service names -> their ports */
  services: ReadonlyMap<string, readonly ServicePort[]>;
  /** known archetype slugs -> their services */
  archetypes: ReadonlyMap<string, readonly string[]>;
  osProfiles: readonly string[];
  /** coerce one service's raw persona config; errors name the key */
  coerce(service: string, raw: Record<string, string>): { config: Record<string, ConfigValue>; errors: { key?: string; message: string }[] };
}

/** Issue reporter bound to a file. */
export type Report = (where: { line?: number; section?: string; key?: string }, message: string) => void;

/** A decky section as read, before persona config and emission. */
export interface DeckyDraft {
  section: IniSection;
  name: string;
  /** present only when amount > 1 (a DeckySet) */
  replicas?: number;
  ip?: string;
  archetype?: string;
  services?: string[];
  /** services were picked at random (neither services nor archetype given) */
  randomServices: boolean;
  nmapOS?: string;
  mutateInterval?: string;
  serviceConfig: Record<string, Record<string, ConfigValue>>;
}
