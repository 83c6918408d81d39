/**
 * What every engine-facing command needs: the host id, the engine, the state dir.
 * Flags and environment variables are read here once.
 */
import { Flags } from '@oclif/core';
import { DockerEngine, resolveHostId, type Engine } from '@decnet/engine';

export const hostFlags = {
  'host-id': Flags.string({ description: 'id of this host (default: from /etc/machine-id)', env: 'DECNET_HOST_ID' }),
  'state-dir': Flags.string({ description: 'directory for files decnet owns (default /var/lib/decnet)', env: 'DECNET_STATE_DIR' }),
};

export interface HostContext {
  hostId: string;
  engine: Engine;
}

export async function hostContext(flags: { 'host-id'?: string; 'state-dir'?: string }): Promise<HostContext> {
  const hostId = await resolveHostId({ hostId: flags['host-id'] });
  const engine = new DockerEngine({ stateDir: flags['state-dir'] });
  return { hostId, engine };
}
