/**
 * Leadership terms: a pipeline writes only during its own term. A pipeline still draining from
 * an earlier term must not write once leadership comes back to this replica, so every term gets
 * its own write guard, which also asks the elector (renew deadline) before each write.
 */
export class LeadershipTerms {
  private term = 0;

  /** Opens a new term; the returned guard is true only during it and while `elector()` allows writing. */
  begin(elector: () => boolean): () => boolean {
    const term = ++this.term;
    return () => this.term === term && elector();
  }

  /** Closes the current term: its guard turns false for good. */
  end(): void {
    this.term++;
  }
}
