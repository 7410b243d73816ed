package dev.ckpt;

/**
 * Hears how many bytes the engine has moved: bytes written into images (zero runs excluded) and
 * bytes restored into sinks. Called often, from several threads, with increments; keep it cheap.
 */
@FunctionalInterface
public interface ProgressListener {
  /**
   * Called after more bytes were moved.
   *
   * @param n how many more bytes were moved: an increment, not a running total
   */
  void bytes(long n);

  /** A listener that ignores progress. */
  ProgressListener NONE = n -> { };
}
