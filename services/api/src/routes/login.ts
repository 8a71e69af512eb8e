import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.ts'
import { sendText } from '../http/errors.ts'

const allPermissions = ['alert', 'capture', 'config', 'edge', 'edgerule', 'node', 'noderule', 'status', 'topology']
  .flatMap((o) => ['read', 'write'].map((a) => ({ Object: o, Action: a, Allowed: true })))

/**
 * `POST /login` as Skydive answers it: form (or JSON) `username`/`password` → 200 `{Token, Permissions}`
 * with the `authtoken` and `permissions` cookies; 401 otherwise. `GET /login` redirects to `/`.
 */
export function loginRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: { username?: string, password?: string } | undefined }>('/login', {
    schema: {
      summary: 'Log in; sets the authtoken cookie',
      tags: ['auth'],
      body: { type: 'object', properties: { username: { type: 'string', maxLength: 256 }, password: { type: 'string', maxLength: 1024 } } }
    }
  }, async (req, reply) => {
    const origin = req.headers.origin
    if (typeof origin === 'string') {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true')
    }
    const { username, password } = req.body ?? {}
    if (username === undefined || password === undefined) return sendText(reply, 401, 'No credentials provided')
    const token = ctx.auth.login(username, password)
    if (token === null) {
      req.log.info({ username }, 'Login refused')
      return sendText(reply, 401, 'Wrong credentials')
    }
    const permissions = ctx.auth.enabled ? allPermissions : []
    if (ctx.auth.enabled) {
      reply.setCookie('authtoken', token, { path: '/', httpOnly: false, sameSite: 'lax' })
      reply.setCookie('permissions', Buffer.from(JSON.stringify(permissions)).toString('base64'), { path: '/', sameSite: 'lax' })
    }
    return reply.type('application/json; charset=UTF-8').send({ Token: token, Permissions: permissions })
  })

  app.get('/login', { schema: { summary: 'Redirects to the UI', tags: ['auth'] } }, async (_req, reply) => await reply.redirect('/', 302))
}
