export { runPcapCommand, flowsFromPcap, FlowTable, PacketDecoder, PcapStreamReader, communityId } from './flow/index.ts'
export type { PcapFlowOptions, FlowTableOptions } from './flow/index.ts'
