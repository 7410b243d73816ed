package dev.ckpt;

/**
 * Hears how many bytes the engine has moved: bytes written into images (zero runs excluded) and
 * bytes restored into sinks. Called often, from several threads, with increments; keep it cheap.
 */
@FunctionalInterface
public interface ProgressListener {
  void bytes(long n);

  ProgressListener NONE = n -> { };
}
