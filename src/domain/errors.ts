/** A write was refused because this replica does not hold the lease (or its renew deadline passed). */
export class NotLeaderError extends Error {
  constructor() {
    super('not the leader: writes are disabled');
    this.name = 'NotLeaderError';
  }
}
