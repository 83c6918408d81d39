/** Typed registry errors: every failure a caller can act on has its own code. */
import { DecnetError } from '@decnet/api';

export class RegistryError extends DecnetError {
  constructor(code: string, message: string, hint?: string) {
    super(code, message, hint);
    this.name = 'RegistryError';
  }
}

/** Redis cannot be reached (connection refused/lost, timeout). Retry later; nothing was written. */
export class RegistryUnavailable extends RegistryError {
  constructor(message: string, readonly target: string) {
    super('RegistryUnavailable', `registry ${target} unavailable: ${message}`, 'check that Redis is running and reachable; the client reconnects by itself');
  }
}

/** Redis refused the credentials or the ACL user lacks a permission. */
export class RegistryAuthError extends RegistryError {
  constructor(message: string, readonly target: string) {
    super('RegistryAuth', `registry ${target} refused access: ${message}`, 'check the user and password in the registry URL and the ACL of that user');
  }
}

/** A compare-and-set lost: someone wrote a newer slice (or placement) first. Re-read and retry. */
export class StaleGeneration extends RegistryError {
  constructor(
    readonly scope: 'desired' | 'observed' | 'epoch',
    readonly hostId: string | undefined,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      'StaleGeneration',
      scope === 'epoch'
        ? `placement is stale: cluster epoch is ${actual}, expected ${expected} (another apply committed first)`
        : `${scope} slice of host ${hostId ?? '?'} is at generation ${actual}, this write expected ${expected}`,
      're-read the registry and retry',
    );
  }
}

/** The atomic commit found a decky or an IP already held elsewhere (a racing writer got there first). */
export class PlacementCollision extends RegistryError {
  constructor(
    readonly what: 'decky' | 'ip',
    readonly key: string,
    readonly holder: string,
  ) {
    super(
      'PlacementCollision',
      what === 'decky' ? `decky ${key} is already placed on host ${holder}` : `IP ${key} is already held by decky ${holder}`,
      'another apply placed it first: re-read the registry and retry',
    );
  }
}

export class HostNotEmpty extends RegistryError {
  constructor(readonly hostId: string, readonly deckies: string[]) {
    super('HostNotEmpty', `host ${hostId} still has ${deckies.length} decky(s) in its desired slice: ${deckies.slice(0, 5).join(', ')}${deckies.length > 5 ? ', ...' : ''}`, `drain it first (decnetctl drain host ${hostId}) or delete with --force`);
  }
}

export class CorruptEntry extends RegistryError {
  constructor(readonly key: string, detail: string) {
    super('RegistryCorrupt', `registry entry ${key} is unreadable: ${detail}`, 'rewrite it (re-apply) or delete the host');
  }
}
