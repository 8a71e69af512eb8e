import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PublishBuffer, type WireMessage } from '../../src/publish-buffer.ts'

const msg = (n: number): WireMessage => ({ topic: 't', key: String(n), value: Buffer.from([n]) })

function recorder (opts: { fail?: (batch: WireMessage[]) => boolean, gate?: () => Promise<void> } = {}): { sends: WireMessage[][], send: (b: WireMessage[]) => Promise<void> } {
  const sends: WireMessage[][] = []
  return {
    sends,
    send: async (batch) => {
      await opts.gate?.()
      if (opts.fail?.(batch) === true) throw new Error('broker said no')
      sends.push(batch)
    }
  }
}

test('small publishes within the linger time share one send', async () => {
  const r = recorder()
  const buffer = new PublishBuffer({ send: r.send, lingerMs: 20, maxBatchMessages: 100, maxBufferedMessages: 1000 })
  await Promise.all([buffer.enqueue([msg(1)]), buffer.enqueue([msg(2), msg(3)]), buffer.enqueue([msg(4)])])
  assert.equal(r.sends.length, 1)
  assert.deepEqual(r.sends[0]!.map((m) => m.key), ['1', '2', '3', '4'])
  assert.equal(buffer.buffered, 0)
})

test('a full batch goes out without waiting for the linger timer, in order', async () => {
  const r = recorder()
  const buffer = new PublishBuffer({ send: r.send, lingerMs: 60_000, maxBatchMessages: 3, maxBufferedMessages: 1000 })
  const all = Array.from({ length: 7 }, (_, i) => buffer.enqueue([msg(i)]))
  await Promise.all(all.slice(0, 6))
  await buffer.flush()
  await Promise.all(all)
  assert.deepEqual(r.sends.map((b) => b.length), [3, 3, 1])
  assert.deepEqual(r.sends.flat().map((m) => m.key), ['0', '1', '2', '3', '4', '5', '6'])
})

test('an oversized call is sent whole', async () => {
  const r = recorder()
  const buffer = new PublishBuffer({ send: r.send, lingerMs: 1, maxBatchMessages: 2, maxBufferedMessages: 100 })
  await buffer.enqueue([msg(1), msg(2), msg(3), msg(4), msg(5)])
  assert.deepEqual(r.sends.map((b) => b.length), [5])
})

test('a failed send rejects exactly the calls it carried', async () => {
  const r = recorder({ fail: (batch) => batch.some((m) => m.key === 'bad') })
  const buffer = new PublishBuffer({ send: r.send, lingerMs: 1, maxBatchMessages: 1, maxBufferedMessages: 100 })
  const results = await Promise.allSettled([buffer.enqueue([msg(1)]), buffer.enqueue([{ topic: 't', key: 'bad', value: null }]), buffer.enqueue([msg(3)])])
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
  assert.deepEqual(r.sends.flat().map((m) => m.key), ['1', '3'])
})

test('publishers wait when the buffer is full (bounded memory)', async () => {
  let open: () => void = () => {}
  let gate = new Promise<void>((resolve) => { open = resolve })
  const r = recorder({ gate: async () => { await gate } })
  const buffer = new PublishBuffer({ send: r.send, lingerMs: 1, maxBatchMessages: 2, maxBufferedMessages: 4 })
  const first = buffer.enqueue([msg(1), msg(2)])
  const second = buffer.enqueue([msg(3), msg(4)])
  let thirdQueued = false
  const third = buffer.enqueue([msg(5)]).then(() => { thirdQueued = true })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(buffer.buffered, 4, 'the third call is not buffered while full')
  assert.equal(thirdQueued, false)
  open()
  gate = Promise.resolve()
  await Promise.all([first, second, third])
  assert.deepEqual(r.sends.flat().map((m) => m.key), ['1', '2', '3', '4', '5'])
})

test('close sends what is buffered and refuses new messages', async () => {
  const r = recorder()
  const buffer = new PublishBuffer({ send: r.send, lingerMs: 60_000, maxBatchMessages: 100, maxBufferedMessages: 100 })
  const pending = buffer.enqueue([msg(1)])
  await buffer.close()
  await pending
  assert.equal(r.sends.flat().length, 1)
  await assert.rejects(buffer.enqueue([msg(2)]), /closing or closed/)
})
