/**
 * The Docker labels dispatch reads: the contract with whatever starts Tinyforge's containers
 * (docs/architecture.md, "Row IDs"). Nothing else in a container's labels is kept in memory.
 */

export const LABEL_MANAGED = 'tinyforge.managed';
export const LABEL_WORKLOAD_ID = 'tinyforge.workload.id';
export const LABEL_WORKLOAD_KIND = 'tinyforge.workload.kind';
export const LABEL_ROLE = 'tinyforge.role';
export const LABEL_STATIC_SITE = 'tinyforge.static-site';
export const LABEL_COMPOSE_PROJECT = 'com.docker.compose.project';
export const LABEL_COMPOSE_SERVICE = 'com.docker.compose.service';
export const LABEL_COMPOSE_NUMBER = 'com.docker.compose.container-number';
/** Compose projects of Tinyforge stacks start with this. */
export const COMPOSE_PROJECT_PREFIX = 'tinyforge-';

/** Every label dispatch reads: the only ones the controller keeps in memory. */
export const DISPATCH_LABELS: readonly string[] = [
  LABEL_MANAGED,
  LABEL_WORKLOAD_ID,
  LABEL_WORKLOAD_KIND,
  LABEL_ROLE,
  LABEL_STATIC_SITE,
  LABEL_COMPOSE_PROJECT,
  LABEL_COMPOSE_SERVICE,
  LABEL_COMPOSE_NUMBER,
];
