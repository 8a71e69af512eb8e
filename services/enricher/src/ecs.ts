import type { EndpointInfo, EnrichedFlow } from './types.ts'

/** `topoflow-flows-YYYY.MM.DD` for a time in ms (UTC), the index a flow's start falls in. */
export function dailyIndex (prefix: string, timeMs: number): string {
  const d = new Date(timeMs)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${prefix}-${d.getUTCFullYear()}.${pad(d.getUTCMonth() + 1)}.${pad(d.getUTCDate())}`
}

function endpointDoc (ip: string | undefined, port: number | undefined, mac: string | undefined, e: EndpointInfo): Record<string, unknown> {
  return {
    ip: ip === '' ? undefined : ip,
    port: port === 0 ? undefined : port,
    mac,
    host: { name: e.HostName ?? undefined, interface: e.Interface ?? undefined },
    process: e.Pid === null ? undefined : { pid: e.Pid, name: e.ProcessName ?? undefined, executable: e.Process ?? undefined },
    kubernetes: e.Pod === null
      ? undefined
      : {
          pod: { name: e.Pod },
          namespace: e.Namespace ?? undefined,
          node: { name: e.Node ?? undefined },
          container: { name: e.Container ?? undefined },
          service: { name: e.Service ?? undefined },
          workload: { name: e.Workload ?? undefined, kind: e.WorkloadKind ?? undefined },
          labels: e.Labels
        }
  }
}

/**
 * The OpenSearch document of a flow, ECS-style: `source` is end A, `destination` end B (A sent the
 * first packet). The Skydive-shaped flow rides along under `skydive` so the API can return it as is.
 */
export function flowDocument (flow: EnrichedFlow): Record<string, unknown> {
  const m = flow.Metric
  const server = flow.ServerEnd
  return {
    '@timestamp': flow.Last,
    event: { start: flow.Start, end: flow.Last },
    flow: {
      id: flow.UUID,
      tracking_id: flow.TrackingID,
      l3_tracking_id: flow.L3TrackingID,
      parent_id: flow.ParentUUID === '' ? undefined : flow.ParentUUID,
      layers_path: flow.LayersPath,
      application: flow.Application,
      node_tid: flow.NodeTID,
      capture_id: flow.CaptureID,
      finish_type: flow.FinishType ?? 0,
      sampling_rate: flow.SamplingRate ?? 1,
      server_end: server ?? undefined,
      host: flow.Host ?? undefined,
      metric: m == null
        ? undefined
        : { ab_packets: m.ABPackets, ab_bytes: m.ABBytes, ba_packets: m.BAPackets, ba_bytes: m.BABytes, rtt: m.RTT ?? undefined }
    },
    network: {
      transport: flow.Transport?.Protocol?.toLowerCase(),
      type: flow.Network?.Protocol?.toLowerCase(),
      community_id: flow.CommunityID ?? undefined,
      packets: m == null ? undefined : m.ABPackets + m.BAPackets,
      bytes: m == null ? undefined : m.ABBytes + m.BABytes
    },
    source: endpointDoc(flow.Network?.A, flow.Transport?.A, flow.Link?.A, flow.AEnrich),
    destination: endpointDoc(flow.Network?.B, flow.Transport?.B, flow.Link?.B, flow.BEnrich),
    skydive: flow
  }
}

/** One document per flow update window: bandwidth over time. `_id` = flow UUID + window start. */
export function flowMetricDocument (flow: EnrichedFlow): { id: string, doc: Record<string, unknown> } | null {
  const w = flow.LastUpdateMetric
  if (w == null) return null
  return {
    id: `${flow.UUID}-${w.Start}`,
    doc: {
      '@timestamp': w.Last,
      event: { start: w.Start, end: w.Last },
      flow: { id: flow.UUID, application: flow.Application, host: flow.Host ?? undefined },
      network: { transport: flow.Transport?.Protocol?.toLowerCase(), community_id: flow.CommunityID ?? undefined, packets: w.ABPackets + w.BAPackets, bytes: w.ABBytes + w.BABytes },
      metric: { ab_packets: w.ABPackets, ab_bytes: w.ABBytes, ba_packets: w.BAPackets, ba_bytes: w.BABytes },
      source: { ip: flow.Network?.A, port: flow.Transport?.A, process: { name: flow.AEnrich.ProcessName ?? undefined }, kubernetes: { pod: { name: flow.AEnrich.Pod ?? undefined }, namespace: flow.AEnrich.Namespace ?? undefined } },
      destination: { ip: flow.Network?.B, port: flow.Transport?.B, process: { name: flow.BEnrich.ProcessName ?? undefined }, kubernetes: { pod: { name: flow.BEnrich.Pod ?? undefined }, namespace: flow.BEnrich.Namespace ?? undefined } }
    }
  }
}
