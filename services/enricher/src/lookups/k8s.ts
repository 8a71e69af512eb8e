import type { K8sEvent } from '../types.ts'

export interface PodInfo {
  name: string
  namespace: string
  node: string | null
  labels: Record<string, string>
  containers: string[]
  workload: string | null
  workloadKind: string | null
  services: string[]
}

interface OwnerRef { kind?: string, name?: string, uid?: string, controller?: boolean }
interface K8sObject {
  metadata?: { name?: string, namespace?: string, uid?: string, labels?: Record<string, string>, ownerReferences?: OwnerRef[] }
  spec?: Record<string, unknown>
  status?: Record<string, unknown>
  subsets?: Array<{ addresses?: Array<{ ip?: string, targetRef?: { kind?: string, name?: string, namespace?: string } }> }>
  endpoints?: Array<{ addresses?: string[], targetRef?: { kind?: string, name?: string, namespace?: string } }>
}

/**
 * Pod IP → pod, its workload (through ownerReferences, ReplicaSet → Deployment, Job → CronJob) and the
 * services that select it (through Endpoints and EndpointSlices). Fed by `topoflow.k8s.v1`.
 */
export class K8sIndex {
  /** kind/namespace/name → object */
  readonly #objects = new Map<string, K8sObject>()
  #byIp = new Map<string, PodInfo>()
  #dirty = false

  apply (event: K8sEvent): void {
    const kind = event.ObjectKind.toLowerCase()
    if (!['pod', 'replicaset', 'job', 'endpoints', 'endpointslice', 'service'].includes(kind)) return
    const key = `${kind}/${event.Namespace ?? ''}/${event.Name}`
    if (event.Kind === 'Deleted') this.#objects.delete(key)
    else this.#objects.set(key, event.Object as K8sObject)
    this.#dirty = true
  }

  lookup (ip: string): PodInfo | undefined {
    if (this.#dirty) this.#rebuild()
    return this.#byIp.get(ip)
  }

  #get (kind: string, namespace: string, name: string): K8sObject | undefined {
    return this.#objects.get(`${kind}/${namespace}/${name}`)
  }

  /** Follows controller ownerReferences up to the top workload: Pod → ReplicaSet → Deployment. */
  #workload (pod: K8sObject, namespace: string): { name: string, kind: string } | null {
    let owner = pod.metadata?.ownerReferences?.find((o) => o.controller === true) ?? pod.metadata?.ownerReferences?.[0]
    let top: { name: string, kind: string } | null = null
    for (let depth = 0; owner?.kind !== undefined && owner.name !== undefined && depth < 4; depth++) {
      top = { name: owner.name, kind: owner.kind }
      const parent = this.#get(owner.kind.toLowerCase(), namespace, owner.name)
      owner = parent?.metadata?.ownerReferences?.find((o) => o.controller === true)
    }
    return top
  }

  #rebuild (): void {
    const servicesByPod = new Map<string, Set<string>>()
    const addService = (namespace: string, pod: string | undefined, service: string): void => {
      if (pod === undefined) return
      const key = `${namespace}/${pod}`
      let set = servicesByPod.get(key)
      if (set === undefined) servicesByPod.set(key, set = new Set())
      set.add(service)
    }
    for (const [key, obj] of this.#objects) {
      const [kind, namespace = ''] = key.split('/')
      if (kind === 'endpoints') {
        const service = obj.metadata?.name ?? ''
        for (const subset of obj.subsets ?? []) {
          for (const a of subset.addresses ?? []) if (a.targetRef?.kind === 'Pod') addService(namespace, a.targetRef.name, service)
        }
      } else if (kind === 'endpointslice') {
        const service = obj.metadata?.labels?.['kubernetes.io/service-name']
        if (service === undefined) continue
        for (const e of obj.endpoints ?? []) if (e.targetRef?.kind === 'Pod') addService(namespace, e.targetRef.name, service)
      }
    }
    const byIp = new Map<string, PodInfo>()
    for (const [key, pod] of this.#objects) {
      if (!key.startsWith('pod/')) continue
      const namespace = pod.metadata?.namespace ?? key.split('/')[1] ?? ''
      const name = pod.metadata?.name ?? ''
      const status = pod.status ?? {}
      // Host-network pods share their node's IP: attributing that IP to one pod would be wrong.
      if (pod.spec?.hostNetwork === true) continue
      const ips = new Set<string>()
      if (typeof status.podIP === 'string') ips.add(status.podIP)
      for (const p of (status.podIPs as Array<{ ip?: string }> | undefined) ?? []) if (p.ip !== undefined) ips.add(p.ip)
      const workload = this.#workload(pod, namespace)
      const info: PodInfo = {
        name,
        namespace,
        node: typeof pod.spec?.nodeName === 'string' ? pod.spec.nodeName : null,
        labels: pod.metadata?.labels ?? {},
        containers: ((pod.spec?.containers as Array<{ name?: string }> | undefined) ?? []).map((c) => c.name ?? '').filter((c) => c !== ''),
        workload: workload?.name ?? null,
        workloadKind: workload?.kind ?? null,
        services: [...(servicesByPod.get(`${namespace}/${name}`) ?? [])].sort()
      }
      for (const ip of ips) byIp.set(ip, info)
    }
    this.#byIp = byIp
    this.#dirty = false
  }
}
