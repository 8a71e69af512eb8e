/** Every Kubernetes kind the probe follows (Skydive's k8s probe list), with its API path. */
export interface KindSpec {
  /** Skydive's node Type for the kind */
  type: string
  kind: string
  path: string
}

export const kindSpecs: KindSpec[] = [
  { type: 'namespace', kind: 'Namespace', path: '/api/v1/namespaces' },
  { type: 'node', kind: 'Node', path: '/api/v1/nodes' },
  { type: 'pod', kind: 'Pod', path: '/api/v1/pods' },
  { type: 'service', kind: 'Service', path: '/api/v1/services' },
  { type: 'endpoints', kind: 'Endpoints', path: '/api/v1/endpoints' },
  { type: 'endpointslice', kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  { type: 'persistentvolume', kind: 'PersistentVolume', path: '/api/v1/persistentvolumes' },
  { type: 'persistentvolumeclaim', kind: 'PersistentVolumeClaim', path: '/api/v1/persistentvolumeclaims' },
  { type: 'replicationcontroller', kind: 'ReplicationController', path: '/api/v1/replicationcontrollers' },
  { type: 'configmap', kind: 'ConfigMap', path: '/api/v1/configmaps' },
  { type: 'secret', kind: 'Secret', path: '/api/v1/secrets' },
  { type: 'deployment', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { type: 'statefulset', kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets' },
  { type: 'daemonset', kind: 'DaemonSet', path: '/apis/apps/v1/daemonsets' },
  { type: 'replicaset', kind: 'ReplicaSet', path: '/apis/apps/v1/replicasets' },
  { type: 'job', kind: 'Job', path: '/apis/batch/v1/jobs' },
  { type: 'cronjob', kind: 'CronJob', path: '/apis/batch/v1/cronjobs' },
  { type: 'ingress', kind: 'Ingress', path: '/apis/networking.k8s.io/v1/ingresses' },
  { type: 'networkpolicy', kind: 'NetworkPolicy', path: '/apis/networking.k8s.io/v1/networkpolicies' },
  { type: 'storageclass', kind: 'StorageClass', path: '/apis/storage.k8s.io/v1/storageclasses' }
]

export interface K8sObject {
  apiVersion?: string
  kind?: string
  metadata?: { name?: string, namespace?: string, uid?: string, resourceVersion?: string, [k: string]: unknown }
  spec?: Record<string, unknown>
  status?: Record<string, unknown>
  [k: string]: unknown
}

/** A secret's values never leave the cluster: only its metadata and type are published. */
export function sanitize (kind: string, obj: K8sObject): K8sObject {
  if (kind !== 'Secret') return obj
  const { data, stringData, ...rest } = obj as K8sObject & { data?: unknown, stringData?: unknown }
  void data
  void stringData
  return { ...rest, kind: 'Secret' }
}
