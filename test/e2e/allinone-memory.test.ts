import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startAllInOne, readConfig } from '@topoflow/cli'
import { topics } from '@topoflow/schemas'

/**
 * A busy flow stream that outlives the all-in-one's history window twelve times over: the flows kept
 * follow the window, not the stream, and the heap stops growing once the window is full.
 */
test('all-in-one memory stays bounded by its history window under a long flow stream', { timeout: 180_000 }, async () => {
  const windowSeconds = 5
  const rate = 2000 // new flows per second
  const seconds = windowSeconds * 12
  const config = readConfig(undefined, {}, {
    'analyzer.listen': '127.0.0.1:0',
    'analyzer.history.window': windowSeconds,
    'logging.level': 'warn',
    'enricher.join_wait': 0,
    'kafka.brokers': []
  })
  const app = await startAllInOne(config, { listen: { host: '127.0.0.1', port: 0 } })
  // A full collection before each sample, so the samples show what is kept, not when the GC last ran.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const heap = (): number => { gc(); return process.memoryUsage().heapUsed }
  const samples: number[] = []
  let maxKept = 0
  let sent = 0
  const prune = (): void => { app.flows.pruneOlderThan(Date.now() - windowSeconds * 1000) }
  try {
    for (let s = 0; s < seconds; s++) {
      const secondStart = Date.now()
      for (let batch = 0; batch < 10; batch++) {
        const now = Date.now()
        await app.bus.publish(topics.flowsRaw, Array.from({ length: rate / 10 }, () => {
          const id = sent++
          return {
            key: `m${id}`,
            value: {
              UUID: `m${id}`,
              LayersPath: 'Ethernet/IPv4/UDP',
              Application: 'UDP',
              Network: { Protocol: 'IPV4', A: `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`, B: '10.255.0.1', ID: 0 },
              Transport: { Protocol: 'UDP', A: 1024 + (id % 60000), B: 53, ID: 0 },
              Metric: { ABPackets: 1, ABBytes: 80, BAPackets: 1, BABytes: 120, Start: now, Last: now },
              LastUpdateMetric: { ABPackets: 1, ABBytes: 80, BAPackets: 1, BABytes: 120, Start: now, Last: now },
              Start: now,
              Last: now,
              ParentUUID: '',
              RawPacketsCaptured: 0,
              Host: 'memory-test'
            }
          }
        }))
      }
      // The service prunes on its own timer; the test prunes too so it does not wait on that period.
      prune()
      maxKept = Math.max(maxKept, app.flows.size)
      if (s % windowSeconds === windowSeconds - 1) samples.push(heap())
      const left = 1000 - (Date.now() - secondStart)
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left))
    }
  } finally {
    await app.close()
  }
  assert.equal(sent, rate * seconds)
  // At most one window of flows (plus the second being published) is ever kept.
  assert.ok(maxKept <= rate * (windowSeconds + 2), `kept ${maxKept} flows for a ${windowSeconds} s window at ${rate}/s`)
  // Once the window is full the heap levels off: the last windows are no bigger than the early ones by much.
  const early = Math.max(...samples.slice(1, 3))
  const late = Math.max(...samples.slice(-3))
  assert.ok(late < early * 1.5 + 20e6, `heap grew from ${(early / 1e6).toFixed(0)} MB to ${(late / 1e6).toFixed(0)} MB: ${samples.map((x) => (x / 1e6).toFixed(0)).join(', ')}`)
})
