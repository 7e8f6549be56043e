// The leader election's timings and client-go's rules for them (NewLeaderElector), apart so the flags can be
// checked without loading the API client.

/** client-go's JitterFactor: a candidate waits between one and 2.2 retry periods between tries. */
export const JITTER_FACTOR = 1.2;

export interface LeaderElectionTimings {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** client-go's NewLeaderElector checks, plus whole seconds: a Lease holds its duration in seconds. */
export function checkTimings(t: LeaderElectionTimings): string | undefined {
  if (t.leaseDurationMs < 1000 || t.leaseDurationMs % 1000 !== 0) return `the lease duration must be whole seconds, at least 1s (a Lease holds leaseDurationSeconds)`;
  if (t.leaseDurationMs <= t.renewDeadlineMs) return `the lease duration (${t.leaseDurationMs / 1000}s) must be longer than the renew deadline (${t.renewDeadlineMs / 1000}s)`;
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) return `the renew deadline (${t.renewDeadlineMs / 1000}s) must be longer than ${JITTER_FACTOR} times the retry period (${t.retryPeriodMs / 1000}s)`;
  return undefined;
}
