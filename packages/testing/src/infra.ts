import type { TestContext } from 'node:test'
import { silentLogger, TopoflowError } from '@topoflow/core'
import type { Logger } from '@topoflow/core'
import { startKafkaContainer, startOpenSearchContainer } from './containers.ts'
import { describeEndpoint, dockerEndpoints, findDockerEngine } from './docker-engine.ts'
import { infraRequired, parseKafkaBrokers, parseOpenSearchUrl } from './infra-env.ts'
import type { Infra } from './infra-env.ts'
import { markStartedByTests, releaseLease, takeLease } from './infra-leases.ts'
import { runInfraScript, scriptOutputValue, stopInfraScriptSync, tail } from './infra-scripts.ts'
import type { ScriptService } from './infra-scripts.ts'

export type InfraStrategy = 'env' | 'docker' | 'scripts'

export interface ResolveInfraOptions {
  /** Environment to read (default process.env); a custom one also bypasses the per-process cache. */
  env?: NodeJS.ProcessEnv
  logger?: Logger
  /** Which ways to try, in this order (default all three). */
  strategies?: InfraStrategy[]
}

type Service = ScriptService
const serviceNames: Record<Service, string> = { kafka: 'Kafka', opensearch: 'OpenSearch' }

interface Found {
  kafka?: string[]
  opensearch?: string
}

let shared: Promise<Infra | null> | undefined
let lastReason: string | undefined

/**
 * Finds a Kafka and an OpenSearch for integration tests, trying in order:
 * 1. KAFKA_BROKERS / OPENSEARCH_URL from the environment (CI sets both);
 * 2. testcontainers, when a Docker engine answers;
 * 3. scripts/infra (Kafka jars and OpenSearch from Maven Central, run on Java 17), reusing servers
 *    already running there. Servers that test processes started are stopped when the last test
 *    process using them exits; servers started by hand (npm run infra:up) are left running.
 * Each service is resolved on its own, so KAFKA_BROKERS alone still gets an OpenSearch started.
 * Resolves to null when nothing works (the test should skip, see infraUnavailableReason), or throws
 * TOPOFLOW_ERR_INFRA when TOPOFLOW_REQUIRE_INFRA=1.
 */
export async function resolveInfra (opts: ResolveInfraOptions = {}): Promise<Infra | null> {
  if (opts.env !== undefined || opts.strategies !== undefined) return await resolveOnce(opts)
  shared ??= resolveOnce(opts)
  return await shared
}

/** Why the last resolveInfra() gave null, phrased for t.skip(). */
export function infraUnavailableReason (): string | undefined {
  return lastReason
}

/** The infra, or skips the test (with the reason) and resolves to null. */
export async function resolveInfraOrSkip (t: TestContext, opts: ResolveInfraOptions = {}): Promise<Infra | null> {
  const infra = await resolveInfra(opts)
  if (infra === null) t.skip(lastReason ?? 'no Kafka or OpenSearch')
  return infra
}

async function resolveOnce (opts: ResolveInfraOptions): Promise<Infra | null> {
  const env = opts.env ?? process.env
  const logger = opts.logger ?? silentLogger()
  const strategies = opts.strategies ?? ['env', 'docker', 'scripts']
  const found: Found = {}
  const tried: string[] = []
  const missing = (): Service[] => (['kafka', 'opensearch'] as const).filter((s) => found[s] === undefined)

  if (strategies.includes('env')) {
    const kafka = parseKafkaBrokers(env.KAFKA_BROKERS)
    const opensearch = parseOpenSearchUrl(env.OPENSEARCH_URL)
    if (kafka !== undefined) found.kafka = kafka
    if (opensearch !== undefined) found.opensearch = opensearch
    if (missing().length > 0) tried.push(`env: ${missing().map((s) => s === 'kafka' ? 'KAFKA_BROKERS' : 'OPENSEARCH_URL').join(' and ')} unset`)
  }
  if (missing().length > 0 && strategies.includes('docker')) {
    await tryDocker(env, found, missing(), tried, logger)
  }
  if (missing().length > 0 && strategies.includes('scripts')) {
    await tryScripts(env, found, missing(), tried, logger)
  }

  const left = missing()
  if (left.length === 0 && found.kafka !== undefined && found.opensearch !== undefined) {
    logger.info({ kafkaBrokers: found.kafka, opensearchUrl: found.opensearch }, 'Test infra resolved')
    return { kafkaBrokers: found.kafka, opensearchUrl: found.opensearch }
  }
  const reason = `no ${left.map((s) => serviceNames[s]).join(' or ')}: ${tried.join('; ')}`
  if (infraRequired(env)) {
    throw new TopoflowError('TOPOFLOW_ERR_INFRA',
      `${reason}. TOPOFLOW_REQUIRE_INFRA=1 forbids skipping: set KAFKA_BROKERS and OPENSEARCH_URL, ` +
      'start a Docker engine, or install Java 17 and Maven so scripts/infra/up.sh can run them', { context: { tried } })
  }
  lastReason = reason
  logger.warn({ reason }, 'No test infra; integration tests will skip')
  return null
}

async function tryDocker (env: NodeJS.ProcessEnv, found: Found, services: Service[], tried: string[], logger: Logger): Promise<void> {
  const engine = await findDockerEngine(env)
  if (engine === undefined) {
    const where = dockerEndpoints(env).map(describeEndpoint).join(', ')
    tried.push(`docker: no engine answers${where === '' ? ` (DOCKER_HOST=${env.DOCKER_HOST ?? ''} not understood)` : ` at ${where}`}`)
    return
  }
  logger.info({ engine: describeEndpoint(engine), services }, 'Starting test infra with testcontainers')
  for (const service of services) {
    try {
      if (service === 'kafka') {
        const started = await startKafkaContainer()
        found.kafka = started.value
        ownAsync(started.stop)
      } else {
        const started = await startOpenSearchContainer()
        found.opensearch = started.value
        ownAsync(started.stop)
      }
    } catch (err) {
      tried.push(`docker: ${serviceNames[service]} container failed: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
}

async function tryScripts (env: NodeJS.ProcessEnv, found: Found, services: Service[], tried: string[], logger: Logger): Promise<void> {
  // The lease comes first: from now on no other test process stops these servers under us.
  takeLease(env)
  ownSync(() => {
    for (const service of releaseLease(env)) stopInfraScriptSync(service, env)
  })
  // Reuse what scripts/infra already runs (npm run infra:up, or another test process).
  const toStart: Service[] = []
  for (const service of services) {
    const status = await runInfraScript(`${service}.sh`, ['status'], env)
    if (status.code === 0 && record(found, service, status.stdout)) {
      logger.info({ service }, 'Reusing test infra already running from scripts/infra')
    } else {
      toStart.push(service)
    }
  }
  if (toStart.length === 0) return

  logger.info({ services: toStart }, 'Starting test infra with scripts/infra (the first run fetches from Maven Central)')
  const fetched = await runInfraScript('fetch.sh', [], env)
  if (fetched.code !== 0) {
    tried.push(`scripts: fetch.sh failed: ${tail(fetched.stderr, 4)}`)
    return
  }
  await Promise.all(toStart.map(async (service) => {
    const started = await runInfraScript(`${service}.sh`, ['start'], env)
    // Marked even after a half-way failed start (stop is safe on a stopped server), unless another
    // process got there first: its marker, if any, already stands.
    if (scriptOutputValue(started.stdout, 'ALREADY_RUNNING') !== '1') markStartedByTests(env, service)
    if (started.code !== 0 || !record(found, service, started.stdout)) {
      tried.push(`scripts: ${service}.sh start failed: ${tail(started.stderr, 6)}`)
    }
  }))
}

function record (found: Found, service: Service, stdout: string): boolean {
  if (service === 'kafka') {
    found.kafka = parseKafkaBrokers(scriptOutputValue(stdout, 'KAFKA_BROKERS'))
    return found.kafka !== undefined
  }
  found.opensearch = parseOpenSearchUrl(scriptOutputValue(stdout, 'OPENSEARCH_URL'))
  return found.opensearch !== undefined
}

// Cleanup of what this process started. Script-started servers stop synchronously in 'exit' (the
// only place that always runs); containers stop on 'beforeExit', and testcontainers' reaper removes
// them anyway when the process dies.
const syncCleanups: Array<() => void> = []
const asyncCleanups: Array<() => Promise<void>> = []
let hooksInstalled = false

function ownSync (cleanup: () => void): void {
  syncCleanups.push(cleanup)
  installHooks()
}

function ownAsync (cleanup: () => Promise<void>): void {
  asyncCleanups.push(cleanup)
  installHooks()
}

function runSyncCleanups (): void {
  for (const cleanup of syncCleanups.splice(0).reverse()) {
    try { cleanup() } catch { /* exiting anyway */ }
  }
}

function installHooks (): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.once('exit', runSyncCleanups)
  process.on('beforeExit', () => {
    const pending = asyncCleanups.splice(0)
    if (pending.length > 0) void Promise.allSettled(pending.map(async (stop) => { await stop() }))
  })
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(signal, () => {
      runSyncCleanups()
      process.exit(code)
    })
  }
}
