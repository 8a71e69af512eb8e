import { buildCaptureAgent } from '@topoflow/capture'
import type { CliIO } from './cli.ts'
import { runService } from './runtime.ts'

/** `topoflow capture`: this host's agent, publishing to Kafka. */
export async function runCapture (argv: string[], io: CliIO): Promise<number> {
  return await runService({
    name: 'capture',
    argv,
    io,
    requiresKafka: true,
    opsListen: (config) => config.agent.listen,
    build: async (ctx) => {
      const agent = buildCaptureAgent(ctx)
      return { components: agent.components, ready: agent.ready }
    }
  })
}
