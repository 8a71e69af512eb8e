// How each node Type looks: colour, a 16×16 glyph (drawn with strokes, our own shapes) and a
// legend label. Unknown types fall back to a neutral dot.

/** @typedef {{ color: string, glyph: string, label: string }} NodeStyle */

const glyphs = {
  host: 'M2.5 3h11v7.5h-11z M5.5 13.5h5 M8 10.5v3',
  netns: 'M8 1.8l5.4 3.1v6.2L8 14.2l-5.4-3.1V4.9z M2.6 4.9L8 8l5.4-3.1 M8 8v6.2',
  container: 'M2 4.5h12v8H2z M5 4.5v8 M8 4.5v8 M11 4.5v8',
  pod: 'M5 3.5a2.5 2.5 0 1 0 0.01 0 M11 3.5a2.5 2.5 0 1 0 0.01 0 M8 8.5a2.5 2.5 0 1 0 0.01 0',
  device: 'M2.5 4h11v8h-11z M5 12V9.5 M7 12V9.5 M9 12V9.5 M11 12V9.5',
  veth: 'M1.5 8h13 M4 5v6 M12 5v6',
  bridge: 'M2 4h12v4H2z M4 8v4 M8 8v4 M12 8v4',
  bond: 'M3 5h10 M3 8h10 M3 11h10 M3 3.5v9 M13 3.5v9',
  vlan: 'M3 4h10 M3 8h10 M3 12h10',
  tunnel: 'M2 8c2-4 10-4 12 0 M2 8c2 4 10 4 12 0 M5 8h6',
  loopback: 'M12.5 8a4.5 4.5 0 1 1-1.3-3.2 M11.5 2.5v2.6H8.9',
  switch: 'M2 5h12v6H2z M4.5 8h1 M7.5 8h1 M10.5 8h1',
  ovs: 'M8 2v12 M2 8h12 M4 4l8 8 M12 4l-8 8',
  service: 'M8 2l6 3.5v5L8 14l-6-3.5v-5z',
  k8s: 'M8 2l5.2 2.5 1.3 5.6-3.6 4.4H5.1L1.5 10.1l1.3-5.6z',
  dot: 'M8 5.5a2.5 2.5 0 1 0 0.01 0'
}

/** @type {Record<string, NodeStyle>} */
const byType = {
  host: { color: '#2563eb', glyph: glyphs.host, label: 'Host' },
  netns: { color: '#7c3aed', glyph: glyphs.netns, label: 'Network namespace' },
  device: { color: '#0891b2', glyph: glyphs.device, label: 'Interface' },
  veth: { color: '#059669', glyph: glyphs.veth, label: 'veth' },
  bridge: { color: '#d97706', glyph: glyphs.bridge, label: 'Bridge' },
  bond: { color: '#0e7490', glyph: glyphs.bond, label: 'Bond' },
  team: { color: '#0e7490', glyph: glyphs.bond, label: 'Team' },
  vlan: { color: '#0284c7', glyph: glyphs.vlan, label: 'VLAN' },
  macvlan: { color: '#0284c7', glyph: glyphs.vlan, label: 'macvlan' },
  ipvlan: { color: '#0284c7', glyph: glyphs.vlan, label: 'ipvlan' },
  vxlan: { color: '#0d9488', glyph: glyphs.tunnel, label: 'Tunnel' },
  geneve: { color: '#0d9488', glyph: glyphs.tunnel, label: 'Tunnel' },
  gre: { color: '#0d9488', glyph: glyphs.tunnel, label: 'Tunnel' },
  gretap: { color: '#0d9488', glyph: glyphs.tunnel, label: 'Tunnel' },
  ipip: { color: '#0d9488', glyph: glyphs.tunnel, label: 'Tunnel' },
  tun: { color: '#0d9488', glyph: glyphs.tunnel, label: 'Tunnel' },
  tuntap: { color: '#0d9488', glyph: glyphs.tunnel, label: 'Tunnel' },
  loopback: { color: '#64748b', glyph: glyphs.loopback, label: 'Loopback' },
  dummy: { color: '#64748b', glyph: glyphs.dot, label: 'Dummy' },
  container: { color: '#db2777', glyph: glyphs.container, label: 'Container' },
  pod: { color: '#4f46e5', glyph: glyphs.pod, label: 'Pod' },
  service: { color: '#4f46e5', glyph: glyphs.service, label: 'Service' },
  switch: { color: '#475569', glyph: glyphs.switch, label: 'Switch' },
  switchport: { color: '#475569', glyph: glyphs.device, label: 'Switch port' },
  device_fabric: { color: '#475569', glyph: glyphs.switch, label: 'Fabric device' },
  ovsbridge: { color: '#ea580c', glyph: glyphs.ovs, label: 'OVS bridge' },
  ovsport: { color: '#ea580c', glyph: glyphs.device, label: 'OVS port' },
  openvswitch: { color: '#ea580c', glyph: glyphs.ovs, label: 'Open vSwitch' },
  internal: { color: '#ea580c', glyph: glyphs.device, label: 'OVS internal' },
  patch: { color: '#ea580c', glyph: glyphs.veth, label: 'OVS patch' }
}

const kubernetesKinds = new Set(['cluster', 'namespace', 'node', 'deployment', 'replicaset', 'statefulset', 'daemonset',
  'job', 'cronjob', 'endpoints', 'ingress', 'networkpolicy', 'configmap', 'secret', 'persistentvolume',
  'persistentvolumeclaim', 'storageclass', 'replicationcontroller'])

const fallback = { color: '#64748b', glyph: glyphs.dot, label: 'Other' }

/**
 * The style of a node from its metadata (Type, and Manager/Probe/EncapType where they matter).
 * @param {Record<string, unknown>} metadata
 * @returns {NodeStyle}
 */
export function nodeStyle (metadata) {
  const type = typeof metadata.Type === 'string' ? metadata.Type : ''
  if (metadata.EncapType === 'loopback' || (type === 'device' && metadata.Name === 'lo')) return /** @type {NodeStyle} */ (byType.loopback)
  if (type === 'device' && metadata.Probe === 'fabric') return /** @type {NodeStyle} */ (byType.device_fabric)
  const known = byType[type]
  if (known !== undefined) return known
  if (metadata.Manager === 'k8s' || kubernetesKinds.has(type)) {
    return { color: '#4f46e5', glyph: glyphs.k8s, label: 'Kubernetes' }
  }
  return fallback
}

/** Legend entries: the styles of the types present, one line per label. @param {Iterable<Record<string, unknown>>} metadatas */
export function legendEntries (metadatas) {
  /** @type {Map<string, NodeStyle>} */
  const seen = new Map()
  for (const m of metadatas) {
    const style = nodeStyle(m)
    if (!seen.has(style.label)) seen.set(style.label, style)
  }
  return [...seen.values()]
}

/**
 * Edge class from its metadata: ownership, layer2, or "other" (k8s, mapping, probe-specific).
 * @param {Record<string, unknown>} metadata
 * @returns {'ownership' | 'layer2' | 'other'}
 */
export function edgeKind (metadata) {
  const rel = metadata.RelationType
  if (rel === 'ownership') return 'ownership'
  if (rel === 'layer2') return 'layer2'
  return 'other'
}
