import type { StackService } from '../service.ts';
import { bigqueryService } from './bigquery.ts';
import { kafkaService } from './kafka.ts';
import { prometheusService } from './prometheus.ts';
import { s3Service } from './s3.ts';
import { temporalService } from './temporal.ts';

/** Every server of the local stack, in start order. */
export const STACK_SERVICES: readonly StackService[] = [
  kafkaService,
  temporalService,
  s3Service,
  bigqueryService,
  prometheusService,
];
