/**
 * Layer names as gopacket (the decoder library Skydive uses) names its layer types; Skydive's
 * `LayersPath` joins them with '/' and its `Application` is the last one. Decoders record small
 * integer ids per packet; names are only looked up when a flow is created.
 */
export const layerNames = [
  '', // 0 unused
  'Ethernet', 'Dot1Q', 'ARP', 'IPv4', 'IPv6', 'IPv6HopByHop', 'IPv6Routing', 'IPv6Fragment',
  'IPv6Destination', 'TCP', 'UDP', 'SCTP', 'ICMPv4', 'ICMPv6', 'ICMPv6Echo', 'GRE', 'VXLAN', 'Geneve',
  'MPLS', 'Fragment', 'IPSecAH', 'IPSecESP', 'IGMP', 'OSPF', 'VRRP', 'UDPLite', 'EtherIP', 'RUDP',
  'LLC', 'LinkLayerDiscovery', 'EAPOL', 'PPPoE', 'CiscoDiscovery', 'EthernetCTP',
  'DNS', 'NTP', 'DHCPv4', 'DHCPv6', 'SIP', 'SFlow', 'BFD', 'GTPv1U', 'TLS', 'ModbusTCP',
  'ICMPv6RouterSolicitation', 'ICMPv6RouterAdvertisement', 'ICMPv6NeighborSolicitation',
  'ICMPv6NeighborAdvertisement', 'ICMPv6Redirect', 'MLDv1MulticastListenerQuery',
  'MLDv2MulticastListenerQuery', 'MLDv1MulticastListenerDone', 'MLDv1MulticastListenerReport',
  'MLDv2MulticastListenerReport',
  'SCTPData', 'SCTPInit', 'SCTPInitAck', 'SCTPSack', 'SCTPHeartbeat', 'SCTPHeartbeatAck', 'SCTPAbort',
  'SCTPShutdown', 'SCTPShutdownAck', 'SCTPError', 'SCTPCookieEcho', 'SCTPCookieAck',
  'SCTPShutdownComplete', 'SCTPUnknownChunkType', 'PPP', 'NortelDiscovery', 'Loopback',
  'SNAP', 'STP', 'CiscoDiscoveryInfo', 'LinkLayerDiscoveryInfo', 'EAP'
] as const

export type LayerName = (typeof layerNames)[number]

function idOf (name: LayerName): number {
  return layerNames.indexOf(name)
}

export const L = {
  Ethernet: idOf('Ethernet'),
  Dot1Q: idOf('Dot1Q'),
  ARP: idOf('ARP'),
  IPv4: idOf('IPv4'),
  IPv6: idOf('IPv6'),
  IPv6HopByHop: idOf('IPv6HopByHop'),
  IPv6Routing: idOf('IPv6Routing'),
  IPv6Fragment: idOf('IPv6Fragment'),
  IPv6Destination: idOf('IPv6Destination'),
  TCP: idOf('TCP'),
  UDP: idOf('UDP'),
  SCTP: idOf('SCTP'),
  ICMPv4: idOf('ICMPv4'),
  ICMPv6: idOf('ICMPv6'),
  ICMPv6Echo: idOf('ICMPv6Echo'),
  GRE: idOf('GRE'),
  VXLAN: idOf('VXLAN'),
  Geneve: idOf('Geneve'),
  MPLS: idOf('MPLS'),
  Fragment: idOf('Fragment'),
  IPSecAH: idOf('IPSecAH'),
  IPSecESP: idOf('IPSecESP'),
  IGMP: idOf('IGMP'),
  OSPF: idOf('OSPF'),
  VRRP: idOf('VRRP'),
  UDPLite: idOf('UDPLite'),
  EtherIP: idOf('EtherIP'),
  RUDP: idOf('RUDP'),
  LLC: idOf('LLC'),
  LinkLayerDiscovery: idOf('LinkLayerDiscovery'),
  EAPOL: idOf('EAPOL'),
  PPPoE: idOf('PPPoE'),
  CiscoDiscovery: idOf('CiscoDiscovery'),
  EthernetCTP: idOf('EthernetCTP'),
  DNS: idOf('DNS'),
  NTP: idOf('NTP'),
  DHCPv4: idOf('DHCPv4'),
  DHCPv6: idOf('DHCPv6'),
  SIP: idOf('SIP'),
  SFlow: idOf('SFlow'),
  BFD: idOf('BFD'),
  GTPv1U: idOf('GTPv1U'),
  TLS: idOf('TLS'),
  ModbusTCP: idOf('ModbusTCP'),
  ICMPv6RouterSolicitation: idOf('ICMPv6RouterSolicitation'),
  ICMPv6RouterAdvertisement: idOf('ICMPv6RouterAdvertisement'),
  ICMPv6NeighborSolicitation: idOf('ICMPv6NeighborSolicitation'),
  ICMPv6NeighborAdvertisement: idOf('ICMPv6NeighborAdvertisement'),
  ICMPv6Redirect: idOf('ICMPv6Redirect'),
  MLDv1MulticastListenerQuery: idOf('MLDv1MulticastListenerQuery'),
  MLDv2MulticastListenerQuery: idOf('MLDv2MulticastListenerQuery'),
  MLDv1MulticastListenerDone: idOf('MLDv1MulticastListenerDone'),
  MLDv1MulticastListenerReport: idOf('MLDv1MulticastListenerReport'),
  MLDv2MulticastListenerReport: idOf('MLDv2MulticastListenerReport'),
  SCTPData: idOf('SCTPData'),
  SCTPInit: idOf('SCTPInit'),
  SCTPInitAck: idOf('SCTPInitAck'),
  SCTPSack: idOf('SCTPSack'),
  SCTPHeartbeat: idOf('SCTPHeartbeat'),
  SCTPHeartbeatAck: idOf('SCTPHeartbeatAck'),
  SCTPAbort: idOf('SCTPAbort'),
  SCTPShutdown: idOf('SCTPShutdown'),
  SCTPShutdownAck: idOf('SCTPShutdownAck'),
  SCTPError: idOf('SCTPError'),
  SCTPCookieEcho: idOf('SCTPCookieEcho'),
  SCTPCookieAck: idOf('SCTPCookieAck'),
  SCTPShutdownComplete: idOf('SCTPShutdownComplete'),
  SCTPUnknownChunkType: idOf('SCTPUnknownChunkType'),
  PPP: idOf('PPP'),
  NortelDiscovery: idOf('NortelDiscovery'),
  Loopback: idOf('Loopback'),
  SNAP: idOf('SNAP'),
  STP: idOf('STP'),
  CiscoDiscoveryInfo: idOf('CiscoDiscoveryInfo'),
  LinkLayerDiscoveryInfo: idOf('LinkLayerDiscoveryInfo'),
  EAP: idOf('EAP')
} as const

/** Skydive's LayersPath and Application of a list of layer ids. */
export function layersPath (ids: Uint8Array, count: number): { path: string, application: string } {
  let path = ''
  let app = ''
  for (let i = 0; i < count; i++) {
    app = layerNames[ids[i] as number] ?? ''
    path = i === 0 ? app : path + '/' + app
  }
  return { path, application: app }
}
