import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureMessage } from '../../../workflows/constants.ts';

describe('failureMessage', () => {
  it('unwraps child workflow and activity failures to the reason, and keeps the reason’s own message', () => {
    const reason = ApplicationFailure.nonRetryable('f.parquet: column price is VARCHAR', 'SCHEMA_INCOMPATIBLE');
    Object.defineProperty(reason, 'cause', { value: new Error('without the file') });
    const activity = new ActivityFailure(
      'activity failed',
      'loadWarehouseDay',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      undefined,
      reason,
    );
    const child = new ChildWorkflowFailure(
      'default',
      { workflowId: 'load/ticks/2026-11-22', runId: 'r' },
      'warehouseLoadWorkflow',
      RetryState.NON_RETRYABLE_FAILURE,
      activity,
    );
    expect(failureMessage(child)).toBe('f.parquet: column price is VARCHAR');
    expect(failureMessage(new Error('plain'))).toBe('plain');
  });
});
