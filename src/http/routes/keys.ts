import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { KeyRollover } from '../../domain/keys/rollover.ts';
import { actorOf } from '../auth.ts';
import { errorResponses } from '../schemas/common.ts';
import { DeploymentKeyList, RotateKeysBody } from '../schemas/keys.ts';

const tags = ['keys'];

/** `/v1/keys`: Lanyard's own SAML SP and token signing keys, and their rotation (admin keys only). */
export function keyRoutes(rollover: KeyRollover): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/keys',
      {
        schema: {
          tags,
          operationId: 'listDeploymentKeys',
          summary: "List Lanyard's published keys (admin keys only)",
          response: { 200: DeploymentKeyList, ...errorResponses },
        },
      },
      async (request) => ({ data: await rollover.list(actorOf(request)) }),
    );
    app.post(
      '/keys/rotate',
      {
        schema: {
          tags,
          operationId: 'rotateDeploymentKeys',
          summary: "Start a rollover of Lanyard's keys (admin keys only)",
          description:
            'Publishes the next key of each purpose now (SP metadata and JWKS list it), which signs after LANYARD_KEY_ROLLOVER_SECONDS; ' +
            'the current key is retired as long again after that. 409 while a rotation still waits to sign.',
          body: RotateKeysBody,
          response: { 200: DeploymentKeyList, ...errorResponses },
        },
      },
      async (request) => ({ data: await rollover.rotate(actorOf(request), request.body.purposes) }),
    );
  };
}
