import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { randomUUID } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import fastifyWebsocket from '@fastify/websocket'
import { createRegistry, TopoflowError, type Bus, type Logger, type Registry, type TopoflowConfig } from '@topoflow/core'
import type { FlowSource, GraphSource, MemoryGraph } from '@topoflow/gremlin'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { AlertEngine } from './alerts/engine.ts'
import { createAuthenticator, requestToken } from './auth.ts'
import { defaultLimits, type ApiContext, type ApiLimits } from './context.ts'
import { LiveGraph } from './graph/live-graph.ts'
import { runQuery, runQueryText } from './graph/query.ts'
import { TopologyWriter } from './graph/topology-writer.ts'
import { errorHandler, sendText } from './http/errors.ts'
import { apiMetrics } from './metrics.ts'
import { collectRoutes, openApiDocument } from './openapi.ts'
import { CaptureStatusTable } from './resources/capture-status.ts'
import { ResourceStore } from './resources/store.ts'
import { elementRoutes } from './routes/elements.ts'
import { flowMatrixRoutes } from './routes/flow-matrix.ts'
import { loginRoutes } from './routes/login.ts'
import { resourceRoutes } from './routes/resources.ts'
import { rootRoutes } from './routes/root.ts'
import { topologyRoutes } from './routes/topology.ts'
import { websocketRoutes } from './routes/websocket.ts'
import { WsHub } from './ws/hub.ts'

export const apiVersion = '0.1.0'

export interface BuildAppOptions {
  config: TopoflowConfig
  bus: Bus
  /** the live replica; the API feeds it from topoflow.topology.changes.v1 (and keeps its recent history) */
  graph: MemoryGraph
  /** answers time-travel queries when given (OpenSearch); otherwise the MemoryGraph's own history does */
  history?: GraphSource
  flows?: FlowSource
  logger: Logger
  registry?: Registry
  now?: () => number
  limits?: Partial<ApiLimits>
  /**
   * Prefix of this process's consumer groups. Each API process reads the compacted topics from the
   * beginning, so the default makes the groups unique per process.
   */
  groupPrefix?: string
  /** overrides how alert webhooks are posted (tests) */
  alertPost?: (url: string, body: string) => Promise<void>
}

export type ApiApp = FastifyInstance & { topoflow: ApiContext }

/** The graph for Gremlin: live from the replica, past times from `history` when there is one. */
function graphSource (graph: MemoryGraph, history: GraphSource | undefined): GraphSource {
  if (history === undefined) return graph
  return { at: async (time) => time === undefined ? await graph.at() : await history.at(time) }
}

/** `services/api/web/`: the single-page UI, plain ES modules served as they are. */
const webRoot = fileURLToPath(new URL('../web/', import.meta.url))

/** `analyzer.tls`: both PEM files, or neither (plain HTTP). */
export function tlsOptions (config: TopoflowConfig): { cert: Buffer, key: Buffer } | undefined {
  const tls = config.analyzer.tls ?? {}
  const certFile = tls.cert_file ?? ''
  const keyFile = tls.key_file ?? ''
  if (certFile === '' && keyFile === '') return undefined
  if (certFile === '' || keyFile === '') {
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `analyzer.tls needs both cert_file and key_file, got only ${certFile === '' ? 'key_file' : 'cert_file'}`)
  }
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `analyzer.tls.${key}: cannot read ${file}: ${(err as Error).message}`, { cause: err })
    }
  }
  return { cert: read('cert_file', certFile), key: read('key_file', keyFile) }
}

function needsAuth (url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?') || url.startsWith('/ws/')
}

/**
 * Builds the API: Skydive's REST and websocket endpoints, the flow matrix, OpenAPI, metrics and
 * health. Replicas (graph, resources, capture status) start with the server (`ready()`, which
 * `inject()` and `listen()` call) and stop with `close()`.
 */
export async function buildApp (opts: BuildAppOptions): Promise<ApiApp> {
  const { config, bus, logger } = opts
  const now = opts.now ?? Date.now
  const limits: ApiLimits = { ...defaultLimits, ...opts.limits }
  const registry = opts.registry ?? createRegistry('api')
  const groupPrefix = opts.groupPrefix ?? `topoflow-api-${config.host_id}-${randomUUID()}`
  const auth = createAuthenticator(config)

  const tls = tlsOptions(config)
  const app = Fastify({
    ...(tls === undefined ? {} : { https: tls }),
    loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    // requests are counted in metrics; logging each one at info would flood the logs
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyLimit,
    // Skydive clients send trailing-slash-free paths; be lenient anyway
    routerOptions: { ignoreTrailingSlash: true }
  })

  const live = new LiveGraph({ graph: opts.graph, bus, group: `${groupPrefix}-graph`, logger: logger.child({ component: 'live-graph' }) })
  const resources = new ResourceStore({ bus, logger: logger.child({ component: 'resources' }), now, group: `${groupPrefix}-resources` })
  const captureStatus = new CaptureStatusTable({ bus, group: `${groupPrefix}-capture-status`, logger: logger.child({ component: 'capture-status' }) })
  const writer = new TopologyWriter({ bus, live, now })
  const hub = new WsHub()
  const metrics = apiMetrics(registry, () => ({ nodes: opts.graph.nodeCount, edges: opts.graph.edgeCount }))
  const source = graphSource(opts.graph, opts.history)
  const queryDeps = {
    graph: source,
    now,
    timeoutMs: limits.queryTimeoutMs,
    maxResultItems: limits.maxResultItems,
    maxSteps: limits.maxQuerySteps,
    flowExpireMs: config.flow.expire * 1000,
    ...(opts.flows === undefined ? {} : { flows: opts.flows })
  }
  const query = async (gremlin: string): Promise<unknown> => await runQuery(gremlin, queryDeps)
  const queryText = async (gremlin: string): Promise<string> => await runQueryText(gremlin, queryDeps)
  const alerts = new AlertEngine({
    resources,
    live,
    query,
    logger: logger.child({ component: 'alerts' }),
    now,
    debounceMs: limits.alertDebounceMs,
    ...(opts.alertPost === undefined ? {} : { post: opts.alertPost }),
    onFire: (message) => hub.broadcast({ Namespace: 'Alert', Type: 'Alert', UUID: randomUUID().replaceAll('-', ''), Status: 200, Obj: message }),
    metrics: { fired: () => metrics.alertsFired.inc(), failed: () => metrics.alertWebhookFailures.inc() }
  })
  live.onEvent(() => metrics.topologyChanges.inc())

  let ready = false
  let closing = false
  const ctx: ApiContext = {
    config,
    logger,
    now,
    limits,
    auth,
    live,
    graphSource: source,
    resources,
    captureStatus,
    writer,
    alerts,
    hub,
    metrics,
    query,
    queryText,
    ready: () => ready,
    version: apiVersion,
    ...(opts.flows === undefined ? {} : { flows: opts.flows })
  }
  app.decorate('topoflow', ctx)

  const routes = collectRoutes(app)
  await app.register(fastifyCookie)
  await app.register(fastifyWebsocket, {
    options: { maxPayload: limits.bodyLimit },
    errorHandler: (err, socket) => {
      logger.warn({ err }, 'Websocket connection failed')
      socket.terminate()
    }
  })

  // Skydive's Python client sends Content-Type: application/json on bodiless DELETEs too
  const defaultJson = app.getDefaultJsonParser('error', 'ignore')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') { done(null, {}); return }
    defaultJson(req, body as string, done)
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? ''
    if (path.startsWith('/api')) return sendText(reply, 404, `404 page not found: ${req.method} ${path}`)
    return reply.code(404).send({ code: 'TOPOFLOW_ERR_NOT_FOUND', message: `no route for ${req.method} ${path}` })
  })

  app.addHook('onRequest', async (req, reply) => {
    if (!auth.enabled || !needsAuth(req.url)) return
    const token = requestToken(req)
    if (token === undefined) return sendText(reply, 401, 'No credentials provided')
    if (auth.verify(token) === null) return sendText(reply, 401, 'Wrong credentials')
    return undefined
  })
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) })
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000)
  })

  // The web UI: static files, outside auth (it logs in through /login like any client).
  await app.register(fastifyStatic, { root: webRoot, index: 'index.html', wildcard: false })
  rootRoutes(app, ctx, registry)
  loginRoutes(app, ctx)
  topologyRoutes(app, ctx)
  resourceRoutes(app, ctx)
  elementRoutes(app, ctx)
  flowMatrixRoutes(app, ctx)
  websocketRoutes(app, ctx)
  app.get('/api/openapi.json', { schema: { summary: 'This document', tags: ['info'] } }, async () =>
    openApiDocument(routes, { version: apiVersion, authEnabled: auth.enabled }))

  app.addHook('onReady', async () => {
    try {
      await resources.start()
      await captureStatus.start()
      await live.start()
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_INFRA', `the API could not subscribe to its topics: ${(err as Error).message}`, { cause: err, retriable: true })
    }
    // Ready, and alerting, once the replicas hold what their topics held: not a half-loaded graph.
    void Promise.all([resources.caughtUp, captureStatus.caughtUp, live.caughtUp]).then(() => {
      if (closing) return
      alerts.start()
      ready = true
      logger.info({ auth: auth.backend, nodes: opts.graph.nodeCount }, 'API ready')
    })
  })
  app.addHook('preClose', async () => {
    closing = true
    ready = false
    alerts.close()
    hub.closeAll()
  })
  app.addHook('onClose', async () => {
    await live.close()
    await captureStatus.close()
    await resources.close()
  })
  return app as unknown as ApiApp
}
