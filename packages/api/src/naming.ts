/** Docker object names decnet derives from fleet, decky and service names (used everywhere). */

/** Docker network of a fleet. */
export const networkName = (fleet: string): string => `decnet-${fleet}`;

/** Base container of a decky: the decky's own name. */
export const baseContainerName = (decky: string): string => decky;

/** Service container of a decky. */
export const serviceContainerName = (decky: string, service: string): string => `${decky}-${service}`;

/** Container name for a role. */
export const containerName = (decky: string, role: 'base' | 'service', service?: string): string =>
  role === 'base' ? baseContainerName(decky) : serviceContainerName(decky, service ?? '');

/** Network namespace of a lab fleet's attacker side. */
export const labNamespaceName = (fleet: string): string => `decnet-lab-${fleet}`;
