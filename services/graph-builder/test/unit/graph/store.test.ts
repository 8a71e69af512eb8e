import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GraphStore } from '../../../src/graph/store.ts'

const put = (store: GraphStore, id: string, metadata: Record<string, unknown>): void => {
  store.putNode({ ID: id, Metadata: metadata, Host: 'h', Origin: 'agent.h', owner: 'h' })
}

test('revisions: 1 at creation however many changes in the same transaction, +1 per changing transaction', () => {
  const store = new GraphStore()
  store.begin(1000)
  put(store, 'n', { Name: 'a' })
  store.setNodeOverlay('n', 'sockets', { Sockets: [] })
  put(store, 'n', { Name: 'b' })
  const created = store.commit()
  assert.equal(created.length, 1)
  assert.deepEqual(created[0]?.change.Node?.Metadata, { Name: 'b', Sockets: [] })
  assert.equal(created[0]?.change.Node?.Revision, 1)
  assert.equal(created[0]?.previous, undefined)

  store.begin(2000)
  put(store, 'n', { Name: 'c' })
  put(store, 'n', { Name: 'd' })
  const [updated] = store.commit()
  assert.equal(updated?.change.Node?.Revision, 2)
  assert.equal(updated?.change.Node?.UpdatedAt, 2000)
  assert.equal(updated?.change.Node?.CreatedAt, 1000)
  assert.equal(updated?.previous?.Metadata.Name, 'b')
})

test('a change undone in the same transaction publishes nothing', () => {
  const store = new GraphStore()
  store.begin(1000)
  put(store, 'n', { Name: 'a' })
  store.commit()
  store.begin(2000)
  put(store, 'n', { Name: 'b' })
  put(store, 'n', { Name: 'a' })
  assert.deepEqual(store.commit(), [])
  assert.equal(store.getNode('n')?.Revision, 1)
  assert.equal(store.getNode('n')?.UpdatedAt, 1000)
  // Deleted and made again identically: still nothing.
  store.begin(3000)
  store.deleteNode('n')
  put(store, 'n', { Name: 'a' })
  assert.deepEqual(store.commit(), [])
  assert.equal(store.getNode('n')?.Revision, 1)
})

test('deleting a node deletes its edges first; the delete carries DeletedAt', () => {
  const store = new GraphStore()
  store.begin(1000)
  put(store, 'a', { Name: 'a' })
  put(store, 'b', { Name: 'b' })
  store.putEdge({ ID: 'e', Parent: 'a', Child: 'b', Metadata: { RelationType: 'layer2' }, Host: 'h', Origin: 'agent.h', owner: 'h' })
  store.commit()
  store.begin(5000)
  store.deleteNode('a')
  const records = store.commit()
  assert.deepEqual(records.map((r) => `${r.change.ElementType} ${r.change.Op} ${String((r.change.Node ?? r.change.Edge)?.DeletedAt)}`), ['edge delete 5000', 'node delete 5000'])
  assert.equal(store.edgesOf('b').length, 0)
  assert.equal(store.nodeIdsOwnedBy('h').join(), 'b')
})

test('mutations outside a transaction are refused', () => {
  const store = new GraphStore()
  assert.throws(() => { put(store, 'n', {}) }, { code: 'TOPOFLOW_ERR_INTERNAL' })
})
