import { describe, expect, it } from 'vitest';
import { describeFailure, EXIT_CODES, formatFailure, unreachableUpstream } from '../../../cli/errors.ts';
import { TickLakeError } from '../../../core/errors.ts';
import { loadConfig } from '../../../infra/config.ts';

const config = loadConfig({ env: {} });

/** The chain kafkajs throws when no broker answers (names and messages as kafkajs builds them). */
function kafkaRefused(port: number): Error {
  const refused = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED' });
  const conn = new Error(`Connection error: connect ECONNREFUSED 127.0.0.1:${port}`, { cause: refused });
  conn.name = 'KafkaJSConnectionError';
  const top = new Error('KafkaJSNonRetriableError', { cause: conn });
  top.name = 'KafkaJSNonRetriableError';
  return top;
}

describe('describeFailure', () => {
  it('a refused Kafka connection: exit 4, names Kafka, its address and setting, and says to start the stack', () => {
    const f = describeFailure(kafkaRefused(9092), { config });
    expect(f.exitCode).toBe(EXIT_CODES.UNAVAILABLE);
    expect(f.message).toMatch(/^Kafka at 127\.0\.0\.1:9092 is unreachable/);
    expect(f.hint).toContain('start the stack: ticklake stack up');
    expect(f.hint).toContain('kafka.brokers (TICKLAKE_KAFKA_BROKERS)');
    expect(f.trace).toBe(false);
  });

  it('names the server by the refused port, and repeats --profile in the command to run', () => {
    const err = new TickLakeError('UPSTREAM_UNAVAILABLE', 'S3 list raw/_manifest/ failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:17070'), { code: 'ECONNREFUSED' }),
    });
    const testConfig = loadConfig({ env: { TICKLAKE_S3_ENDPOINT: 'http://127.0.0.1:17070' } });
    const f = describeFailure(err, { config: testConfig, profile: 'test' });
    expect(f.exitCode).toBe(4);
    expect(f.message).toMatch(/^S3 at 127\.0\.0\.1:17070/);
    expect(f.hint).toContain('ticklake --profile test stack up');
    expect(f.hint).toContain('s3.endpoint (TICKLAKE_S3_ENDPOINT)');
  });

  it("Temporal's gRPC deadline is recognised without a port", () => {
    expect(unreachableUpstream(new Error('Failed to connect before the deadline'), config)).toEqual({
      upstream: 'Temporal',
      address: undefined,
    });
    expect(describeFailure(new Error('Failed to connect before the deadline'), { config }).message).toBe(
      'Temporal at 127.0.0.1:7233 is unreachable (Failed to connect before the deadline)',
    );
  });

  it('a config error: exit 3, the message keeps the key and variable, the hint says where settings come from', () => {
    const err = new TickLakeError(
      'CONFIG_INVALID',
      'invalid configuration:\n  topics.partitions (from TICKLAKE_TOPICS_PARTITIONS): expected number',
    );
    const f = describeFailure(err, { config });
    expect(f.exitCode).toBe(EXIT_CODES.CONFIG);
    expect(formatFailure(err, f)).toContain('TICKLAKE_TOPICS_PARTITIONS');
    expect(f.hint).toContain('ticklake config env');
  });

  it('data problems exit 5, environment problems 6, a bug 70 with its trace', () => {
    expect(describeFailure(new TickLakeError('MANIFEST_CORRUPT', 'x')).exitCode).toBe(5);
    expect(describeFailure(new TickLakeError('INPUT_INVALID', 'x')).exitCode).toBe(5);
    expect(describeFailure(new TickLakeError('PORT_IN_USE', 'x')).exitCode).toBe(6);
    expect(describeFailure(new TickLakeError('PREREQUISITE_MISSING', 'x')).exitCode).toBe(6);
    const bug = describeFailure(new TickLakeError('INTERNAL', 'broken invariant'));
    expect(bug).toMatchObject({ exitCode: 70, trace: true });
    const unknown = new TypeError('x is undefined');
    const f = describeFailure(unknown);
    expect(f).toMatchObject({ exitCode: 70, trace: true });
    expect(formatFailure(unknown, f)).toContain('TypeError: x is undefined\n    at ');
  });

  it('a data error that happens to mention a refused connection in its cause stays a data error', () => {
    const err = new TickLakeError('MANIFEST_CORRUPT', 'manifest raw does not parse', {
      cause: new Error('while retrying after ECONNRESET'),
    });
    expect(describeFailure(err, { config }).exitCode).toBe(5);
  });

  it('prints causes, then what to do next', () => {
    const err = kafkaRefused(9092);
    const text = formatFailure(err, describeFailure(err, { config }));
    expect(text.split('\n')[0]).toMatch(/^ticklake: Kafka at 127\.0\.0\.1:9092 is unreachable/);
    expect(text).toContain('  caused by: Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    expect(text).toMatch(/\n {2}next: start the stack/);
  });
});
