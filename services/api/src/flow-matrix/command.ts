import { parseArgs } from 'node:util'
import { TopoflowError } from '@topoflow/core'
import { analyzerOptions, clientFromArgs } from '../query-command.ts'
import { toCsv, toDot, toJson } from './format.ts'
import { collectMatrix } from './matrix.ts'
import { renderSvg, renderWithGraphviz } from './svg.ts'

export const flowMatrixUsage = `Usage: topoflow flow-matrix --analyzer HOST:PORT [--username U --password P] [--ssl]
                            [--at=T [--duration SECONDS]] [--use-flows] [--list-no-peers]
                            [--format csv|dot|svg|json] [--graphviz]

Who talks to whom: one line per (server process, client process) pair, built from the hosts' socket
tables (and from flows with --use-flows), in skydive-flow-matrix's CSV columns. --format svg draws the
matrix with Graphviz's dot when it is installed (required with --graphviz), else with a built-in renderer.
Write relative times with an equals sign: --at=-10m.
`

type Writable = Pick<NodeJS.WritableStream, 'write'>

/** `topoflow flow-matrix …`; returns the exit code. Works against Topoflow and against a Skydive analyzer. */
export async function runFlowMatrixCommand (argv: string[], stdout: Writable, stderr: Writable): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        analyzer: { type: 'string' },
        ...analyzerOptions,
        at: { type: 'string', default: '' },
        duration: { type: 'string', default: '0' },
        'use-flows': { type: 'boolean', default: false },
        'list-no-peers': { type: 'boolean', default: false },
        format: { type: 'string', default: 'csv' },
        graphviz: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      },
      allowPositionals: false
    }))
  } catch (err) {
    stderr.write(`topoflow flow-matrix: ${(err as Error).message}\n\n${flowMatrixUsage}`)
    return 2
  }
  if (values.help) { stdout.write(flowMatrixUsage); return 0 }
  if (values.analyzer === undefined) {
    stderr.write(`topoflow flow-matrix: --analyzer HOST:PORT is required\n\n${flowMatrixUsage}`)
    return 2
  }
  const format = values.format
  if (!['csv', 'dot', 'svg', 'json'].includes(format)) {
    stderr.write(`topoflow flow-matrix: --format must be csv, dot, svg or json, got "${format}"\n`)
    return 2
  }
  const duration = Number(values.duration)
  if (!Number.isInteger(duration) || duration < 0) {
    stderr.write(`topoflow flow-matrix: --duration must be a whole number of seconds, got "${values.duration}"\n`)
    return 2
  }

  try {
    const client = clientFromArgs({ ...values, analyzer: values.analyzer })
    const result = await collectMatrix(async (q) => await client.gremlin(q), { at: values.at, duration, useFlows: values['use-flows'] })
    if (result === null) {
      stderr.write('No result, please check analyzer address (no host carries socket information)\n')
      return 1
    }
    if (format === 'csv') stdout.write(toCsv(result, { listNoPeers: values['list-no-peers'] }))
    else if (format === 'dot') stdout.write(toDot(result))
    else if (format === 'json') stdout.write(toJson(result) + '\n')
    else stdout.write(await svgOf(result, values.graphviz))
    return 0
  } catch (err) {
    if (TopoflowError.is(err)) {
      stderr.write(`topoflow flow-matrix: ${err.message}\n`)
      return 1
    }
    throw err
  }
}

async function svgOf (result: Parameters<typeof toDot>[0], requireGraphviz: boolean): Promise<string> {
  try {
    return await renderWithGraphviz(toDot(result))
  } catch (err) {
    const missing = TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_NOT_IMPLEMENTED'
    if (missing && !requireGraphviz) return renderSvg(result)
    throw err
  }
}
