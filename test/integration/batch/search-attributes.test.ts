import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSearchAttributes } from '../../../infra/temporal/search-attributes.ts';
import { SEARCH_ATTRIBUTES } from '../../../workflows/constants.ts';
import { temporalBinary } from '../../support/temporal.ts';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  // A server that predates ticklake's attributes: started without --search-attribute.
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinary() }, ip: '127.0.0.1' },
  });
});

afterAll(() => env?.teardown());

describe('search attributes on a server that lacks them', () => {
  it('the worker registers the missing ones once; a second start changes nothing', async () => {
    const names = Object.values(SEARCH_ATTRIBUTES).map((k) => k.name);
    expect((await ensureSearchAttributes(env.nativeConnection, 'default')).sort()).toEqual([...names].sort());
    expect(await ensureSearchAttributes(env.nativeConnection, 'default')).toEqual([]);
    const listed = await env.nativeConnection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(listed.customAttributes ?? {})).toEqual(expect.arrayContaining(names));
  });
});
