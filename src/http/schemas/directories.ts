import { Type, type Static } from 'typebox';
import {
  CreateDirectoryBody,
  ListDirectoryUsersQuery,
  OrganizationIdQuery,
  RotateTokenBody,
  UpdateDirectoryBody,
} from '../../domain/scim/directory-inputs.ts';
import { DirectoryGroupSchema, DirectoryRequestSchema, DirectorySchema, DirectoryUserSchema } from '../../domain/scim/views.ts';
import { PageOf, PageQuery } from './common.ts';

export { CreateDirectoryBody, ListDirectoryUsersQuery, RotateTokenBody, UpdateDirectoryBody };
export {
  DirectoryGroupSchema as DirectoryGroup,
  DirectoryRequestSchema as DirectoryRequest,
  DirectorySchema as Directory,
  DirectoryUserSchema as DirectoryUser,
};

export const DirectoryWithCounts = Type.Object({
  ...DirectorySchema.properties,
  users: Type.Integer({ description: 'Users the IdP has provisioned' }),
  groups: Type.Integer({ description: 'Groups the IdP has provisioned' }),
});

export const ListDirectoriesQuery = Type.Object({ ...PageQuery, organizationId: OrganizationIdQuery }, { additionalProperties: false });
export type ListDirectoriesQuery = Static<typeof ListDirectoriesQuery>;

export const PageOnlyQuery = Type.Object(PageQuery, { additionalProperties: false });

export const DirectoryGroupWithMembers = Type.Object({
  ...DirectoryGroupSchema.properties,
  memberCount: Type.Integer(),
  members: PageOf(DirectoryUserSchema),
});
