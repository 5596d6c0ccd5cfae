import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DirectoryService } from '../../domain/scim/directories.ts';
import type { DirectoryReads } from '../../domain/scim/directory-reads.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, IdParams, PageOf } from '../schemas/common.ts';
import {
  CreateDirectoryBody,
  Directory,
  DirectoryGroup,
  DirectoryGroupWithMembers,
  DirectoryRequest,
  DirectoryUser,
  DirectoryWithCounts,
  ListDirectoriesQuery,
  ListDirectoryUsersQuery,
  PageOnlyQuery,
  RotateTokenBody,
  UpdateDirectoryBody,
} from '../schemas/directories.ts';

const tags = ['directories'];
const Params = IdParams('dir');

/**
 * `/v1/directories`: each organization's SCIM directories, what their IdP provisioned, and the
 * SCIM request trace; `/v1/directory-users/{id}`, `/v1/directory-groups/{id}`.
 */
export function directoryRoutes(directories: DirectoryService, reads: DirectoryReads): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/directories',
      {
        config: { secretInResponse: true },
        schema: {
          tags,
          operationId: 'createDirectory',
          summary: 'Create a SCIM directory for an organization; the answer holds its token, once',
          body: CreateDirectoryBody,
          response: { 201: Directory, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await directories.create(actorOf(request), request.body)),
    );
    app.get(
      '/directories',
      {
        schema: {
          tags,
          operationId: 'listDirectories',
          summary: 'List directories, oldest first',
          querystring: ListDirectoriesQuery,
          response: { 200: PageOf(Directory), ...errorResponses },
        },
      },
      async (request) => directories.list(actorOf(request), request.query),
    );
    app.get(
      '/directories/:id',
      {
        schema: {
          tags,
          operationId: 'getDirectory',
          summary: 'Read a directory, with how many users and groups it holds',
          params: Params,
          response: { 200: DirectoryWithCounts, ...errorResponses },
        },
      },
      async (request) => directories.get(actorOf(request), request.params.id),
    );
    app.patch(
      '/directories/:id',
      {
        schema: {
          tags,
          operationId: 'updateDirectory',
          summary: 'Change a directory’s name, provider, token lifetime or options',
          params: Params,
          body: UpdateDirectoryBody,
          response: { 200: Directory, ...errorResponses },
        },
      },
      async (request) => directories.update(actorOf(request), request.params.id, request.body),
    );
    app.delete(
      '/directories/:id',
      {
        schema: {
          tags,
          operationId: 'deleteDirectory',
          summary: 'Delete a directory with all its users and groups',
          params: Params,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await directories.delete(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
    app.post(
      '/directories/:id/rotate-token',
      {
        config: { secretInResponse: true },
        schema: {
          tags,
          operationId: 'rotateDirectoryToken',
          summary: 'Issue a new SCIM token; the old one works for the grace period',
          params: Params,
          body: Type.Union([RotateTokenBody, Type.Null()]),
          response: { 200: Directory, ...errorResponses },
        },
      },
      async (request) => directories.rotateToken(actorOf(request), request.params.id, request.body ?? {}),
    );
    app.get(
      '/directories/:id/users',
      {
        schema: {
          tags,
          operationId: 'listDirectoryUsers',
          summary: 'The users the IdP provisioned, filtered by state, email or group',
          params: Params,
          querystring: ListDirectoryUsersQuery,
          response: { 200: PageOf(DirectoryUser), ...errorResponses },
        },
      },
      async (request) => reads.listUsers(actorOf(request), request.params.id, request.query),
    );
    app.get(
      '/directories/:id/groups',
      {
        schema: {
          tags,
          operationId: 'listDirectoryGroups',
          summary: 'The groups the IdP provisioned',
          params: Params,
          querystring: PageOnlyQuery,
          response: { 200: PageOf(DirectoryGroup), ...errorResponses },
        },
      },
      async (request) => reads.listGroups(actorOf(request), request.params.id, request.query),
    );
    app.get(
      '/directories/:id/requests',
      {
        schema: {
          tags,
          operationId: 'listDirectoryRequests',
          summary: 'The SCIM request trace, newest first',
          params: Params,
          querystring: PageOnlyQuery,
          response: { 200: PageOf(DirectoryRequest), ...errorResponses },
        },
      },
      async (request) => reads.listRequests(actorOf(request), request.params.id, request.query),
    );
    app.get(
      '/directory-users/:id',
      {
        schema: {
          tags,
          operationId: 'getDirectoryUser',
          summary: 'Read a directory user',
          params: IdParams('dusr'),
          response: { 200: DirectoryUser, ...errorResponses },
        },
      },
      async (request) => reads.getUser(actorOf(request), request.params.id),
    );
    app.get(
      '/directory-groups/:id',
      {
        schema: {
          tags,
          operationId: 'getDirectoryGroup',
          summary: 'Read a directory group with a page of its members',
          params: IdParams('dgrp'),
          querystring: PageOnlyQuery,
          response: { 200: DirectoryGroupWithMembers, ...errorResponses },
        },
      },
      async (request) => reads.getGroup(actorOf(request), request.params.id, request.query),
    );
  };
}
