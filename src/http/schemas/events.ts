import { Type, type Static } from 'typebox';
import { Nullable, PageQuery, Timestamp } from './common.ts';

export const Event = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    organizationId: Nullable(Type.String()),
    actor: Nullable(Type.String()),
    requestId: Nullable(Type.String()),
    summary: Type.Record(Type.String(), Type.Unknown()),
    createdAt: Timestamp,
  },
  { $id: 'Event' },
);
export const ListEventsQuery = Type.Object({
  ...PageQuery,
  organizationId: Type.Optional(Type.String({ maxLength: 100 })),
  type: Type.Optional(Type.String({ maxLength: 100 })),
  after: Type.Optional(Type.String({ maxLength: 100, description: 'Only events after this event id' })),
});

export type Event = Static<typeof Event>;
export type ListEventsQuery = Static<typeof ListEventsQuery>;
