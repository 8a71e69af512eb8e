import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { InProcessBus, silentLogger, type BusMessage } from '@topoflow/core'
import { topics } from '@topoflow/schemas'
import { K8sProbe } from '../../src/k8s-probe/probe.ts'
import { K8sIndex } from '../../src/lookups/k8s.ts'
import type { K8sEvent } from '../../src/types.ts'

interface Recording { lists: Record<string, unknown>, podWatch: { first: unknown[], gone: unknown, relist: unknown } }
const recording = JSON.parse(readFileSync(new URL('../fixtures/k8s/cluster.json', import.meta.url), 'utf8')) as Recording

/** Replays the recorded cluster: lists, then a pod watch that breaks, then a 410, then a relist. */
function replayServer (): { start: () => Promise<string>, close: () => Promise<void>, podWatchVersions: string[] } {
  const podWatchVersions: string[] = []
  let podLists = 0
  const open = new Set<ServerResponse>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const watching = url.searchParams.get('watch') === 'true'
    if (!watching) {
      let body = recording.lists[url.pathname]
      if (url.pathname === '/api/v1/pods' && podLists++ > 0) body = recording.podWatch.relist
      if (body === undefined) { res.writeHead(404).end('{"kind":"Status","code":404}'); return }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    if (url.pathname === '/api/v1/pods') {
      podWatchVersions.push(url.searchParams.get('resourceVersion') ?? '')
      const n = podWatchVersions.length
      if (n === 1) {
        for (const e of recording.podWatch.first) res.write(JSON.stringify(e) + '\n')
        setTimeout(() => res.socket?.destroy(), 100) // the watch breaks mid-stream, after its event went out
        return
      }
      if (n === 2) { res.end(JSON.stringify(recording.podWatch.gone) + '\n'); return }
    }
    open.add(res) // other watches stay open and quiet, like a calm cluster
    res.on('close', () => open.delete(res))
  })
  return {
    podWatchVersions,
    start: async () => await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: async () => { for (const r of open) r.destroy(); server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

function kubeconfig (server: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tf-kube-'))
  const file = join(dir, 'config')
  writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters:\n- name: kind-replay\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: replay\n  context:\n    cluster: kind-replay\n    user: viewer\ncurrent-context: replay\nusers:\n- name: viewer\n  user:\n    token: replay-token\n`)
  return file
}

async function until (cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

test('the probe lists and watches every kind, survives a broken watch and a 410, and never publishes secret values', async (t) => {
  const replay = replayServer()
  const url = await replay.start()
  const bus = new InProcessBus()
  const events: K8sEvent[] = []
  await bus.subscribe<K8sEvent>({ topics: [topics.k8s], group: 'test', handler: async (batch: Array<BusMessage<K8sEvent>>) => { for (const m of batch) if (m.value !== null) events.push(m.value) } })
  const probe = new K8sProbe({ bus, logger: silentLogger(), kubeconfig: kubeconfig(url), clusterName: 'replay' })
  t.after(async () => { await probe.close(); await replay.close(); await bus.close() })
  await probe.start()
  await until(() => events.some((e) => e.Kind === 'Deleted' && e.Name === 'web-7d9f8c6b5-q8zrn'))
  await until(() => replay.podWatchVersions.length >= 3) // the watch resumed after the relist

  const kinds = new Set(events.map((e) => e.ObjectKind))
  for (const k of ['cluster', 'namespace', 'node', 'pod', 'container', 'service', 'endpoints', 'endpointslice', 'ingress', 'networkpolicy', 'deployment', 'statefulset', 'daemonset', 'replicaset', 'cronjob', 'job', 'persistentvolume', 'persistentvolumeclaim', 'storageclass', 'configmap', 'secret']) {
    assert.ok(kinds.has(k), `no ${k} published`)
  }
  const secret = events.find((e) => e.ObjectKind === 'secret')
  assert.equal((secret?.Object as { data?: unknown }).data, undefined)
  assert.doesNotMatch(JSON.stringify(events), /czNjcjN0/)
  // the ADDED from the broken watch, and the watch resumed from its resourceVersion
  assert.ok(events.some((e) => e.Kind === 'Added' && e.Name === 'web-7d9f8c6b5-m4p9t'))
  assert.deepEqual(replay.podWatchVersions.slice(0, 3), ['100', '101', '200'])
  assert.equal(probe.stats.relists, 1)
  assert.equal(events.filter((e) => e.ObjectKind === 'container' && e.Name === 'postgres').length, 1)

  // What the probe published is enough for the enricher's pod lookups.
  const k8s = new K8sIndex()
  for (const e of events) k8s.apply(e)
  const db = k8s.lookup('10.244.2.7')
  assert.deepEqual([db?.name, db?.namespace, db?.services, db?.workload, db?.workloadKind], ['db-0', 'shop', ['db'], 'db', 'StatefulSet'])
  const web = k8s.lookup('10.244.1.5')
  assert.deepEqual([web?.workload, web?.workloadKind, web?.services, web?.labels.app], ['web', 'Deployment', ['web'], 'web'])
  assert.equal(k8s.lookup('10.244.2.6'), undefined, 'the pod deleted during the 410 is gone')
})
