import { EVENT_CATALOGUE, type EventType } from '../events/catalogue.ts';

/**
 * True when `type` is an event type Lanyard records, so an endpoint may subscribe to it
 * (`eventTypes`): the event catalogue is the one list.
 */
export function isKnownEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_CATALOGUE, type);
}
