/**
 * The time messaging services read (sent at, recall window, vote closing): injectable so a test can
 * stand at 23 h 59 m or 24 h 1 m after a send without waiting.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
