/**
 * The contract between the worker loop and a handler (controller-runtime's `reconcile.Reconciler`):
 * the request carries a key, never the event, so the handler re-reads current state.
 */

/** The reconcile contract: one key (a Docker container ID); level-based, it re-reads current state. */
export interface Reconciler {
  reconcile(containerId: string): Promise<ReconcileOutcome>;
}

/**
 * `commit` settles when the key's write is durable; no commit means nothing needed writing.
 * `requeueAfterMs` asks for the key again later (controller-runtime's RequeueAfter).
 */
export interface ReconcileOutcome {
  commit?: Promise<void>;
  requeueAfterMs?: number;
}
