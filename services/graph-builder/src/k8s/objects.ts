import type { Metadata } from '../types.ts'
import { compact } from '../graph/metadata.ts'
import { genID } from '../uuid.ts'

/** A Kubernetes object as the API returns it, loosely typed: we read only a few well-known fields. */
export type K8sObject = Record<string, unknown>

export const k8sManager = 'k8s'

/** Kinds that live in a namespace, and so get a namespace → object ownership edge (Skydive's namespace linker). */
export const namespacedKinds = new Set([
  'configmap', 'cronjob', 'deployment', 'daemonset', 'endpoints', 'ingress', 'job', 'networkpolicy', 'pod',
  'persistentvolumeclaim', 'replicaset', 'replicationcontroller', 'secret', 'service', 'statefulset'
])

/** `Pod`, `pods`, `PersistentVolumeClaim` → Skydive's node Type (`pod`, `persistentvolumeclaim`). */
export function normalizeKind (kind: string): string {
  const k = kind.trim().toLowerCase()
  const plural: Record<string, string> = {
    pods: 'pod', services: 'service', namespaces: 'namespace', nodes: 'node', deployments: 'deployment',
    replicasets: 'replicaset', networkpolicies: 'networkpolicy', persistentvolumes: 'persistentvolume',
    persistentvolumeclaims: 'persistentvolumeclaim', statefulsets: 'statefulset', daemonsets: 'daemonset',
    jobs: 'job', cronjobs: 'cronjob', configmaps: 'configmap', secrets: 'secret', ingresses: 'ingress',
    storageclasses: 'storageclass', replicationcontrollers: 'replicationcontroller'
  }
  return plural[k] ?? k
}

export function obj (value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
}

export function list (value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function str (value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

export function meta (o: K8sObject): { name: string, namespace: string, uid: string, labels: Record<string, string> } {
  const m = obj(o.metadata)
  const labels: Record<string, string> = {}
  for (const [k, v] of Object.entries(obj(m.labels))) if (typeof v === 'string') labels[k] = v
  return { name: str(m.name) ?? '', namespace: str(m.namespace) ?? '', uid: str(m.uid) ?? '', labels }
}

function state (up: boolean): 'UP' | 'DOWN' {
  return up ? 'UP' : 'DOWN'
}

/** Kind-specific indexed fields under `K8s`, as Skydive's k8s subprobes set them. */
function kindFields (kind: string, o: K8sObject): { fields: Record<string, unknown>, state?: 'UP' | 'DOWN' } {
  const spec = obj(o.spec)
  const status = obj(o.status)
  switch (kind) {
    case 'pod': {
      const reason = str(status.reason) ?? str(status.phase) ?? ''
      return { fields: { Node: str(spec.nodeName) ?? '', IP: str(status.podIP), Status: reason }, state: state(reason === 'Running') }
    }
    case 'namespace':
      return { fields: { Status: str(status.phase) } }
    case 'node': {
      const fields: Record<string, unknown> = {}
      for (const a of list(status.addresses)) {
        const type = str(obj(a).type)
        if (type === 'Hostname' || type === 'InternalIP' || type === 'ExternalIP') fields[type] = str(obj(a).address)
      }
      const info = obj(status.nodeInfo)
      return { fields: { ...fields, Arch: str(info.architecture), Kernel: str(info.kernelVersion), OS: str(info.operatingSystem) } }
    }
    case 'service':
      return {
        fields: {
          Ports: list(spec.ports).map((p) => compact({
            Name: str(obj(p).name), Protocol: str(obj(p).protocol), Port: obj(p).port, NodePort: obj(p).nodePort,
            TargetPort: obj(p).targetPort === undefined ? undefined : String(obj(p).targetPort)
          })),
          ClusterIP: str(spec.clusterIP),
          ServiceType: str(spec.type),
          SessionAffinity: str(spec.sessionAffinity),
          LoadBalancerIP: str(spec.loadBalancerIP),
          ExternalName: str(spec.externalName)
        }
      }
    case 'persistentvolume': {
      const phase = str(status.phase)
      return {
        fields: {
          Capacity: spec.capacity, VolumeMode: str(spec.volumeMode), StorageClassName: str(spec.storageClassName),
          Status: phase, AccessModes: spec.accessModes, ClaimRef: str(obj(spec.claimRef).name)
        },
        state: state(phase !== 'Failed')
      }
    }
    case 'persistentvolumeclaim': {
      const phase = str(status.phase)
      return {
        fields: {
          AccessModes: spec.accessModes, VolumeName: str(spec.volumeName), StorageClassName: str(spec.storageClassName),
          VolumeMode: str(spec.volumeMode), Status: phase
        },
        state: state(phase === 'Bound')
      }
    }
    case 'deployment':
      return {
        fields: {
          DesiredReplicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
          Replicas: status.replicas ?? 0,
          ReadyReplicas: status.readyReplicas ?? 0,
          AvailableReplicas: status.availableReplicas ?? 0,
          UnavailableReplicas: status.unavailableReplicas ?? 0
        }
      }
    default:
      return { fields: {} }
  }
}

/**
 * The graph node of a Kubernetes object (Skydive's `k8s.NewMetadata`): ID = object UID,
 * `{Manager:'k8s', Type, Name, K8s:{Name, Namespace, Labels, …kind fields, Extra:<object>}}`,
 * plus `State` UP/DOWN for pods, persistent volumes and claims.
 */
export function objectNode (kind: string, o: K8sObject, clusterName: string): { id: string, metadata: Metadata } {
  const m = meta(o)
  const { fields, state } = kindFields(kind, o)
  const k8s = compact({ Name: m.name, Namespace: m.namespace, Labels: m.labels, ...fields, Extra: o })
  const metadata: Metadata = { Manager: k8sManager, Type: kind, Name: m.name, K8s: k8s }
  if (state !== undefined) metadata.State = state
  if (clusterName !== '') metadata.ClusterName = clusterName
  return { id: m.uid, metadata }
}

/** One node per container of a pod, ID = GenID(podUID, containerName) as Skydive's container subprobe. */
export function containerNodes (pod: K8sObject, clusterName: string): Array<{ id: string, metadata: Metadata }> {
  const m = meta(pod)
  const spec = obj(pod.spec)
  const statuses = list(obj(pod.status).containerStatuses).map(obj)
  return list(spec.containers).map(obj).map((c) => {
    const name = str(c.name) ?? ''
    const status = statuses.find((s) => s.name === name)
    const [runtime, containerId] = (str(status?.containerID) ?? '').split('://', 2)
    const k8s = compact({
      Name: name,
      Namespace: m.namespace,
      Labels: m.labels,
      Pod: m.name,
      Image: str(c.image),
      Runtime: containerId === undefined ? undefined : runtime,
      ContainerID: containerId,
      Extra: c
    })
    const metadata: Metadata = { Manager: k8sManager, Type: 'container', Name: name, K8s: k8s }
    if (clusterName !== '') metadata.ClusterName = clusterName
    return { id: genID(m.uid, name), metadata }
  })
}

/** `matchLabels` and `matchExpressions` of a LabelSelector (empty selector matches everything). */
export function matchLabelSelector (selector: unknown, labels: Record<string, string>): boolean {
  const s = obj(selector)
  for (const [k, v] of Object.entries(obj(s.matchLabels))) if (labels[k] !== v) return false
  for (const e of list(s.matchExpressions).map(obj)) {
    const key = str(e.key) ?? ''
    const values = list(e.values).filter((v): v is string => typeof v === 'string')
    const has = Object.hasOwn(labels, key)
    switch (e.operator) {
      case 'In': if (!has || !values.includes(labels[key] as string)) return false; break
      case 'NotIn': if (has && values.includes(labels[key] as string)) return false; break
      case 'Exists': if (!has) return false; break
      case 'DoesNotExist': if (has) return false; break
      default: return false
    }
  }
  return true
}

/** A Service's plain `selector` map; an empty or missing selector selects no pod (Skydive's matchMapSelector). */
export function matchMapSelector (selector: unknown, labels: Record<string, string>): boolean {
  const entries = Object.entries(obj(selector))
  if (entries.length === 0) return false
  return entries.every(([k, v]) => labels[k] === v)
}
