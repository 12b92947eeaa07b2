import { CHANGE_REASONS } from '../domain/changes.js';
import { COLUMN_LENGTHS } from '../domain/columns.js';
import { PHASES, ROW_STATES, UNMATCHED_REASONS } from '../domain/types.js';
import { CONDITION_TYPES, COUNT_KEYS } from '../status/phase.js';
import { VERSION } from '../version.js';

/** Page size bounds of every list endpoint. */
export const LIMIT_MIN = 1;
export const LIMIT_MAX = 500;
export const LIMIT_DEFAULT = 100;

/** The reasons a container is refused (`container_refusals.reason`), as the controller names them. */
export const REFUSAL_REASONS: readonly string[] = [...UNMATCHED_REASONS];

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const dateTime: Schema = { type: 'string', format: 'date-time' };
const nullableDateTime: Schema = { type: ['string', 'null'], format: 'date-time' };

const errorResponses = (codes: number[]): Record<string, Schema> => {
  const text: Record<number, string> = {
    400: 'A query value is invalid (the message names it).',
    401: 'API_TOKEN is set and the request has no valid `Authorization: Bearer` header.',
    404: 'No such workload.',
    503: 'The database is not connected yet.',
  };
  return Object.fromEntries(codes.map((c) => [String(c), { description: text[c], content: { 'application/json': { schema: ref('Error') } } }]));
};

const limitParam: Schema = {
  name: 'limit',
  in: 'query',
  required: false,
  description: `Page size, ${LIMIT_MIN} to ${LIMIT_MAX}.`,
  schema: { type: 'integer', minimum: LIMIT_MIN, maximum: LIMIT_MAX, default: LIMIT_DEFAULT },
};
const cursorParam: Schema = {
  name: 'cursor',
  in: 'query',
  required: false,
  description: 'Opaque `nextCursor` of the previous page.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
};
const workloadIdParam: Schema = { name: 'id', in: 'path', required: true, description: 'Workload ID (`workloads.id`).', schema: { type: 'string', minLength: 1 } };

/**
 * The OpenAPI 3.1 document of the read API, served at `/api/v1/openapi.json`. Schemas use the
 * JSON Schema 2020-12 subset `type` (also as a list with "null"), `properties`, `required`,
 * `additionalProperties: false`, `items`, `enum`, `format: date-time`, `minimum`, `$ref`; the
 * API spec validates real responses against them.
 */
export function openApiDocument(): Schema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'tinyforge-reconciler read API',
      version: VERSION,
      description:
        'Read-only view of what the reconciler observed: container rows, the containers it refused to write a row for, per-workload status (Kubernetes-style phase and conditions) and the history of container state transitions. ' +
        'When API_TOKEN is set every call needs `Authorization: Bearer <token>`; otherwise the API is open.',
    },
    servers: [{ url: '/api' }],
    security: [{ bearerAuth: [] }, {}],
    paths: {
      '/v1/containers': {
        get: {
          operationId: 'listContainers',
          summary: 'Container rows, ordered by row ID, with cursor pagination.',
          description: 'Keyset pagination on the row ID: a row that exists for the whole walk is returned exactly once, whatever is inserted or deleted meanwhile.',
          parameters: [
            { name: 'workload', in: 'query', required: false, description: 'Only rows of this workload ID.', schema: { type: 'string', minLength: 1, maxLength: COLUMN_LENGTHS.containers.workloadId } },
            { name: 'state', in: 'query', required: false, description: 'Only rows in this state.', schema: { type: 'string', enum: [...ROW_STATES] } },
            { name: 'host', in: 'query', required: false, description: 'Only rows owned by this agent host.', schema: { type: 'string', minLength: 1, maxLength: COLUMN_LENGTHS.containers.host } },
            cursorParam,
            limitParam,
          ],
          responses: { '200': { description: 'One page.', content: { 'application/json': { schema: ref('ContainerPage') } } }, ...errorResponses([400, 401, 503]) },
        },
      },
      '/v1/refusals': {
        get: {
          operationId: 'listRefusals',
          summary: 'Containers the agents refused to write a row for, ordered by (host, container ID), with cursor pagination.',
          description:
            'One item per host and container, kept while the refusal lasts. Reason `conflict`: the container claims a row bound to another live container (`rowId`); it also shows as the workload condition `Conflict`. ' +
            'Keyset pagination on (host, container ID): a refusal that exists for the whole walk is returned exactly once.',
          parameters: [
            { name: 'host', in: 'query', required: false, description: 'Only refusals of this agent host.', schema: { type: 'string', minLength: 1, maxLength: COLUMN_LENGTHS.containers.host } },
            { name: 'reason', in: 'query', required: false, description: 'Only refusals with this reason.', schema: { type: 'string', enum: [...REFUSAL_REASONS] } },
            { name: 'workload', in: 'query', required: false, description: 'Only refusals naming this workload ID.', schema: { type: 'string', minLength: 1, maxLength: COLUMN_LENGTHS.containers.workloadId } },
            cursorParam,
            limitParam,
          ],
          responses: { '200': { description: 'One page.', content: { 'application/json': { schema: ref('RefusalPage') } } }, ...errorResponses([400, 401, 503]) },
        },
      },
      '/v1/workloads/{id}/status': {
        get: {
          operationId: 'getWorkloadStatus',
          summary: 'Desired vs observed for one workload: phase, conditions, counts.',
          parameters: [workloadIdParam],
          responses: { '200': { description: 'The status.', content: { 'application/json': { schema: ref('WorkloadStatus') } } }, ...errorResponses([400, 401, 404, 503]) },
        },
      },
      '/v1/workloads/{id}/events': {
        get: {
          operationId: 'listWorkloadEvents',
          summary: 'State transitions of the workload’s container rows (kept for EVENT_RETENTION).',
          parameters: [
            workloadIdParam,
            { name: 'order', in: 'query', required: false, description: '`asc` (oldest first, the default) or `desc` (newest first).', schema: { type: 'string', enum: ['asc', 'desc'], default: 'asc' } },
            cursorParam,
            limitParam,
          ],
          responses: { '200': { description: 'One page.', content: { 'application/json': { schema: ref('EventPage') } } }, ...errorResponses([400, 401, 404, 503]) },
        },
      },
      '/v1/openapi.json': {
        get: { operationId: 'getOpenApi', summary: 'This document.', responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } }, ...errorResponses([401]) } },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'The API_TOKEN value.' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          additionalProperties: false,
          properties: { error: { type: 'object', required: ['status', 'message'], additionalProperties: false, properties: { status: { type: 'integer' }, message: { type: 'string' } } } },
        },
        Container: {
          type: 'object',
          required: ['id', 'workloadId', 'workloadKind', 'role', 'containerId', 'imageRef', 'host', 'state', 'port', 'lastSeenAt', 'createdAt', 'updatedAt', 'orphaned'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', description: 'Row ID (`workloadID:role`, `workloadID:role:N`, or the deployer’s own).' },
            workloadId: { type: 'string' },
            workloadKind: { type: 'string' },
            role: { type: 'string' },
            containerId: { type: 'string', description: 'Docker container ID; empty while the slot is not bound.' },
            imageRef: { type: 'string' },
            host: { type: 'string' },
            state: { type: 'string', description: `Normally one of ${ROW_STATES.join(', ')}; empty or other values may come from rows other programs wrote.` },
            port: { type: 'integer' },
            lastSeenAt: nullableDateTime,
            createdAt: nullableDateTime,
            updatedAt: nullableDateTime,
            orphaned: { type: 'boolean', description: 'The row’s `workloadId` names no workload (it was deleted); the row still follows its container.' },
          },
        },
        ContainerPage: {
          type: 'object',
          required: ['items', 'nextCursor'],
          additionalProperties: false,
          properties: { items: { type: 'array', items: ref('Container') }, nextCursor: { type: ['string', 'null'], description: 'null on the last page.' } },
        },
        Refusal: {
          type: 'object',
          required: ['host', 'containerId', 'containerName', 'dispatch', 'reason', 'workloadId', 'rowId', 'detail', 'since'],
          additionalProperties: false,
          properties: {
            host: { type: 'string', description: 'The agent host that refused the container.' },
            containerId: { type: 'string', description: 'Docker container ID.' },
            containerName: { type: 'string' },
            dispatch: { type: 'string', description: 'The dispatch path the labels selected (`workload`, `site`, `compose`, or `none`).' },
            reason: { type: 'string', description: `Normally one of ${REFUSAL_REASONS.join(', ')}.` },
            workloadId: { type: 'string', description: 'The workload the container names or resolves to; empty when none.' },
            rowId: { type: 'string', description: 'The row the container would get (for `conflict`: the row another live container holds); empty when none.' },
            detail: { type: 'string' },
            since: { ...dateTime, description: 'When the container was first refused for this reason (database clock).' },
          },
        },
        RefusalPage: {
          type: 'object',
          required: ['items', 'nextCursor'],
          additionalProperties: false,
          properties: { items: { type: 'array', items: ref('Refusal') }, nextCursor: { type: ['string', 'null'], description: 'null on the last page.' } },
        },
        Condition: {
          type: 'object',
          required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: [...CONDITION_TYPES], description: '`Ready`, `Available`, and `Conflict` (True while a container of the workload is refused with reason `conflict`; reason `DuplicateClaim`, else `NoConflicts`).' },
            status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
            reason: { type: 'string' },
            message: { type: 'string' },
            lastTransitionTime: { ...dateTime, description: 'Moves only when `status` flips.' },
          },
        },
        Counts: {
          type: 'object',
          required: [...COUNT_KEYS],
          additionalProperties: false,
          description: '`desired` counts every row of the workload; `unbound` the pre-created rows not bound to a container yet; the state counts cover bound rows.',
          properties: Object.fromEntries(COUNT_KEYS.map((k) => [k, { type: 'integer', minimum: 0 }])),
        },
        WorkloadStatus: {
          type: 'object',
          required: ['workloadId', 'phase', 'conditions', 'counts', 'observedAt', 'observedGeneration'],
          additionalProperties: false,
          properties: {
            workloadId: { type: 'string' },
            phase: { type: 'string', enum: [...PHASES] },
            conditions: { type: 'array', items: ref('Condition') },
            counts: ref('Counts'),
            observedAt: { ...dateTime, description: 'When the status was last computed.' },
            observedGeneration: { type: 'integer', minimum: 1, description: 'Incremented by every recomputation that changed the status.' },
          },
        },
        ContainerEvent: {
          type: 'object',
          required: ['id', 'rowId', 'workloadId', 'from', 'to', 'reason', 'at'],
          additionalProperties: false,
          properties: {
            id: { type: 'integer', minimum: 1 },
            rowId: { type: 'string' },
            workloadId: { type: 'string' },
            from: { type: ['string', 'null'], description: 'null when the row was created.' },
            to: { type: 'string' },
            reason: { type: 'string', enum: [...CHANGE_REASONS] },
            at: dateTime,
          },
        },
        EventPage: {
          type: 'object',
          required: ['items', 'nextCursor'],
          additionalProperties: false,
          properties: { items: { type: 'array', items: ref('ContainerEvent') }, nextCursor: { type: ['string', 'null'] } },
        },
      },
    },
  };
}
