import type { FastifyInstance, RouteOptions } from 'fastify'

declare module 'fastify' {
  interface FastifySchema {
    /** one line for the OpenAPI document */
    summary?: string
    tags?: readonly string[]
  }
}

interface CollectedRoute { method: string, url: string, schema: Record<string, unknown> }

/**
 * Builds `/api/openapi.json` from the routes' own schemas (params, querystring, body, summary,
 * tags), collected as they are registered, so the document cannot drift from the code.
 */
export function collectRoutes (app: FastifyInstance): CollectedRoute[] {
  const routes: CollectedRoute[] = []
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (method === 'HEAD' || route.url.includes('*')) continue
      routes.push({ method: method.toLowerCase(), url: route.url, schema: (route.schema ?? {}) as Record<string, unknown> })
    }
  })
  return routes
}

function parameters (schema: Record<string, unknown>): unknown[] {
  const out: unknown[] = []
  for (const [where, key] of [['path', 'params'], ['query', 'querystring']] as const) {
    const s = schema[key] as { properties?: Record<string, unknown>, required?: string[] } | undefined
    for (const [name, prop] of Object.entries(s?.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (s?.required ?? []).includes(name), schema: prop })
    }
  }
  return out
}

const statusText: Record<string, string> = {
  200: 'OK', 201: 'Created', 204: 'No content (empty query)', 304: 'Not modified', 400: 'Bad request (plain-text reason)',
  401: 'Wrong or missing credentials', 404: 'Not found', 409: 'Duplicated resource'
}

function responses (method: string, url: string): Record<string, { description: string }> {
  const codes = ['200', '400']
  if (url.startsWith('/api') && url !== '/api/openapi.json') codes.push('401')
  if (method === 'post' && /^\/api\/(capture|alert|noderule|edgerule|node|edge)$/.test(url)) codes.splice(0, 1, '201', '409')
  if (url.includes(':')) codes.push('404')
  if (method === 'patch') codes.push('304')
  if (url === '/api/topology' && method === 'post') codes.push('204')
  return Object.fromEntries(codes.map((c) => [c, { description: statusText[c] ?? c }]))
}

export function openApiDocument (routes: CollectedRoute[], info: { version: string, authEnabled: boolean }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    const op: Record<string, unknown> = {
      summary: r.schema.summary ?? `${r.method.toUpperCase()} ${path}`,
      tags: r.schema.tags ?? [],
      parameters: parameters(r.schema),
      responses: responses(r.method, r.url)
    }
    if (r.schema.body !== undefined) {
      const form = r.url === '/login' ? { 'application/x-www-form-urlencoded': { schema: r.schema.body } } : {}
      op.requestBody = { required: r.method !== 'post' || r.url !== '/api/topology', content: { 'application/json': { schema: r.schema.body }, ...form } }
    }
    if (info.authEnabled && (r.url.startsWith('/api') || r.url.startsWith('/ws'))) op.security = [{ cookie: [] }, { basic: [] }, { token: [] }]
    ;(paths[path] ??= {})[r.method] = op
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Topoflow API',
      version: info.version,
      description: 'Skydive-compatible REST API (topology and Gremlin, captures, alerts, rules, nodes, edges, status) plus the flow matrix and operations endpoints.'
    },
    paths,
    components: {
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'authtoken' },
        basic: { type: 'http', scheme: 'basic' },
        token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' }
      }
    }
  }
}
