import type { Priority } from './backend';
import type { MessageKey } from './i18n';

/** From none to urgent, as the priority menu lists them. */
export const PRIORITIES: readonly Priority[] = ['none', 'low', 'medium', 'high', 'urgent'];

export const PRIORITY_LABEL: Record<Priority, MessageKey> = {
  none: 'priority.none',
  low: 'priority.low',
  medium: 'priority.medium',
  high: 'priority.high',
  urgent: 'priority.urgent',
};
