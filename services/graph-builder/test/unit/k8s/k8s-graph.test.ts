import { test } from 'node:test'
import assert from 'node:assert/strict'
import { genID } from '../../../src/uuid.ts'
import type { K8sEvent } from '../../../src/types.ts'
import { applyAll, inputsOf, loadStream, newEngine, summary, T0 } from '../helpers.ts'

const cluster = (): ReturnType<typeof inputsOf> => inputsOf(loadStream('k8s-cluster.events.json'))
const hosts = (): ReturnType<typeof inputsOf> => inputsOf(loadStream('two-hosts.events.json')).slice(0, 2)

test('a replayed Kubernetes cluster gives exactly Skydive\'s k8s nodes and edges', () => {
  const engine = newEngine()
  applyAll(engine, cluster())
  const { nodes, edges } = summary(engine.store)
  assert.deepEqual(nodes, [
    'container:nginx', 'deployment:web', 'namespace:default', 'networkpolicy:deny-all', 'node:compute-1',
    'persistentvolume:pv-1', 'persistentvolumeclaim:data', 'pod:web-5d4f-x7k2', 'replicaset:web-5d4f', 'service:web'
  ])
  assert.deepEqual(edges, [
    'deployment:web -deployment-> replicaset:web-5d4f',
    'namespace:default -ownership-> deployment:web',
    'namespace:default -ownership-> networkpolicy:deny-all',
    'namespace:default -ownership-> persistentvolumeclaim:data',
    'namespace:default -ownership-> pod:web-5d4f-x7k2',
    'namespace:default -ownership-> replicaset:web-5d4f',
    'namespace:default -ownership-> service:web',
    'networkpolicy:deny-all -networkpolicy-> pod:web-5d4f-x7k2',
    'node:compute-1 -node-> pod:web-5d4f-x7k2',
    'persistentvolumeclaim:data -persistentvolumeclaim-> persistentvolume:pv-1',
    'pod:web-5d4f-x7k2 -ownership-> container:nginx',
    'pod:web-5d4f-x7k2 -pod-> persistentvolumeclaim:data',
    'replicaset:web-5d4f -replicaset-> pod:web-5d4f-x7k2',
    'service:web -service-> pod:web-5d4f-x7k2'
  ])
  for (const e of engine.store.edges()) assert.equal(e.Metadata.Manager, 'k8s')
})

test('k8s node metadata: Manager, Type, K8s indexed fields, Extra, State', () => {
  const engine = newEngine({ clusterName: '' })
  applyAll(engine, cluster())
  const pod = engine.store.getNode('pod-web')
  assert.ok(pod !== undefined)
  const k8s = pod.Metadata.K8s as Record<string, unknown>
  assert.equal(pod.Metadata.Manager, 'k8s')
  assert.equal(pod.Metadata.Type, 'pod')
  assert.equal(pod.Metadata.Name, 'web-5d4f-x7k2')
  assert.equal(pod.Metadata.State, 'UP')
  assert.equal(pod.Host, '')
  assert.deepEqual({ Name: k8s.Name, Namespace: k8s.Namespace, Labels: k8s.Labels, Node: k8s.Node, IP: k8s.IP, Status: k8s.Status },
    { Name: 'web-5d4f-x7k2', Namespace: 'default', Labels: { app: 'web' }, Node: 'compute-1', IP: '10.244.0.5', Status: 'Running' })
  assert.equal((k8s.Extra as { kind: string }).kind, 'Pod', 'the whole object is under K8s.Extra')
  const container = engine.store.getNode(genID('pod-web', 'nginx'))
  assert.deepEqual((container?.Metadata.K8s as Record<string, unknown>).ContainerID, 'abc123')
  assert.deepEqual((container?.Metadata.K8s as Record<string, unknown>).Runtime, 'containerd')
  assert.equal(engine.store.getNode('pvc-data')?.Metadata.State, 'UP')
  assert.equal(engine.store.getNode('pv-1')?.Metadata.State, 'UP')
  const svc = engine.store.getNode('svc-web')?.Metadata.K8s as Record<string, unknown>
  assert.deepEqual(svc.Ports, [{ Name: 'http', Protocol: 'TCP', Port: 80, TargetPort: '8080' }])
  assert.equal(svc.ClusterIP, '10.96.0.10')
  const np = [...engine.store.edges()].find((e) => e.Metadata.RelationType === 'networkpolicy')
  assert.deepEqual(np?.Metadata, { Manager: 'k8s', RelationType: 'networkpolicy', PolicyType: 'ingress', PolicyTarget: 'deny', PolicyPoint: 'begin', PolicyPorts: '' })
})

test('the k8s node meets the host node of the same name, whichever comes first', () => {
  for (const order of ['hosts first', 'cluster first']) {
    const engine = newEngine()
    applyAll(engine, order === 'hosts first' ? [...hosts(), ...cluster()] : [...cluster(), ...hosts()])
    const links = summary(engine.store).edges.filter((e) => e.startsWith('compute-'))
      .filter((e) => e.includes('-node->'))
    assert.deepEqual(links, ['compute-1/host:compute-1 -node-> node:compute-1'], order)
  }
})

test('the same events in another order give the same graph', () => {
  const a = newEngine()
  applyAll(a, cluster())
  const b = newEngine()
  applyAll(b, [...cluster()].reverse())
  assert.deepEqual(summary(b.store), summary(a.store))
})

test('pods follow their labels, phases and deletion', () => {
  const engine = newEngine()
  applyAll(engine, cluster())
  const podEvent = loadStream('k8s-cluster.events.json').map((m) => m.value as K8sEvent).find((e) => e.UID === 'pod-web') as K8sEvent
  const pod = structuredClone(podEvent.Object) as { metadata: { labels: Record<string, string> }, status: Record<string, unknown> }
  pod.metadata.labels = { app: 'other' }
  pod.status.phase = 'Failed'
  engine.apply({ kind: 'k8s', event: { ...podEvent, Kind: 'Modified', Time: T0 + 60_000, Object: pod } })
  assert.equal(engine.store.getNode('pod-web')?.Metadata.State, 'DOWN')
  assert.ok(!summary(engine.store).edges.some((e) => e.startsWith('service:web')), 'no longer selected by the service')
  assert.ok(summary(engine.store).edges.some((e) => e.startsWith('replicaset:web-5d4f')), 'still owned by its replicaset')

  const records = engine.apply({ kind: 'k8s', event: { ...podEvent, Kind: 'Deleted', Time: T0 + 70_000 } })
  assert.equal(engine.store.getNode('pod-web'), undefined)
  assert.equal(engine.store.getNode(genID('pod-web', 'nginx')), undefined, 'its containers go with it')
  assert.ok(records.every((r) => r.change.Op === 'delete'))
  assert.ok(!summary(engine.store).edges.some((e) => e.includes('pod:')))
})

test('bad k8s events are rejected with a clear error and change nothing', () => {
  const engine = newEngine()
  assert.throws(() => engine.apply({ kind: 'k8s', event: { Kind: 'Added', ObjectKind: 'pod', UID: '', Name: 'x', Time: T0, Object: {} } }),
    { code: 'TOPOFLOW_ERR_SCHEMA', message: /UID is missing/ })
  assert.throws(() => engine.apply({ kind: 'k8s', event: { Kind: 'Exploded' as never, ObjectKind: 'pod', UID: 'u', Name: 'x', Time: T0, Object: {} } }),
    { code: 'TOPOFLOW_ERR_SCHEMA', message: /Kind must be/ })
  assert.equal(engine.store.nodeCount, 0)
  assert.equal(engine.stats.rejected, 2)
})
