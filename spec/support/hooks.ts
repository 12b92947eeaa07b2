/**
 * Mocha root hooks: `mocha --require dist/spec/support/hooks.js ...`
 *
 * Tears down every throwaway server still alive after the run (the shared singletons from
 * sharedMariaDb()/sharedDockerd() and any startMariaDb()/startDockerd() a test forgot to dispose).
 * Imports only ./proc.js (node built-ins): a run without integration tests starts nothing.
 */
import { disposeAllServers } from './proc.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    await disposeAllServers();
  },
};
