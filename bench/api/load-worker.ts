import { Agent, request } from 'node:http'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * What the main thread asks for: POST the bodies to `url` over `connections` keep-alive connections,
 * each body once in order when `durationMs` is 0, else round and round until the time is up.
 */
export interface LoadJob {
  url: string
  bodies: string[]
  connections: number
  durationMs: number
}

export interface LoadResult {
  ok: number
  failed: number
  seconds: number
  /** bytes of the 200 answers' bodies, so that a comparison can check both sides sent the same */
  bytes: number
  /** ms per request, in completion order */
  latencies: number[]
  /** first non-200 answer, to explain a failure */
  firstError?: string
}

/**
 * The load generator, in its own thread so that it does not share the server's event loop: each
 * connection sends one request after another until the time is up.
 */
async function generate (job: LoadJob): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections })
  const result: LoadResult = { ok: 0, failed: 0, seconds: 0, bytes: 0, latencies: [] }
  const once = async (body: string): Promise<void> => await new Promise((resolve) => {
    const headers = { 'content-type': 'application/json', accept: 'application/json', 'content-length': String(Buffer.byteLength(body)) }
    const t0 = performance.now()
    const req = request(job.url, { method: 'POST', agent, headers }, (res) => {
      let text = ''
      let bytes = 0
      res.on('data', (d: Buffer) => {
        bytes += d.length
        if (res.statusCode !== 200 && text.length < 300) text += d.toString('utf8')
      })
      res.on('end', () => {
        result.latencies.push(performance.now() - t0)
        if (res.statusCode === 200) {
          result.ok++
          result.bytes += bytes
        } else {
          result.failed++
          result.firstError ??= `${res.statusCode ?? 0} ${text}`
        }
        resolve()
      })
    })
    req.on('error', (err) => { result.failed++; result.firstError ??= err.message; resolve() })
    req.end(body)
  })
  const start = performance.now()
  const deadline = start + job.durationMs
  let next = 0
  const more = (): boolean => job.durationMs > 0 ? performance.now() < deadline : next < job.bodies.length
  await Promise.all(Array.from({ length: job.connections }, async () => {
    while (more()) await once(job.bodies[next++ % job.bodies.length] ?? '')
  }))
  result.seconds = (performance.now() - start) / 1000
  agent.destroy()
  return result
}

if (parentPort !== null) {
  const port = parentPort
  void generate(workerData as LoadJob).then((r) => port.postMessage(r))
}
