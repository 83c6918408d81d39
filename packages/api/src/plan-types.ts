/**
 * A Plan is data: an ordered list of single-call operations, each with its cause.
 * The planner (pure) produces it; `diff`, `--dry-run` and golden tests print it;
 * the executor (engine package) runs it without making decisions of its own.
 *
 * Ordering contract for executors: ops carry a `wave`; waves run one after another in
 * ascending order, and the plan lists ops sorted by wave.
 *  - wave 0: fleet setup (ensure-lab, create-network, create-settings then remove-settings
 *    of the settings it replaces), sequential;
 *  - wave 1: teardown of deckies leaving the host (pruned/deleted), grouped by decky;
 *  - wave 2: decky builds and recreates, grouped by decky;
 *  - wave 3: fleet teardown (remove-network, remove-lab, remove-settings), sequential.
 * Inside waves 1 and 2, each decky's ops run sequentially in plan order and different
 * deckies run in parallel (bounded). A failed op fails the rest of its decky's group only.
 */
import type { FleetSettings } from './fleet-settings.js';
import type { Labels, ResolvedDecky, ResolvedFleet, ResolvedService } from './types.js';

export type Role = 'base' | 'service';

/** What the engine needs to create a base container (the executor adds hardening and defaults). */
export interface BaseContainerPlan {
  role: 'base';
  image: string;
  hostname: string;
  /** docker network name of the fleet */
  network: string;
  ip: string;
  /** MAC on the fleet network (absent for specs written before decnet derived MACs: the engine picks one) */
  mac?: string;
  sysctls: Record<string, string>;
}

/** What the engine needs to create a service container. */
export interface ServiceContainerPlan {
  role: 'service';
  image: string;
  /** container name of the decky's base (NetworkMode container:<base>) */
  baseName: string;
  service: ResolvedService;
  /** whether the service has secret values that must be written into its config file */
  hasSecrets: boolean;
}

export type ContainerPlan = BaseContainerPlan | ServiceContainerPlan;

export type Wave = 0 | 1 | 2 | 3;

interface OpBase {
  wave: Wave;
  cause: string;
}

export type Op =
  | (OpBase & { op: 'ensure-lab'; fleet: string; subnet: string; gateway: string })
  | (OpBase & { op: 'create-network'; fleet: string; name: string; spec: ResolvedFleet; labels: Labels })
  | (OpBase & { op: 'remove-network'; fleet: string; name: string; id: string })
  | (OpBase & { op: 'remove-lab'; fleet: string })
  | (OpBase & { op: 'create-settings'; fleet: string; name: string; settings: FleetSettings; labels: Labels })
  | (OpBase & { op: 'remove-settings'; fleet: string; name: string })
  | (OpBase & {
      op: 'create-container';
      decky: string;
      fleet: string;
      role: Role;
      service?: string;
      name: string;
      labels: Labels;
      container: ContainerPlan;
      /** the decky spec this container is created from (for writing the service config file) */
      spec: ResolvedDecky;
    })
  /* `fleet` on the ops below is informational (plan text); optional so older producers stay valid. */
  | (OpBase & { op: 'start-container'; decky: string; fleet?: string; name: string })
  | (OpBase & { op: 'stop-container'; decky: string; fleet?: string; name: string; id: string })
  | (OpBase & { op: 'remove-container'; decky: string; fleet?: string; name: string; id: string });

export type OpKind = Op['op'];

/** A refusal found while planning: nothing is executed when any exists. */
export interface PlanConflict {
  code: string;
  message: string;
  hint?: string;
}

export interface Plan {
  ops: Op[];
  conflicts: PlanConflict[];
  /** per desired decky: the generation it will have after the plan runs */
  generations: Record<string, number>;
}
