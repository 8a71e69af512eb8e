import type { Writable } from 'node:stream'
import { TopoflowError } from '@topoflow/core/errors'

export interface CliIO {
  stdout: Writable
  stderr: Writable
  env: NodeJS.ProcessEnv
}

interface Command {
  summary: string
  /** Loaded lazily so `topoflow pcap` does not pay for fastify or kafkajs. */
  run?: (argv: string[], io: CliIO) => Promise<number>
  /** Set while the issue that delivers the command has not landed. */
  pendingIssue?: number
}

export const commands: Record<string, Command> = {
  allinone: {
    summary: 'every service in one process, API and UI on :8082 (--listen HOST:PORT)',
    run: async (argv, io) => await (await import('./allinone.ts')).runAllInOne(argv, io)
  },
  capture: {
    summary: 'the capture agent of this host (topology, sockets, flows)',
    run: async (argv, io) => await (await import('./services.ts')).runCapture(argv, io)
  },
  'graph-builder': {
    summary: 'the materialized topology graph and its history',
    run: async (argv, io) => await (await import('./services.ts')).runGraphBuilder(argv, io)
  },
  enricher: {
    summary: 'joins flows with processes, hosts and Kubernetes metadata, indexes them in OpenSearch',
    run: async (argv, io) => await (await import('./services.ts')).runEnricher(argv, io)
  },
  'k8s-probe': {
    summary: 'one per cluster: Kubernetes objects (list and watch) to Kafka',
    run: async (argv, io) => await (await import('./services.ts')).runK8sProbe(argv, io)
  },
  api: {
    summary: 'the Skydive-compatible REST/Gremlin API and web UI',
    run: async (argv, io) => await (await import('./services.ts')).runApi(argv, io)
  },
  pcap: {
    summary: 'read a pcap/pcapng file and print its flows as Skydive JSON lines',
    run: async (argv, io) => await (await import('@topoflow/capture/flow')).runPcapCommand(argv, io.stdout, io.stderr)
  },
  query: {
    summary: 'run a Gremlin query against an API (topoflow query --analyzer HOST:PORT "G.V()")',
    run: async (argv, io) => await (await import('@topoflow/api')).runQueryCommand(argv, io.stdout, io.stderr)
  },
  'flow-matrix': {
    summary: 'who talks to whom, as CSV, DOT or SVG (skydive-flow-matrix compatible)',
    run: async (argv, io) => await (await import('@topoflow/api')).runFlowMatrixCommand(argv, io.stdout, io.stderr)
  }
}

export function usage (): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}${c.run === undefined ? ' (not available yet)' : ''}`)
  return `Usage: topoflow <command> [--config FILE] [options]\n\nCommands:\n${lines.join('\n')}\n`
}

export async function main (argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage())
    return name === undefined ? 1 : 0
  }
  const command = commands[name]
  if (command === undefined) {
    io.stderr.write(`topoflow: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  if (command.run === undefined) {
    io.stderr.write(`topoflow ${name}: not available yet; it arrives with issue #${command.pendingIssue ?? '?'}.\n`)
    return 3
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    if (TopoflowError.is(err)) {
      io.stderr.write(`topoflow ${name}: ${err.message} [${err.code}]\n`)
      return 1
    }
    throw err
  }
}
