export { tokenize, maxQueryLength } from './lexer.ts'
export type { Token, TokenKind } from './lexer.ts'
export { parseGremlin, metricsKeys } from './parser.ts'
export { stepNames, isPredicate, isLiteral } from './ast.ts'
export type { Query, Step, StepName, Param, Predicate, Literal, MatchValue, MetadataParam, KeywordParam } from './ast.ts'
export { runGremlin, evaluateGremlin, evaluateGremlinText } from './eval.ts'
export type { GremlinDeps, GremlinLimits } from './eval.ts'
export { syntaxError, evalError, positionOf } from './errors.ts'
export type { QueryPosition } from './errors.ts'
export {
  MemoryGraph, createSnapshot, defaultIndexedKeys, elementField, elementJson, elementJsonText, elementKeys, elementReader,
  historyNotSupported, isEdge
} from './graph.ts'
export type {
  GraphNode, GraphEdge, GraphElement, GraphSnapshot, GraphSource, Metadata, NodeInput, EdgeInput, MemoryGraphOptions
} from './graph.ts'
export { MemoryFlowSource, applyFlowQuery, flowField, flowReader, flowKeys } from './flows.ts'
export type {
  Flow, FlowFilter, FlowSource, FlowQueryContext, FlowLayer, TransportLayer, FlowMetric, MemoryFlowSourceOptions
} from './flows.ts'
export { evalFilter, keyValueToFilter, paramsToFilter } from './filter.ts'
export type { Filter } from './filter.ts'
export { getPath, notFound } from './fields.ts'
export { capturableTypes, defaultFlowExpireMs } from './eval-flows.ts'
export { resolveTimeSpec, parseGoDuration, parseRfc1123, timeWindow } from './time.ts'
export type { TimeContext, TimeSpec, TimePoint, TimeWindow } from './time.ts'
export { aggregateMetrics, sumMetrics, splitMetric, maxAggregateSlices } from './metrics.ts'
export type { Metric } from './metrics.ts'
