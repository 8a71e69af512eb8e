import { parseArgs } from 'node:util'
import { TopoflowError } from '@topoflow/core'
import type { CliIO } from './cli.ts'

/** Where an analyzer answers and how to authenticate, shared by `query` and `flow-matrix`. */
export interface AnalyzerTarget { baseUrl: string, headers: Record<string, string> }

export function analyzerTarget (analyzer: string, username?: string, password?: string): AnalyzerTarget {
  const baseUrl = /^https?:\/\//.test(analyzer) ? analyzer.replace(/\/$/, '') : `http://${analyzer}`
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (username !== undefined) headers.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`
  return { baseUrl, headers }
}

/** `topoflow query [--analyzer HOST:PORT] [--username U --password P] "G.V().Has('Type','host')"` prints the JSON result. */
export async function runQueryCommand (argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      analyzer: { type: 'string', default: io.env.TOPOFLOW_ANALYZER ?? '127.0.0.1:8082' },
      username: { type: 'string' },
      password: { type: 'string' },
      format: { type: 'string', default: 'json' }
    }
  })
  const query = positionals.join(' ').trim()
  if (query === '') {
    io.stderr.write('Usage: topoflow query [--analyzer HOST:PORT] [--username U --password P] [--format json|dot] "G.V()"\n')
    return 2
  }
  const target = analyzerTarget(values.analyzer, values.username, values.password)
  const accept = values.format === 'dot' ? 'text/vnd.graphviz' : 'application/json'
  let res: Response
  try {
    res = await fetch(`${target.baseUrl}/api/topology`, { method: 'POST', headers: { ...target.headers, accept }, body: JSON.stringify({ GremlinQuery: query }) })
  } catch (err) {
    throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `Cannot reach the analyzer at ${target.baseUrl}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, { cause: err })
  }
  const body = await res.text()
  if (!res.ok) {
    io.stderr.write(`topoflow query: HTTP ${res.status}: ${body}\n`)
    return 1
  }
  io.stdout.write(accept === 'application/json' ? JSON.stringify(JSON.parse(body), null, 2) + '\n' : body)
  return 0
}
