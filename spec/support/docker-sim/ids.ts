/**
 * Identifiers: random container IDs, and the sha256 from which image, network, layer and daemon IDs are derived
 * (derived, so one name always shows the same ID).
 */
import { createHash, randomBytes } from 'node:crypto';

/** A random 64-hex container ID. */
export function hex64(): string {
  return randomBytes(32).toString('hex');
}

export function sha256hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
