import type { EntitySchema } from 'typeorm';
import type { Dialect } from '../database.js';
import { containerEventEntity } from './container-event.entity.js';
import { containerRefusalEntity } from './container-refusal.entity.js';
import { containerEntity } from './container.entity.js';
import { hostEntity } from './host.entity.js';
import { leaseEntity } from './lease.entity.js';
import { stackEntity } from './stack.entity.js';
import { staticSiteEntity } from './static-site.entity.js';
import { workloadStatusEntity } from './workload-status.entity.js';
import { workloadEntity } from './workload.entity.js';

/**
 * Every table of the schema as TypeORM entities for `dialect`. They describe what the migrations
 * create, column for column and index for index (spec/store/schema.spec.ts), and are built per
 * dialect because the two databases spell timestamps and their defaults differently.
 */
export function entitiesFor(dialect: Dialect): EntitySchema[] {
  return [
    containerEntity(dialect),
    workloadEntity(dialect),
    stackEntity(dialect),
    staticSiteEntity(dialect),
    leaseEntity(dialect),
    workloadStatusEntity(dialect),
    containerEventEntity(dialect),
    containerRefusalEntity(dialect),
    hostEntity(dialect),
  ] as EntitySchema[];
}
