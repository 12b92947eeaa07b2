/**
 * The length of every text column the service reads or writes, in characters (MySQL's varchar
 * counts characters; utf8mb4), keyed by table and by the entity's property name. The one table:
 * the TypeORM entities (src/store/entities), dispatch's `value_too_long` refusal, the refusals
 * repository's clipping and the read API's parameter checks all read it. The migrations keep
 * their own literals (a migration is history and must not change when this table does);
 * spec/store/schema.spec.ts proves that entities and migrations agree.
 */
export const COLUMN_LENGTHS = {
  containers: { id: 512, workloadId: 191, workloadKind: 32, role: 255, containerId: 128, imageRef: 1024, host: 255, state: 32 },
  workloads: { id: 191, kind: 16, refId: 191, name: 255 },
  stacks: { id: 191, name: 255, composeProjectName: 191 },
  staticSites: { id: 191, name: 255 },
  leases: { name: 191, holder: 255 },
  workloadStatus: { workloadId: 191, phase: 16 },
  containerEvents: { rowId: 512, workloadId: 191, fromState: 32, toState: 32, reason: 32 },
  containerRefusals: { host: 255, containerId: 128, containerName: 255, dispatch: 16, reason: 32, workloadId: 191, rowId: 512, detail: 1024 },
  hosts: { host: 255, agent: 255, version: 64, lastError: 512 },
} as const;

const C = COLUMN_LENGTHS.containers;

/**
 * The observed columns whose values come from outside (labels, Docker, HOST_NAME) and may be
 * too long for their column, in characters: such a container is refused (`value_too_long`),
 * never truncated. `state` is always one of the short row states and is not checked.
 */
export const COLUMN_LIMITS = {
  id: C.id,
  workloadId: C.workloadId,
  workloadKind: C.workloadKind,
  role: C.role,
  containerId: C.containerId,
  imageRef: C.imageRef,
  host: C.host,
} as const;
