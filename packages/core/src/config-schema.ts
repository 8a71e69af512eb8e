/**
 * The schema of `topoflow.yml`. Section and key names follow Skydive's `skydive.yml` wherever Skydive has
 * the same setting, so a Skydive user's file mostly just works. Each default sits beside its field.
 */
const str = { type: 'string' } as const
const strList = { type: 'array', items: { type: 'string' } } as const
const int = (def: number, min = 0): { type: 'integer', minimum: number, default: number } => ({ type: 'integer', minimum: min, default: def })
const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ type: 'object', additionalProperties: false, default: {}, properties, ...extra })
/** Sections of skydive.yml that Topoflow reads but has no use for (etcd, OVS, DPDK...). */
const ignoredSection = { type: 'object', description: 'accepted for skydive.yml compatibility, ignored' } as const

export const configSchema = obj({
  host_id: { type: 'string', minLength: 1, description: 'this host\'s id (default: the hostname)' },
  logging: obj({ level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' } }),
  kafka: obj({
    brokers: { ...strList, default: [] },
    client_id: { type: 'string', default: 'topoflow' }
  }),
  opensearch: obj({
    url: { type: 'string', default: '' },
    /** index names start with it (`<prefix>-flows-YYYY.MM.DD`...): several deployments can share a cluster */
    index_prefix: { type: 'string', default: 'topoflow', pattern: '^[a-z0-9][a-z0-9._-]*$' },
    /** days kept of flows and flow metrics (the topology archive keeps archive_retention_days) */
    retention_days: int(7, 1),
    archive_retention_days: int(90, 1),
    replicas: int(1, 0),
    bulk_max_docs: int(1000, 1),
    bulk_flush_ms: int(1000, 1)
  }),
  analyzer: obj({
    listen: { type: 'string', default: '0.0.0.0:8082', pattern: '^.*:[0-9]{1,5}$' },
    /** HTTPS for the API and websockets when both files (PEM) are given */
    tls: obj({ cert_file: str, key_file: str }),
    auth: obj({
      api: obj({ backend: { type: 'string', default: 'noauth' } }),
      cluster: { type: 'object' }
    }),
    startup: obj({
      capture_gremlin: { type: 'string', default: '' },
      capture_bpf: { type: 'string', default: '' },
      capture_type: { type: 'string', default: '' }
    }),
    topology: obj({
      backend: str,
      probes: { ...strList, default: [] },
      fabric: { ...strList, default: [] },
      host_timeout: int(120, 1),
      k8s: obj({
        /** operations endpoints of the Kubernetes probe */
        listen: { type: 'string', default: '0.0.0.0:8085' },
        config_file: str,
        cluster_name: { type: 'string', default: '' },
        probes: strList
      })
    }),
    flow: obj({ backend: str, max_buffer_size: int(100000, 1) }),
    history: obj({ window: int(3600, 1), max_revisions: int(200000, 1), max_flows: int(200000, 1) })
  }),
  agent: obj({
    listen: { type: 'string', default: '0.0.0.0:8081' },
    topology: obj({
      probes: { ...strList, default: ['netns', 'netlink', 'socketinfo'] },
      netlink: obj({ metrics_update: int(30, 1) }),
      socketinfo: obj({
        /** seconds between two scans of the host's socket tables (processes of each connection) */
        host_update: int(10, 1),
        /**
         * seconds at least between two extra scans run when a capture sees a TCP connection open (SYN or
         * SYN-ACK), so that connections shorter than host_update get their process too; 0 turns them off
         */
        on_connect_min_interval: { type: 'number', minimum: 0, default: 0.5 }
      }),
      resync: int(30, 1)
    }),
    flow: obj({
      sflow: obj({ bind_address: { type: 'string', default: '0.0.0.0' }, port_min: int(6343, 1), port_max: int(6343, 1) }),
      pcapsocket: obj({ bind_address: { type: 'string', default: '127.0.0.1' }, min_port: int(8100, 1), max_port: int(8132, 1) }),
      netflow: ignoredSection,
      ebpf: ignoredSection
    }),
    capture: obj({
      stats_update: int(1, 1),
      /** node_pcap ('pcap') caught every packet where cap dropped some, and has kernel timestamps and drop counts */
      backend: { enum: ['cap', 'pcap'], default: 'pcap' },
      /**
       * ms libpcap may hold packets to hand them over in blocks (pcap backend); 0: each packet as it
       * comes (immediate mode). 10 ms cut the worker's CPU per packet ~5x (bench capture-rate).
       */
      buffer_timeout_ms: int(10, 0)
    }),
    metadata: { type: 'object', default: {} }
  }),
  flow: obj({
    expire: int(600, 1),
    update: int(60, 1),
    protocol: str,
    max_entries: int(500000, 1),
    default_layer_key_mode: { enum: ['L2', 'L3'], default: 'L2' },
    capture_length: int(256, 14),
    application_ports: { type: 'object' },
    application_timeout: { type: 'object' }
  }),
  enricher: obj({
    listen: { type: 'string', default: '0.0.0.0:8084' },
    join_wait: int(5, 0),
    max_pending: int(100000, 1)
  }),
  graph_builder: obj({ listen: { type: 'string', default: '0.0.0.0:8083' } }),
  auth: {
    type: 'object',
    default: {},
    additionalProperties: obj({
      type: { enum: ['noauth', 'basic'] },
      users: { type: 'object', additionalProperties: { type: 'string' } },
      file: str
    }, { required: ['type'] })
  },
  http: ignoredSection,
  tls: ignoredSection,
  analyzers: strList,
  etcd: ignoredSection,
  storage: ignoredSection,
  ovs: ignoredSection,
  dpdk: ignoredSection,
  /** Skydive's key: where named namespaces are bind-mounted; '' turns their discovery off (anonymous ones are still found through /proc). */
  netns: obj({ run_path: { type: 'string', default: '/var/run/netns' } }),
  opencontrail: ignoredSection,
  ui: ignoredSection,
  rbac: ignoredSection
})
