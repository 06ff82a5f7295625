/**
 * kafkajs with one transactional producer per input partition (ids from group, topic and partition): fencing a
 * zombie without KIP-447, as Kafka Streams did before it. Everything but `transform` is the kafkajs driver's.
 */
import { createKafkajsDriver } from './kafkajs.ts';

export default createKafkajsDriver({ partitionTransactions: true });
