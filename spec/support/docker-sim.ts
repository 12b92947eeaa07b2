/**
 * Docker Engine API simulator for tests and benchmarks. This file is its one import path; the parts live in
 * ./docker-sim/, one concern per module.
 *
 * An HTTP server (node:http) on a unix socket that speaks the read-only subset of the Docker Engine API that the
 * reconciler uses through dockerode: `GET|HEAD /_ping`, `GET /version`, `GET /info`, `GET /containers/json`,
 * `GET /containers/{id}/json` and the streaming `GET /events`, with or without a `/vX.YY` prefix.
 *
 * Response shapes were taken from a real daemon (docker.io 20.10.24, API 1.41, see
 * spec/docker/docker-sim.conformance.spec.ts) and the Engine API changelog for later versions: the `apiVersion`
 * option (default '1.47', Docker 27) selects the few version-dependent fields (see `profileFor`).
 *
 * Every request is recorded (`requests`, `requestCounts`, `mutatingRequests`) so tests can assert that the service
 * never calls anything but GETs. Any other method answers 405.
 *
 * Containers are kept as immutable records (every change replaces the record), so a `/containers/json` response is a
 * consistent snapshot even though it is serialised in slices that yield to the event loop.
 *
 * The modules, from the bottom up:
 * - types.ts: the public types (SimContainer, options) and the internal container and event records.
 * - profile.ts: the daemon's versions and the version-dependent fields; clock.ts, ids.ts: time and identifiers.
 * - go-format.ts: Go's JSON strings and maps, RFC 3339 nano times, go-units durations.
 * - state.ts: the container records and their indexes; transitions.ts: the state machine and its events.
 * - filters.ts: list and event filters and query parameters, with the daemon's 400s.
 * - render.ts: list entries, inspect documents, event lines, /version and /info.
 * - events.ts: event times, the `since` history, live streams and slow-consumer drops.
 * - requests.ts: the request log; server.ts: HTTP routing, headers, the streamed list, pause/resume.
 * - drip.ts: list answers that trickle out a few bytes a tick (fault tests: `dripList`).
 * - factory.ts: Tinyforge-looking containers; bulk.ts: populate and churn.
 * - simulator.ts: `DockerSimulator`, which builds the parts and offers the operations (state, faults, requests).
 */
export { DockerSimulator } from './docker-sim/simulator.js';
export { tinyforgeContainer } from './docker-sim/factory.js';
export { humanDuration, rfc3339Nano } from './docker-sim/go-format.js';
export { statusText } from './docker-sim/render.js';
export type {
  ChurnOptions,
  DockerSimulatorOptions,
  SetStateOptions,
  SimContainer,
  SimContainerInput,
  SimHealth,
  SimPort,
  SimRequest,
  SimState,
} from './docker-sim/types.js';
