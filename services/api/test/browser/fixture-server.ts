// A stand-in for the API while the browser test drives the UI: serves services/api/web/ and
// answers the Skydive calls the UI makes (Gremlin subset, captures, status, login, websocket)
// from the fixture, recording what the page sent so the test can assert it.

import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import { fixtureEdges, fixtureFlows, fixtureNodes, type FixtureEdge, type FixtureFlow, type FixtureNode } from './fixture.ts'

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json'
}

export const credentials = { username: 'admin', password: 'secret' }
const token = 'fixture-token-1'

export interface Recorded {
  queries: string[]
  capturePosts: unknown[]
  captureDeletes: string[]
  logins: Array<Record<string, string>>
  wsMessages: unknown[]
}

export interface FixtureServer {
  url: string
  recorded: Recorded
  nodes: FixtureNode[]
  edges: FixtureEdge[]
  /** false: refuse websocket upgrades, so the UI has to poll */
  wsEnabled: boolean
  broadcast: (msg: unknown) => void
  close: () => Promise<void>
}

class QueryError extends Error {}

type Arg = string | number

/** `Has('Name', 'eth0')` → ['Name', 'eth0']. */
function parseArgs (text: string): Arg[] {
  if (text.trim() === '') return []
  return text.split(',').map((raw) => {
    const a = raw.trim()
    const quoted = /^'(.*)'$|^"(.*)"$/.exec(a)
    if (quoted !== null) return quoted[1] ?? quoted[2] ?? ''
    if (/^\d+$/.test(a)) return Number(a)
    throw new QueryError(`unsupported argument ${a}`)
  })
}

function field (obj: Record<string, unknown>, key: string): unknown {
  let cur: unknown = obj
  for (const k of key.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

/**
 * Just the Gremlin the UI sends: G[.At(t)].V([id]) / .E() / .Flows() with Has, Limit, Count.
 * Everything else is a 400 with a Skydive-like message.
 */
function evaluate (query: string, graph: { nodes: FixtureNode[], edges: FixtureEdge[], flows: FixtureFlow[] }): unknown {
  const q = query.trim()
  if (!q.startsWith('G')) throw new QueryError(`found "${q.slice(0, 10)}", expected \`G\``)
  const steps = [...q.slice(1).matchAll(/\.(\w+)\(([^)]*)\)/g)].map((m) => ({ name: m[1] ?? '', args: parseArgs(m[2] ?? '') }))
  const consumed = steps.reduce((n, s) => n + s.name.length + 3, 0)
  if (q.slice(1).replace(/\(([^)]*)\)/g, '()').length !== consumed) throw new QueryError(`cannot parse '${q}'`)
  let nodes = graph.nodes
  let edges = graph.edges
  let flows = graph.flows
  let kind: 'graph' | 'nodes' | 'edges' | 'flows' = 'graph'
  for (const step of steps) {
    switch (step.name) {
      case 'At': {
        const t = step.args[0]
        if (typeof t === 'number') {
          // epoch ms (Skydive reads ints above 2^31 as ms): what existed then
          const ms = t > 2147483647 ? t : t * 1000
          const past = new Set(nodes.filter((n) => n.CreatedAt <= ms).map((n) => n.ID))
          nodes = nodes.filter((n) => past.has(n.ID))
          edges = edges.filter((e) => past.has(e.Parent) && past.has(e.Child))
        }
        break
      }
      case 'V':
        kind = 'nodes'
        if (step.args.length > 0) nodes = nodes.filter((n) => n.ID === step.args[0])
        break
      case 'E':
        kind = 'edges'
        break
      case 'Flows': {
        const tids = new Set(nodes.map((n) => n.Metadata.TID))
        if (kind === 'nodes') flows = flows.filter((f) => tids.has(f.NodeTID))
        kind = 'flows'
        break
      }
      case 'Has': {
        const [key, value] = step.args
        if (typeof key !== 'string') throw new QueryError('Has expects a key')
        const match = (obj: Record<string, unknown>): boolean => value === undefined ? field(obj, key) !== undefined : field(obj, key) === value
        if (kind === 'nodes') nodes = nodes.filter((n) => match(n.Metadata))
        else if (kind === 'edges') edges = edges.filter((e) => match(e.Metadata))
        else if (kind === 'flows') flows = flows.filter(match)
        else throw new QueryError('Has needs V(), E() or Flows() before it')
        break
      }
      case 'Limit': {
        const n = Number(step.args[0] ?? 0)
        nodes = nodes.slice(0, n)
        edges = edges.slice(0, n)
        flows = flows.slice(0, n)
        break
      }
      case 'Count':
        return kind === 'nodes' ? nodes.length : kind === 'edges' ? edges.length : flows.length
      default:
        throw new QueryError(`unknown step ${step.name}`)
    }
  }
  if (kind === 'nodes') return nodes
  if (kind === 'edges') return edges
  if (kind === 'flows') return flows
  return [{ Nodes: nodes, Edges: edges }]
}

function cookieToken (req: IncomingMessage): string | undefined {
  const header = req.headers.cookie ?? ''
  return /(?:^|;\s*)authtoken=([^;]+)/.exec(header)?.[1]
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function send (res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=UTF-8'): void {
  const text = typeof body === 'string' && !type.startsWith('application/json') ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(text)
}

function text (res: ServerResponse, status: number, body: string): void {
  send(res, status, body, 'text/plain; charset=UTF-8')
}

export async function startFixtureServer (opts: { webRoot: string, auth: boolean }): Promise<FixtureServer> {
  const recorded: Recorded = { queries: [], capturePosts: [], captureDeletes: [], logins: [], wsMessages: [] }
  const captures = new Map<string, Record<string, unknown>>()
  const flows = fixtureFlows()
  const sockets = new Set<WebSocket>()
  const wss = new WebSocketServer({ noServer: true })

  const state: FixtureServer = {
    url: '',
    recorded,
    nodes: fixtureNodes(),
    edges: fixtureEdges(),
    wsEnabled: true,
    broadcast: (msg) => { for (const ws of sockets) ws.send(JSON.stringify(msg)) },
    close: async () => {
      for (const ws of sockets) ws.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  const authorized = (req: IncomingMessage): boolean => !opts.auth || cookieToken(req) === token

  async function serveStatic (res: ServerResponse, pathname: string): Promise<void> {
    const rel = normalize(decodeURIComponent(pathname === '/' ? '/index.html' : pathname)).replace(/^[/\\]+/, '')
    const file = join(opts.webRoot, rel)
    if (!file.startsWith(opts.webRoot + sep)) { text(res, 403, 'forbidden'); return }
    try {
      const body = await readFile(file)
      res.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
      res.end(body)
    } catch {
      text(res, 404, 'not found')
    }
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    if (req.method === 'POST' && path === '/login') {
      const form = Object.fromEntries(new URLSearchParams(await readBody(req)))
      recorded.logins.push(form)
      if (form.username !== credentials.username || form.password !== credentials.password) { text(res, 401, 'Wrong credentials'); return }
      res.setHeader('set-cookie', `authtoken=${token}; Path=/`)
      send(res, 200, { Token: token, Permissions: [] })
      return
    }
    if (!path.startsWith('/api')) { await serveStatic(res, path); return }
    if (!authorized(req)) { text(res, 401, 'Wrong credentials'); return }

    if (path === '/api') { send(res, 200, { Host: 'fixture', Version: '0.1.0', Service: 'analyzer' }); return }
    if (path === '/api/status') {
      send(res, 200, {
        Agents: { 'compute-1': { ServiceType: 'agent', ClientProtocol: 'json', IsConnected: true } },
        Peers: { Incomers: {}, Outgoers: {} }, Publishers: {}, Subscribers: {}, Alerts: { IsMaster: true }, Captures: { IsMaster: true }, Probes: {}
      })
      return
    }
    if (path === '/api/topology' && req.method === 'POST') {
      let gremlin = ''
      try {
        const body = JSON.parse(await readBody(req)) as { GremlinQuery?: unknown }
        gremlin = typeof body.GremlinQuery === 'string' ? body.GremlinQuery : ''
      } catch {
        text(res, 400, 'invalid JSON body')
        return
      }
      recorded.queries.push(gremlin)
      if (gremlin === '') { res.writeHead(204).end(); return }
      try {
        send(res, 200, evaluate(gremlin, { nodes: state.nodes, edges: state.edges, flows }))
      } catch (err) {
        text(res, 400, (err as Error).message)
      }
      return
    }
    if (path === '/api/capture' && req.method === 'GET') {
      send(res, 200, Object.fromEntries(captures))
      return
    }
    if (path === '/api/capture' && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as Record<string, unknown>
      recorded.capturePosts.push(body)
      if (typeof body.GremlinQuery !== 'string' || body.GremlinQuery === '') { text(res, 400, 'GremlinQuery is required'); return }
      const uuid = randomUUID()
      const created = { UUID: uuid, Count: 1, SamplingRate: 1, PollingInterval: 10, ExtraTCPMetric: false, IPDefrag: false, ReassembleTCP: false, ...body }
      captures.set(uuid, created)
      send(res, 201, created)
      return
    }
    const one = /^\/api\/capture\/([^/]+)$/.exec(path)
    if (one !== null && req.method === 'DELETE') {
      const id = decodeURIComponent(one[1] ?? '')
      recorded.captureDeletes.push(id)
      if (!captures.delete(id)) { text(res, 404, `Capture '${id}' not found`); return }
      res.writeHead(200, { 'content-type': 'text/plain' }).end()
      return
    }
    text(res, 404, `no route ${req.method ?? ''} ${path}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => { if (!res.headersSent) text(res, 500, (err as Error).message) })
  })

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const refuse = (status: string): void => { socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`) }
    if (url.pathname !== '/ws/subscriber' || !state.wsEnabled) { refuse('503 Service Unavailable'); return }
    if (!authorized(req)) { refuse('401 Unauthorized'); return }
    if (url.searchParams.get('x-client-type') === null && req.headers['x-client-type'] === undefined) { refuse('400 Bad Request'); return }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws)
      ws.on('close', () => sockets.delete(ws))
      ws.on('message', (data) => {
        let msg: { Namespace?: string, Type?: string, UUID?: string }
        try {
          msg = JSON.parse(String(data)) as typeof msg
        } catch {
          return
        }
        recorded.wsMessages.push(msg)
        if (msg.Namespace === 'Graph' && msg.Type === 'SyncRequest') {
          ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncReply', UUID: msg.UUID, Status: 200, Obj: { Nodes: state.nodes, Edges: state.edges } }))
        }
      })
    })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}
