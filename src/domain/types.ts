/**
 * The model's vocabulary: every closed list of values exactly once, as a `const` list with its
 * type derived from it (the list feeds metrics label values, the OpenAPI enums and validation;
 * the type feeds the compiler), and the plain data shapes the pipeline passes around. Everything
 * above `src/domain` imports these; nothing here imports anything outside `src/domain`.
 */

/**
 * The states the service writes to `containers.state`: Docker's states normalised
 * (`exited`, `dead` -> `stopped`), plus `missing`, written only for a container that is gone.
 */
export const ROW_STATES = ['running', 'stopped', 'created', 'restarting', 'paused', 'removing', 'missing'] as const;
export type RowState = (typeof ROW_STATES)[number];

/** The three dispatch paths, in the Go original's precedence (docs/architecture.md, "Row IDs"). */
export const DISPATCH_KINDS = ['workload', 'site', 'compose'] as const;
export type DispatchKind = (typeof DISPATCH_KINDS)[number];

/** `workloads.kind` as the rest of Tinyforge writes it. */
export const WORKLOAD_KINDS = ['project', 'stack', 'site'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Why a container gets no row (`container_refusals.reason`, the `reason` label of the refusal metrics). */
export const UNMATCHED_REASONS = [
  'no_tinyforge_labels',
  'compose_project_not_tinyforge',
  'unknown_workload',
  'unknown_site',
  'unknown_stack',
  'unknown_stack_workload',
  'unknown_state',
  'value_too_long',
  'row_owned_by_other_host',
  'conflict',
] as const;
export type UnmatchedReason = (typeof UNMATCHED_REASONS)[number];

/** A workload's phase (`workload_status.phase`; rules in src/status/phase.ts). */
export const PHASES = ['Pending', 'Running', 'Degraded', 'Stopped', 'Missing'] as const;
export type Phase = (typeof PHASES)[number];

/** A container as the controller sees it: plain data, already cleaned of daemon quirks. */
export interface ContainerItem {
  id: string;
  /** Without the leading slash; '' when the daemon gave none. */
  name: string;
  image: string;
  /** The daemon's raw state (`running`, `exited`, ...). */
  state: string;
  labels: Readonly<Record<string, string>>;
  /** Distinct ports, published (public) ports first, each ascending; empty when none. */
  ports: readonly number[];
}

export interface WorkloadRef {
  id: string;
  kind: string;
  refId: string;
}

export interface StackRef {
  id: string;
  composeProjectName: string;
}

/** The read side of the desired state that dispatch needs. */
export interface DesiredStateView {
  workloadById(id: string): WorkloadRef | undefined;
  workloadByRef(kind: string, refId: string): WorkloadRef | undefined;
  stackByComposeProject(project: string): StackRef | undefined;
}

/** The controller's observed columns of a `containers` row (everything else belongs to the deployer). */
export interface ObservedRow {
  id: string;
  workloadId: string;
  workloadKind: string;
  role: string;
  containerId: string;
  imageRef: string;
  host: string;
  state: RowState;
  port: number;
}

/** The parts of a row that come from the workload, not from Docker. */
export interface RowIdentity {
  id: string;
  workloadId: string;
  workloadKind: string;
  role: string;
}
