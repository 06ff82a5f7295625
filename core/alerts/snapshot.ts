import { z } from 'zod';
import { pipelineSnapshotSchema } from '../pipeline.ts';
import { alertEngineSnapshotSchema } from './engine.ts';

/**
 * A speed-layer checkpoint (`alerts.state`, key = input partition, gzip'd JSON): the partition's pipeline (the
 * processor's state, rebuilt from the same records) and its alert rules' state (windows, baselines, cooldowns).
 */
export const speedLayerSnapshotSchema = z.object({
  v: z.literal(1),
  pipeline: pipelineSnapshotSchema,
  engine: alertEngineSnapshotSchema,
});
export type SpeedLayerSnapshot = z.input<typeof speedLayerSnapshotSchema>;
