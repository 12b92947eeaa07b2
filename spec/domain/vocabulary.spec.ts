import { expect } from 'chai';
import { CHANGE_REASONS } from '../../src/domain/changes.js';
import { COLUMN_LENGTHS, COLUMN_LIMITS } from '../../src/domain/columns.js';
import { DISPATCH_KINDS, PHASES, ROW_STATES, UNMATCHED_REASONS } from '../../src/domain/types.js';
import { openApiDocument } from '../../src/http/openapi.js';

/** The one list per concept is what every reader sees: the API document and the column checks. */
describe('the model vocabulary', () => {
  const schemas = (openApiDocument() as { components: { schemas: Record<string, { properties: Record<string, { enum?: unknown[] }> }> } }).components.schemas;

  it('the OpenAPI document enumerates exactly the lists of src/domain', () => {
    expect(schemas.ContainerEvent!.properties.reason!.enum).to.deep.equal([...CHANGE_REASONS]);
    expect(schemas.WorkloadStatus!.properties.phase!.enum).to.deep.equal([...PHASES]);
    const paths = (openApiDocument() as { paths: Record<string, { get: { parameters: Array<{ name?: string; schema?: { enum?: unknown[]; maxLength?: number } }> } }> }).paths;
    const param = (path: string, name: string) => paths[path]!.get.parameters.find((p) => p.name === name)!.schema!;
    expect(param('/v1/containers', 'state').enum).to.deep.equal([...ROW_STATES]);
    expect(param('/v1/refusals', 'reason').enum).to.deep.equal([...UNMATCHED_REASONS]);
    expect(param('/v1/containers', 'workload').maxLength).to.equal(COLUMN_LENGTHS.containers.workloadId);
    expect(param('/v1/containers', 'host').maxLength).to.equal(COLUMN_LENGTHS.containers.host);
  });

  it('the lists hold distinct values', () => {
    for (const list of [ROW_STATES, DISPATCH_KINDS, UNMATCHED_REASONS, PHASES, CHANGE_REASONS]) expect(new Set(list).size).to.equal(list.length);
  });

  it('dispatch checks the observed columns against the containers table', () => {
    for (const [col, limit] of Object.entries(COLUMN_LIMITS)) expect(limit, col).to.equal(COLUMN_LENGTHS.containers[col as keyof typeof COLUMN_LENGTHS.containers]);
    expect(Object.keys(COLUMN_LIMITS)).to.deep.equal(['id', 'workloadId', 'workloadKind', 'role', 'containerId', 'imageRef', 'host']);
  });
});
