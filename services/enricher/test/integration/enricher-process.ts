// The enricher as its own process, wired like `topoflow enricher` (KafkaBus + OpenSearchFlowIndexer),
// for tests that kill it with SIGKILL. Settings come from the environment; prints `ready` once started.
import { Client } from '@opensearch-project/opensearch'
import { createRegistry, loadConfig, silentLogger } from '@topoflow/core'
import { KafkaBus } from '@topoflow/kafka'
import { buildEnricher, OpenSearchFlowIndexer } from '../../src/index.ts'

function required (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`enricher-process: ${name} must be set`)
  return value
}

const logger = silentLogger()
const bus = new KafkaBus({
  brokers: required('KAFKA_BROKERS').split(','),
  clientId: 'enricher-process',
  topicPrefix: required('TF_TOPIC_PREFIX'),
  // A short session so that the group gives a killed member's partitions away quickly.
  consumer: { sessionTimeoutMs: 8000, heartbeatIntervalMs: 1000 },
  logger
})
const client = new Client({ node: required('OPENSEARCH_URL') })
const indexer = new OpenSearchFlowIndexer({ client, bus, maxDocs: 500, flushMs: 100, indexPrefix: required('TF_INDEX_PREFIX'), logger })
const config = loadConfig({ env: {}, overrides: { 'enricher.join_wait': 0 } })
const enricher = buildEnricher({ config, bus, indexer, logger, registry: createRegistry('enricher', { processMetrics: false }), group: required('TF_GROUP') })

await bus.start()
await indexer.start()
await enricher.start()
process.stdout.write('ready\n')

// Gone with the test: when the test process ends, its end of stdin closes.
process.stdin.once('end', () => process.exit(0))
process.stdin.resume()
