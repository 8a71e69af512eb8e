import { parseArgs } from 'node:util'
import { TopoflowError } from '@topoflow/core'
import { ApiClient } from './client/api-client.ts'

export const queryUsage = `Usage: topoflow query --analyzer HOST:PORT [--username U --password P] [--ssl] [--format json|dot] "G.V()…"

Runs a Gremlin query (Skydive's dialect) through the API and prints the result.
`

type Writable = Pick<NodeJS.WritableStream, 'write'>

/** The options of every command that talks to an analyzer, besides `--analyzer` whose default differs. */
export const analyzerOptions = {
  username: { type: 'string' },
  password: { type: 'string' },
  ssl: { type: 'boolean', default: false }
} as const

/** An API client for the analyzer and credentials given on the command line. */
export function clientFromArgs (values: { analyzer: string, username?: string | undefined, password?: string | undefined, ssl: boolean }): ApiClient {
  const opts: ConstructorParameters<typeof ApiClient>[0] = { analyzer: values.analyzer, scheme: values.ssl ? 'https' : 'http' }
  if (values.username !== undefined) opts.username = values.username
  if (values.password !== undefined) opts.password = values.password
  return new ApiClient(opts)
}

/** `topoflow query …`; returns the exit code. */
export async function runQueryCommand (argv: string[], stdout: Writable, stderr: Writable): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        analyzer: { type: 'string', default: '127.0.0.1:8082' },
        ...analyzerOptions,
        format: { type: 'string', default: 'json' },
        help: { type: 'boolean', short: 'h', default: false }
      },
      allowPositionals: true
    })
  } catch (err) {
    stderr.write(`topoflow query: ${(err as Error).message}\n\n${queryUsage}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) { stdout.write(queryUsage); return 0 }
  if (positionals.length !== 1) {
    stderr.write(`topoflow query: expected one Gremlin query, got ${positionals.length}\n\n${queryUsage}`)
    return 2
  }
  if (values.format !== 'json' && values.format !== 'dot') {
    stderr.write(`topoflow query: --format must be json or dot, got "${values.format}"\n`)
    return 2
  }
  try {
    const client = clientFromArgs(values)
    const query = positionals[0] as string
    if (values.format === 'dot') {
      const res = await client.request('POST', '/api/topology', { GremlinQuery: query }, 'text/vnd.graphviz')
      stdout.write(res.text)
      return 0
    }
    const result = await client.gremlin(query)
    stdout.write(JSON.stringify(result, null, 2) + '\n')
    return 0
  } catch (err) {
    if (TopoflowError.is(err)) {
      stderr.write(`topoflow query: ${err.message}\n`)
      return 1
    }
    throw err
  }
}
