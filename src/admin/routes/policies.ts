// /api/policies and /api/operator-policies, as RabbitMQ 3.10's management API has them: lists
// for any management user (the vhosts they may see), one policy for policymakers with access to
// its vhost (operator policies: administrators), PUT with {"pattern", "definition",
// "priority"?, "apply-to"?} (201 new, 204 replaced) and DELETE (204; 404 when there is none).
// A policy applies to existing and new queues and exchanges at once. Refusals carry
// RabbitMQ's texts; for policies RabbitMQ escapes '<' and '>' in them as HTML, for operator
// policies it does not, and neither does warren.

import type { FastifyInstance } from 'fastify';
import { parsePolicy, PolicyError } from '../../routing/policy-validation.js';
import type { PolicyKind, PolicyRecord } from '../../store/store.js';
import { userOf, visibleVhosts, type AdminContext } from '../context.js';
import type { Json } from '../format.js';
import { badRequest, HttpError, notFound } from '../http-error.js';
import { access } from '../route-access.js';

/** A policy as RabbitMQ's API shows it (its key order). */
export function policyJson(r: PolicyRecord): Json {
  return { vhost: r.vhost, name: r.name, pattern: r.pattern, 'apply-to': r.applyTo, definition: { ...r.definition }, priority: r.priority };
}

const escapeHtml = (s: string): string => s.replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The 400 for a refused policy, worded as RabbitMQ words it for this kind. */
export function policyRefused(kind: PolicyKind, e: PolicyError): HttpError {
  if (e.missing !== null) return badRequest(e.message);
  const text = `Validation failed\n\n${e.problems.join('\n')}\n`;
  return badRequest(kind === 'policy' ? escapeHtml(text) : text);
}

export function registerPolicyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { broker } = ctx;
  for (const [kind, base, writer] of [
    ['policy', '/api/policies', 'policymaker'],
    ['operator', '/api/operator-policies', 'administrator'],
  ] as const) {
    app.get(base, access('management'), (req) =>
      broker.policies.list(kind, visibleVhosts(ctx, userOf(req)).map((v) => v.name).sort()).map(policyJson),
    );

    app.get<{ Params: { vhost: string } }>(`${base}/:vhost`, access('vhost'), (req) => {
      if (!broker.vhosts.has(req.params.vhost)) throw notFound();
      return broker.policies.list(kind, [req.params.vhost]).map(policyJson);
    });

    app.get<{ Params: { vhost: string; name: string } }>(`${base}/:vhost/:name`, access(writer), (req) => {
      const r = broker.policies.get(kind, req.params.vhost, req.params.name);
      if (r === undefined) throw notFound();
      return policyJson(r);
    });

    app.put<{ Params: { vhost: string; name: string } }>(`${base}/:vhost/:name`, access(writer), (req, reply) => {
      const { vhost, name } = req.params;
      if (!broker.vhosts.has(vhost)) throw new HttpError(404, 'not_found', 'vhost_not_found');
      let r: PolicyRecord;
      let isNew: boolean;
      try {
        r = parsePolicy(kind, vhost, name, req.body);
        isNew = broker.policies.put(r);
      } catch (e) {
        if (e instanceof PolicyError) throw policyRefused(kind, e);
        throw e;
      }
      ctx.log.info({ vhost, policy: name, kind, pattern: r.pattern, applyTo: r.applyTo, priority: r.priority, definition: r.definition, by: userOf(req).name }, `${kind === 'policy' ? 'policy' : 'operator policy'} set`);
      return reply.code(isNew ? 201 : 204).send();
    });

    app.delete<{ Params: { vhost: string; name: string } }>(`${base}/:vhost/:name`, access(writer), (req, reply) => {
      const { vhost, name } = req.params;
      if (!broker.policies.delete(kind, vhost, name)) throw notFound();
      ctx.log.info({ vhost, policy: name, kind, by: userOf(req).name }, `${kind === 'policy' ? 'policy' : 'operator policy'} cleared`);
      return reply.code(204).send();
    });
  }
}
