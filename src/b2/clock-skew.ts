/** HTTP Date headers name whole seconds. */
const DATE_RESOLUTION_MS = 1000;

/**
 * The server's clock minus ours, from a Date header (`date`, ms) answered to a request sent
 * at `sentAt` and answered by `receivedAt` (our clock). The header allows any skew from
 * `date - receivedAt` up to (not including) `date + 1s - sentAt`. When none is among
 * them, the clocks agree: 0, so that ages of what the server just dated are exact (a
 * cleanup with --older-than 0s). Otherwise the least: never ahead of the server's clock,
 * which the margins of later look-ups ("stored since") rely on.
 */
export function clockSkewFromDate(date: number, sentAt: number, receivedAt: number): number {
  const least = date - receivedAt;
  const beyond = date + DATE_RESOLUTION_MS - sentAt;
  return least <= 0 && beyond > 0 ? 0 : least;
}
