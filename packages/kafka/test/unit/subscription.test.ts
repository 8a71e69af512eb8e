import { test } from 'node:test'
import assert from 'node:assert/strict'
import { silentLogger, TopoflowError, type BusMessage } from '@topoflow/core'
import type { Consumer, ConsumerRunConfig, EachBatchPayload, KafkaMessage } from 'kafkajs'
import type { DeadLetter } from '../../src/dead-letter.ts'
import { memoryKafkaMetrics } from '../../src/metrics.ts'
import { behindAtStart, consumerDefaults, KafkaSubscription, type ConsumerTuning, type StartPosition } from '../../src/subscription.ts'

/** A consumer stand-in: the test hands batches to eachBatch and watches what gets resolved. */
function fakeConsumer (): { consumer: Consumer, deliver: (partition: number, messages: KafkaMessage[], highWatermark?: string) => Promise<void>, resolved: Map<number, string>, commits: number, pauses: number[], resumes: number[], disconnected: () => boolean } {
  let run: ConsumerRunConfig | undefined
  let running = true
  let disconnected = false
  const state = { resolved: new Map<number, string>(), commits: 0, pauses: [] as number[], resumes: [] as number[] }
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    on: () => () => {},
    connect: async () => {},
    subscribe: async () => {},
    run: async (config: ConsumerRunConfig) => { run = config },
    disconnect: async () => { running = false; disconnected = true }
  } as unknown as Consumer
  const deliver = async (partition: number, messages: KafkaMessage[], highWatermark = '0'): Promise<void> => {
    const payload = {
      batch: { topic: 'pfx.t', partition, messages, highWatermark, isEmpty: () => messages.length === 0, firstOffset: () => messages[0]?.offset ?? null, lastOffset: () => messages.at(-1)!.offset, offsetLag: () => '0', offsetLagLow: () => '0' },
      resolveOffset: (offset: string) => { state.resolved.set(partition, offset) },
      heartbeat: async () => {},
      pause: () => { state.pauses.push(partition); return () => { state.resumes.push(partition) } },
      commitOffsetsIfNecessary: async () => { state.commits++ },
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => running,
      isStale: () => false
    } as unknown as EachBatchPayload
    await run!.eachBatch!(payload)
  }
  return { consumer, deliver, ...state, get commits () { return state.commits }, disconnected: () => disconnected }
}

const message = (offset: number, value: string | null): KafkaMessage => ({
  key: Buffer.from(`k${offset}`), value: value === null ? null : Buffer.from(value), offset: String(offset), timestamp: '1700000000000', attributes: 0, headers: { h: Buffer.from('v') }
})

/** Values are JSON text; anything else is undecodable. */
function decode (_topic: string, bytes: Buffer): { n: number } {
  try {
    return JSON.parse(bytes.toString()) as { n: number }
  } catch (err) {
    throw new TopoflowError('TOPOFLOW_ERR_DECODE', `Not JSON: ${String(err)}`)
  }
}

function subscribe (handler: (batch: Array<BusMessage<{ n: number }>>) => Promise<void>, tuning: Partial<ConsumerTuning> = {}, positions: StartPosition[] | (() => Promise<StartPosition[]>) = []): { sub: KafkaSubscription<{ n: number }>, fake: ReturnType<typeof fakeConsumer>, letters: DeadLetter[], metrics: ReturnType<typeof memoryKafkaMetrics> } {
  const fake = fakeConsumer()
  const letters: DeadLetter[] = []
  const metrics = memoryKafkaMetrics()
  const sub = new KafkaSubscription<{ n: number }>({
    consumer: fake.consumer,
    group: 'g',
    topics: ['t'],
    fromBeginning: true,
    handler,
    tuning: { ...consumerDefaults, retryMinDelayMs: 1, retryMaxDelayMs: 2, ...tuning },
    physicalTopic: (t) => `pfx.${t}`,
    logicalTopic: (t) => t.replace(/^pfx\./, ''),
    decode,
    deadLetter: async (l) => { letters.push(...l) },
    logger: silentLogger(),
    metrics,
    now: () => 123,
    startPositions: typeof positions === 'function' ? positions : async () => positions
  })
  return { sub, fake, letters, metrics }
}

test('the handler gets decoded messages in chunks and offsets are resolved after each', async () => {
  const seen: Array<Array<BusMessage<{ n: number }>>> = []
  const { sub, fake, metrics } = subscribe(async (batch) => { seen.push(batch) }, { maxBatch: 2 })
  await sub.start()
  await fake.deliver(0, [message(10, '{"n":1}'), message(11, null), message(12, '{"n":3}')])
  assert.deepEqual(seen.map((b) => b.length), [2, 1])
  assert.deepEqual(seen[0]![0], { topic: 't', key: 'k10', value: { n: 1 }, headers: { h: 'v' }, partition: 0, offset: '10', timestamp: 1700000000000 })
  assert.equal(seen[0]![1]!.value, null, 'a tombstone arrives as null')
  assert.equal(fake.resolved.get(0), '12')
  assert.equal(fake.commits, 2)
  assert.equal(metrics.counts.consumed, 3)
})

test('undecodable messages go to the dead-letter topic and the rest is handled', async () => {
  const seen: number[] = []
  const { sub, fake, letters, metrics } = subscribe(async (batch) => { seen.push(...batch.map((m) => m.value!.n)) })
  await sub.start()
  await fake.deliver(0, [message(0, '{"n":1}'), message(1, '\u0000garbage'), message(2, '{"n":2}')])
  assert.deepEqual(seen, [1, 2])
  assert.equal(letters.length, 1)
  assert.equal(letters[0]!.value.ErrorCode, 'TOPOFLOW_ERR_DECODE')
  assert.equal(letters[0]!.value.Stage, 'g/decode')
  assert.equal(letters[0]!.value.OriginalTopic, 'pfx.t')
  assert.deepEqual(letters[0]!.value.OriginalValue, Buffer.from('\u0000garbage'))
  assert.equal(letters[0]!.headers['topoflow-original-offset'], '1')
  assert.equal(fake.resolved.get(0), '2')
  assert.equal(metrics.counts.deadLettered, 1)
})

test('a retriable handler error is retried until it succeeds', async () => {
  let calls = 0
  const { sub, fake, letters, metrics } = subscribe(async () => {
    calls++
    if (calls < 3) throw new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', 'Service unavailable', { retriable: true })
  })
  await sub.start()
  await fake.deliver(0, [message(0, '{"n":1}')])
  assert.equal(calls, 3)
  assert.equal(letters.length, 0)
  assert.equal(fake.resolved.get(0), '0')
  assert.equal(metrics.counts.errors, 2)
})

test('a permanent handler error dead-letters only the message the handler refuses', async () => {
  const handled: number[] = []
  const { sub, fake, letters } = subscribe(async (batch) => {
    if (batch.some((m) => m.value?.n === 2)) throw new TopoflowError('TOPOFLOW_ERR_SINK_REJECTED', 'n=2 is not allowed')
    handled.push(...batch.map((m) => m.value!.n))
  })
  await sub.start()
  await fake.deliver(0, [message(0, '{"n":1}'), message(1, '{"n":2}'), message(2, '{"n":3}')])
  assert.deepEqual(handled, [1, 3])
  assert.equal(letters.length, 1)
  assert.equal(letters[0]!.value.OriginalOffset, 1)
  assert.equal(letters[0]!.value.ErrorCode, 'TOPOFLOW_ERR_SINK_REJECTED')
  assert.equal(letters[0]!.value.Stage, 'g/handler')
  assert.equal(fake.resolved.get(0), '2')
})

test('closing abandons a stuck handler without resolving its messages', async () => {
  let calls = 0
  const { sub, fake } = subscribe(async () => {
    calls++
    if (calls === 2) await new Promise(() => {})
  }, { maxBatch: 2, closeGraceMs: 20 })
  await sub.start()
  const delivery = fake.deliver(0, [message(0, '{"n":1}'), message(1, '{"n":2}'), message(2, '{"n":3}'), message(3, '{"n":4}')])
  while (calls < 2) await new Promise((resolve) => setImmediate(resolve))
  await sub.close()
  await delivery
  assert.equal(fake.resolved.get(0), '1', 'only the acknowledged chunk is resolved')
  assert.ok(fake.disconnected())
  await sub.close()
})

test('closing lets a running handler finish within the grace period, then commits it', async () => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let calls = 0
  const { sub, fake } = subscribe(async () => { calls++; await gate }, { maxBatch: 2, closeGraceMs: 60_000 })
  await sub.start()
  const delivery = fake.deliver(0, [message(0, '{"n":1}'), message(1, '{"n":2}'), message(2, '{"n":3}')])
  while (calls < 1) await new Promise((resolve) => setImmediate(resolve))
  const closing = sub.close()
  release()
  await closing
  await delivery
  assert.equal(fake.resolved.get(0), '1', 'the running chunk is acknowledged')
  assert.equal(calls, 1, 'no new chunk starts once closing')
})

test('partitions pause while too much is in flight and resume once handlers catch up', async () => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let started = 0
  const { sub, fake, metrics } = subscribe(async () => { started++; await gate }, { maxBatch: 10, maxInFlight: 15 })
  await sub.start()
  const batch = (from: number): KafkaMessage[] => Array.from({ length: 10 }, (_, i) => message(from + i, `{"n":${from + i}}`))
  const first = fake.deliver(0, batch(0))
  while (started < 1) await new Promise((resolve) => setImmediate(resolve))
  await fake.deliver(1, batch(100))
  assert.deepEqual(fake.pauses, [1])
  assert.deepEqual(sub.pausedPartitions(), [{ topic: 't', partition: 1 }])
  assert.equal(fake.resolved.has(1), false, 'the paused batch stays unresolved, to be fetched again')
  assert.equal(sub.inFlight, 10)
  release()
  await first
  assert.deepEqual(fake.resumes, [1])
  assert.deepEqual(sub.pausedPartitions(), [])
  assert.equal(metrics.counts.pauses, 1)
  await fake.deliver(1, batch(100))
  assert.equal(fake.resolved.get(1), '109')
})

test('caughtUp resolves once every message there at the start was handled, and at once for empty topics', async () => {
  const positions: StartPosition[] = [
    { topic: 'pfx.t', partition: 0, low: 0n, high: 3n, committed: -1n },
    { topic: 'pfx.t', partition: 1, low: 5n, high: 5n, committed: -1n }
  ]
  const { sub, fake } = subscribe(async () => {}, {}, positions)
  let caughtUp = false
  void sub.caughtUp.then(() => { caughtUp = true })
  await sub.start()
  await fake.deliver(0, [message(0, '{"n":1}'), message(1, '{"n":2}')])
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(caughtUp, false, 'offset 2 of partition 0 is still to come')
  await fake.deliver(0, [message(2, '\u0000undecodable counts as handled')])
  await sub.caughtUp
  const empty = subscribe(async () => {}, {}, [{ topic: 'pfx.t', partition: 0, low: 7n, high: 7n, committed: -1n }])
  await empty.sub.start()
  await empty.sub.caughtUp
})

test('what a subscription must read before it caught up: from the committed offset, the start, or nothing', () => {
  const p = (partition: number, low: bigint, high: bigint, committed: bigint): StartPosition => ({ topic: 't', partition, low, high, committed })
  const positions = [p(0, 0n, 10n, -1n), p(1, 4n, 10n, 10n), p(2, 0n, 10n, 6n), p(3, 3n, 3n, -1n)]
  assert.deepEqual([...behindAtStart(positions, true)], [['t\u00000', 9n], ['t\u00002', 9n]])
  assert.deepEqual([...behindAtStart(positions, false)], [['t\u00002', 9n]])
})

test('the lag left after each handled chunk is reported per group, topic and partition', async () => {
  const { sub, fake, metrics } = subscribe(async () => {}, { maxBatch: 2 })
  await sub.start()
  // Offsets 0-2 handed over, 10 written so far (the high watermark is the next offset).
  await fake.deliver(1, [message(0, '{"n":1}'), message(1, '{"n":2}'), message(2, '{"n":3}')], '10')
  assert.equal(metrics.lags.get('g/t/1'), 7)
})

test('start positions that cannot be read (no partition leader yet) are retried, and in the end do not stop the subscription', async () => {
  let calls = 0
  const notLeader = async (): Promise<StartPosition[]> => {
    calls++
    if (calls < 3) throw new TopoflowError('TOPOFLOW_ERR_KAFKA', 'NOT_LEADER_FOR_PARTITION', { retriable: true })
    return [{ topic: 'pfx.t', partition: 0, low: 0n, high: 1n, committed: -1n }]
  }
  const late = subscribe(async () => {}, {}, notLeader)
  await late.sub.start()
  assert.equal(calls, 3)
  await late.fake.deliver(0, [message(0, '{"n":1}')])
  await late.sub.caughtUp
  const never = subscribe(async () => {}, {}, async () => { throw new TopoflowError('TOPOFLOW_ERR_KAFKA', 'broker gone', { retriable: true }) })
  await never.sub.start()
  await never.sub.caughtUp
  const seen: number[] = []
  const after = subscribe(async (b) => { seen.push(...b.map((m) => m.value!.n)) }, {}, async () => { throw new TopoflowError('TOPOFLOW_ERR_KAFKA', 'broker gone', { retriable: true }) })
  await after.sub.start()
  await after.fake.deliver(0, [message(5, '{"n":9}')])
  assert.deepEqual(seen, [9], 'messages still flow')
})
