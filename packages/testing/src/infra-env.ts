import { TopoflowError } from '@topoflow/core'

/** Where the tests' Kafka and OpenSearch are. */
export interface Infra {
  kafkaBrokers: string[]
  opensearchUrl: string
}

const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/

/** Parses KAFKA_BROKERS ("host:port,host:port"); undefined when unset or blank. */
export function parseKafkaBrokers (value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const brokers = value.split(',').map((b) => b.trim()).filter((b) => b !== '')
  for (const broker of brokers) {
    const match = hostPort.exec(broker)
    const port = Number(match?.[2])
    if (match === null || port < 1 || port > 65535) {
      throw new TopoflowError('TOPOFLOW_ERR_INFRA', `KAFKA_BROKERS: ${JSON.stringify(broker)} is not host:port (expected e.g. 127.0.0.1:9092,other:9092)`)
    }
  }
  return brokers
}

/** Parses OPENSEARCH_URL (http or https, no trailing slash kept); undefined when unset or blank. */
export function parseOpenSearchUrl (value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined
  let url: URL
  try {
    url = new URL(value.trim())
  } catch (err) {
    throw new TopoflowError('TOPOFLOW_ERR_INFRA', `OPENSEARCH_URL: ${JSON.stringify(value)} is not a URL (expected e.g. http://127.0.0.1:9200)`, { cause: err })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TopoflowError('TOPOFLOW_ERR_INFRA', `OPENSEARCH_URL: ${JSON.stringify(value)} must be http:// or https://`)
  }
  return url.href.replace(/\/+$/, '')
}

/** True when a missing Kafka or OpenSearch must fail the run rather than skip tests (CI). */
export function infraRequired (env: NodeJS.ProcessEnv): boolean {
  return env.TOPOFLOW_REQUIRE_INFRA === '1' || env.TOPOFLOW_REQUIRE_INFRA === 'true'
}
