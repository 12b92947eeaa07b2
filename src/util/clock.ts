/**
 * The database's clock, read on the host: the local clock plus the offset measured by the last
 * round trip to the database (`calibrate`). Every time the service writes (transition times)
 * comes from here or from the database itself, so rows never mix two clocks; the error is half a
 * round trip.
 */
export class DatabaseClock {
  private offsetMs = 0;

  constructor(private readonly local: () => number = Date.now) {}

  /** Estimated database time, ms since the epoch. */
  now(): number {
    return this.local() + this.offsetMs;
  }

  /** Records the database time `dbNowMs` read by a round trip from `sentAt` to `receivedAt` (local clock). */
  calibrate(dbNowMs: number, sentAt: number, receivedAt: number): void {
    this.offsetMs = dbNowMs - (sentAt + receivedAt) / 2;
  }

  /** Database time minus local time, ms (positive: the database is ahead). */
  offset(): number {
    return this.offsetMs;
  }
}
