// When the training worker autosaves, besides every evaluation: after
// `everySec` seconds of training (time paused does not count), and at once
// when the page asks (its tab was hidden: it may be closed next). A closed
// tab then loses at most `everySec` seconds of training.

export class Autosave {
  private trainedMs = 0;
  private requested = false;

  /** `everySec` 0: only at evaluations and on request. */
  constructor(private readonly everySec: number) {}

  /** Count one step's wall time. */
  trained(ms: number): void {
    this.trainedMs += ms;
  }

  /** The tab was hidden: save before the next step. */
  request(): void {
    this.requested = true;
  }

  get due(): boolean {
    return this.requested || (this.everySec > 0 && this.trainedMs >= this.everySec * 1000);
  }

  /** A checkpoint was just sent (autosave, evaluation or stop). */
  saved(): void {
    this.trainedMs = 0;
    this.requested = false;
  }
}
