export { errorCodes, TopoflowError, toTopoflowError } from './errors.ts'
export type { ErrorCode, ErrorContext } from './errors.ts'
export { createLogger, silentLogger } from './log.ts'
export type { Logger } from './log.ts'
