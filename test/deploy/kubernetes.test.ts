import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { commands } from '@topoflow/cli'
import { loadConfig, parseListen, type TopoflowConfig } from '@topoflow/core'
import { deployVenv, repoRoot, run } from './validators.ts'

const dir = join(repoRoot, 'deploy/kubernetes')
const manifestFiles = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()
/** Oldest and newest Kubernetes minor versions the manifests must be valid for. */
const kubernetesVersions = ['1.29.0', '1.37.0']

interface Probe { httpGet?: { path?: string, port?: number | string } }
interface Container {
  name: string
  args?: string[]
  env?: Array<{ name: string }>
  envFrom?: Array<{ configMapRef?: { name: string } }>
  ports?: Array<{ name?: string, containerPort: number }>
  securityContext?: { privileged?: boolean, capabilities?: { add?: string[] } }
  resources?: { requests?: Record<string, string>, limits?: Record<string, string> }
  livenessProbe?: Probe
  readinessProbe?: Probe
  volumeMounts?: Array<{ name: string, mountPath: string, readOnly?: boolean }>
}
interface PodSpec {
  hostNetwork?: boolean
  hostPID?: boolean
  serviceAccountName?: string
  containers: Container[]
  volumes?: Array<{ name: string, hostPath?: { path: string }, configMap?: { name: string } }>
}
interface Resource {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string }
  spec?: { replicas?: number, template?: { spec: PodSpec }, ports?: Array<{ port: number, targetPort: number | string }>, selector?: Record<string, unknown> }
  data?: Record<string, string>
  rules?: Array<{ apiGroups: string[], resources: string[], verbs: string[] }>
  roleRef?: { kind: string, name: string }
  subjects?: Array<{ kind: string, name: string, namespace?: string }>
}

const resources: Resource[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
    assert.equal(doc.errors.length, 0, `${file}: ${doc.errors.join('; ')}`)
    return doc.toJS() as Resource
  }))

function find (kind: string, name: string): Resource {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name)
  assert.ok(found !== undefined, `no ${kind} ${name} in deploy/kubernetes`)
  return found
}

function podSpec (r: Resource): PodSpec {
  const spec = r.spec?.template?.spec
  assert.ok(spec !== undefined, `${r.kind} ${r.metadata.name} has no pod template`)
  return spec
}

function onlyContainer (r: Resource): Container {
  const [c, ...others] = podSpec(r).containers
  assert.ok(c !== undefined && others.length === 0, `${r.metadata.name}: expected exactly one container`)
  return c
}

/** The ConfigMap's topoflow.yml, loaded and validated the way the services load it. */
function clusterConfig (): TopoflowConfig {
  const tmp = mkdtempSync(join(tmpdir(), 'topoflow-k8s-'))
  try {
    const file = join(tmp, 'topoflow.yml')
    writeFileSync(file, find('ConfigMap', 'topoflow-config').data?.['topoflow.yml'] ?? '')
    return loadConfig({ file, env: {} })
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** Ops port of each workload, as the ConfigMap's topoflow.yml sets it. */
function workloadPorts (): Record<string, { kind: string, port: number }> {
  const config = clusterConfig()
  return {
    'topoflow-capture': { kind: 'DaemonSet', port: parseListen(config.agent.listen).port },
    'topoflow-k8s-probe': { kind: 'Deployment', port: parseListen(config.analyzer.topology.k8s.listen).port },
    'topoflow-graph-builder': { kind: 'Deployment', port: parseListen(config.graph_builder.listen).port },
    'topoflow-enricher': { kind: 'Deployment', port: parseListen(config.enricher.listen).port },
    'topoflow-api': { kind: 'Deployment', port: parseListen(config.analyzer.listen).port }
  }
}

test('every manifest validates against the Kubernetes OpenAPI schemas (strict, offline)', (t) => {
  const venv = deployVenv(t)
  if (venv === null) return
  assert.ok(manifestFiles.length >= 7, `expected the manifests in ${dir}, found ${manifestFiles.join(', ')}`)
  for (const version of kubernetesVersions) {
    const { status, output } = run(venv.bin('kubernetes-validate'), ['--strict', '-k', version, ...manifestFiles], { cwd: dir })
    assert.equal(status, 0, `kubernetes-validate ${version} failed:\n${output}`)
    const passed = output.split('\n').filter((l) => l.includes(' passed for resource ')).length
    assert.equal(passed, resources.length, `expected ${resources.length} resources validated against ${version}:\n${output}`)
  }
})

test('the validator really rejects a broken manifest (so a pass means something)', (t) => {
  const venv = deployVenv(t)
  if (venv === null) return
  const broken = structuredClone(find('Deployment', 'topoflow-api')) as unknown as { spec: Record<string, unknown> }
  broken.spec.replicas = 'two'
  const tmp = mkdtempSync(join(tmpdir(), 'topoflow-k8s-'))
  try {
    writeFileSync(join(tmp, 'broken.yaml'), JSON.stringify(broken))
    const { status, output } = run(venv.bin('kubernetes-validate'), ['--strict', 'broken.yaml'], { cwd: tmp })
    assert.notEqual(status, 0, output)
    assert.match(output, /spec\.replicas: 'two' is not of type 'integer'/)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})

test('kustomization.yaml lists every manifest, puts everything in one namespace and names the image', () => {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { namespace: string, resources: string[], images: Array<{ name: string }> }
  assert.deepEqual([...k.resources].sort(), manifestFiles)
  assert.equal(k.namespace, 'topoflow')
  assert.deepEqual(k.images.map((i) => i.name), ['topoflow'])
  find('Namespace', 'topoflow')
  for (const r of resources) {
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(r.kind)
    assert.equal(r.metadata.namespace, clusterScoped ? undefined : 'topoflow', `${r.kind} ${r.metadata.name}`)
  }
})

test('the ConfigMap holds a valid topoflow.yml and the Kafka/OpenSearch endpoints as environment', () => {
  const config = clusterConfig()
  assert.deepEqual(parseListen(config.analyzer.listen).port, 8082)
  assert.equal(config.kafka.brokers.length, 0, 'brokers belong in topoflow-env, not the file')
  const env = find('ConfigMap', 'topoflow-env').data ?? {}
  assert.match(env.KAFKA_BROKERS ?? '', /^[\w.-]+:\d+(,[\w.-]+:\d+)*$/)
  assert.match(env.OPENSEARCH_URL ?? '', /^https?:\/\/[\w.-]+(:\d+)?$/)
})

test('every workload runs one topoflow command with the config, the endpoints, probes and resources', () => {
  const workloads = workloadPorts()
  const workloadResources = resources.filter((r) => r.kind === 'Deployment' || r.kind === 'DaemonSet')
  assert.deepEqual(workloadResources.map((r) => r.metadata.name).sort(), Object.keys(workloads).sort())
  for (const r of workloadResources) {
    const expected = workloads[r.metadata.name]
    assert.ok(expected !== undefined)
    assert.equal(r.kind, expected.kind, r.metadata.name)
    const c = onlyContainer(r)
    const command = c.args?.[0] ?? ''
    assert.equal(`topoflow-${command}`, r.metadata.name)
    assert.ok(commands[command]?.run !== undefined, `${command} is not a topoflow command`)
    assert.deepEqual(c.args?.slice(1), ['--config', '/etc/topoflow/topoflow.yml'])
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/etc/topoflow' && m.readOnly === true), `${r.metadata.name} does not mount the config`)
    assert.ok(podSpec(r).volumes?.some((v) => v.configMap?.name === 'topoflow-config'), `${r.metadata.name} has no config volume`)
    assert.ok(c.envFrom?.some((e) => e.configMapRef?.name === 'topoflow-env'), `${r.metadata.name} does not take topoflow-env`)

    const portOf = (p: number | string | undefined): number | undefined =>
      typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort
    assert.ok(c.ports?.some((p) => p.containerPort === expected.port), `${r.metadata.name} does not expose ${expected.port}`)
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', r.metadata.name)
    assert.equal(portOf(c.livenessProbe?.httpGet?.port), expected.port, r.metadata.name)
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', r.metadata.name)
    assert.equal(portOf(c.readinessProbe?.httpGet?.port), expected.port, r.metadata.name)

    for (const kind of ['requests', 'limits'] as const) {
      const res = c.resources?.[kind]
      assert.ok(res?.cpu !== undefined && res.memory !== undefined, `${r.metadata.name} has no cpu/memory ${kind}`)
    }
  }
})

test('graph-builder and the k8s probe run exactly one replica', () => {
  assert.equal(find('Deployment', 'topoflow-graph-builder').spec?.replicas, 1)
  assert.equal(find('Deployment', 'topoflow-k8s-probe').spec?.replicas, 1)
})

test('capture is a privileged DaemonSet on the host network and PID namespace with the host mounts', () => {
  const ds = find('DaemonSet', 'topoflow-capture')
  const pod = podSpec(ds)
  assert.equal(pod.hostNetwork, true)
  assert.equal(pod.hostPID, true)
  const c = onlyContainer(ds)
  assert.equal(c.securityContext?.privileged, true)
  assert.deepEqual([...c.securityContext?.capabilities?.add ?? []].sort(), ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE'])
  const hostPathOf = (volume: string): string | undefined => pod.volumes?.find((v) => v.name === volume)?.hostPath?.path
  const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.mountPath, { host: hostPathOf(m.name), readOnly: m.readOnly === true }]))
  assert.deepEqual(mounts['/host/proc'], { host: '/proc', readOnly: true })
  assert.equal(mounts['/var/run/netns']?.host, '/var/run/netns')
  assert.equal(mounts['/sys']?.host, '/sys')
  assert.ok(c.env?.some((e) => e.name === 'TOPOFLOW_HOST_ID'), 'the agent should be named after its node')
})

/** Every kind the probe follows, from its source: `{ type, kind, path: '/apis/<group>/<version>/<resource>' }`. */
function probeKinds (): Array<{ kind: string, group: string, resource: string }> {
  const source = readFileSync(join(repoRoot, 'services/enricher/src/k8s-probe/kinds.ts'), 'utf8')
  const specs = [...source.matchAll(/kind: '(\w+)', path: '([^']+)'/g)].map((m) => {
    const path = (m[2] ?? '').split('/').filter((s) => s !== '')
    // /api/v1/<resource> is the core group; /apis/<group>/<version>/<resource> any other
    const group = path[0] === 'api' ? '' : path[1] ?? ''
    return { kind: m[1] ?? '', group, resource: path[path.length - 1] ?? '' }
  })
  assert.ok(specs.length >= 20, `found only ${specs.length} kinds in kinds.ts`)
  return specs
}

test('the k8s probe ClusterRole is read-only and covers every kind the probe follows', () => {
  const role = find('ClusterRole', 'topoflow-k8s-probe')
  const granted = new Set<string>()
  for (const rule of role.rules ?? []) {
    assert.deepEqual([...rule.verbs].sort(), ['get', 'list', 'watch'], 'the probe must only read')
    for (const g of rule.apiGroups) for (const res of rule.resources) granted.add(`${g}/${res}`)
  }
  const wanted = new Set(probeKinds().map((k) => `${k.group}/${k.resource}`))
  assert.deepEqual([...granted].sort(), [...wanted].sort())

  const binding = find('ClusterRoleBinding', 'topoflow-k8s-probe')
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'topoflow-k8s-probe' })
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'topoflow-k8s-probe', namespace: 'topoflow' }])
  find('ServiceAccount', 'topoflow-k8s-probe')
  assert.equal(podSpec(find('Deployment', 'topoflow-k8s-probe')).serviceAccountName, 'topoflow-k8s-probe')
})

test('the api Service exposes the API port', () => {
  const svc = find('Service', 'topoflow-api')
  assert.deepEqual(svc.spec?.ports?.map((p) => p.port), [8082])
  assert.deepEqual(svc.spec?.selector, { 'app.kubernetes.io/name': 'topoflow', 'app.kubernetes.io/component': 'api' })
})
