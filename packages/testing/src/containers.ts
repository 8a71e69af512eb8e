import { createServer } from 'node:net'
import type { StartedTestContainer } from 'testcontainers'

// Pinned to the versions scripts/infra runs without Docker, so both paths test the same servers.
export const kafkaImage = 'apache/kafka:4.1.2'
export const opensearchImage = 'opensearchproject/opensearch:2.19.4'

export interface StartedService<T> {
  value: T
  stop: () => Promise<void>
}

// Kafka hands clients the advertised address, so the host port must be known before the container
// starts: take a free port now and bind the container's listener to the same number.
async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port from the OS'))
      })
    })
  })
}

function stopper (container: StartedTestContainer): () => Promise<void> {
  return async () => { await container.stop({ timeout: 10_000 }) }
}

/** A single-node KRaft Kafka in a container; resolves once the broker says it has started. */
export async function startKafkaContainer (): Promise<StartedService<string[]>> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers')
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host
  const port = await freePort()
  const container = await new GenericContainer(kafkaImage)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://127.0.0.1:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '5',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
      KAFKA_HEAP_OPTS: '-Xms512m -Xmx512m'
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start()
  return { value: [`${host}:${port}`], stop: stopper(container) }
}

/** A single-node OpenSearch without the security plugin; resolves once cluster health answers. */
export async function startOpenSearchContainer (): Promise<StartedService<string>> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const container = await new GenericContainer(opensearchImage)
    .withExposedPorts(9200)
    .withEnvironment({
      'discovery.type': 'single-node',
      'cluster.routing.allocation.disk.threshold_enabled': 'false',
      DISABLE_SECURITY_PLUGIN: 'true',
      DISABLE_INSTALL_DEMO_CONFIG: 'true',
      OPENSEARCH_JAVA_OPTS: '-Xms1g -Xmx1g'
    })
    .withWaitStrategy(Wait.forHttp('/_cluster/health?wait_for_status=yellow&timeout=5s', 9200).forStatusCode(200))
    .withStartupTimeout(180_000)
    .start()
  return { value: `http://${container.getHost()}:${container.getMappedPort(9200)}`, stop: stopper(container) }
}
