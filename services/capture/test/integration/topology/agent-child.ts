import { silentLogger } from '@topoflow/core'
import { TopologyAgent } from '../../../src/topology/agent.ts'

/**
 * A topology agent alone in a process, for tests that kill it outright: prints `synced` once its first
 * HostSync is out and its `ip monitor`s run, then waits to be killed.
 *
 *   node --import tsx services/capture/test/integration/topology/agent-child.ts
 */
const agent = new TopologyAgent({ hostId: `child-${process.pid}`, logger: silentLogger(), publish: () => {} })
await agent.start()
const waitForMonitors = setInterval(() => {
  const { monitors, namespaces } = agent.stats()
  if (monitors < namespaces - 1) return // all but the host's own, which rtnetlink watches
  clearInterval(waitForMonitors)
  process.stdout.write('synced\n')
}, 50)
setInterval(() => {}, 60_000)
