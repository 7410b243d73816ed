package dev.ckpt;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a committed image. The manifest was verified when the reader was opened; every chunk
 * is verified against its SHA-256 as it is read, and no byte of a failing chunk reaches a sink.
 */
public interface ImageReader extends AutoCloseable {

  CheckpointInfo info();

  List<PartInfo> parts();

  default Optional<PartInfo> part(String name) {
    return parts().stream().filter(p -> p.name().equals(name)).findFirst();
  }

  Map<String, String> attributes();

  /**
   * Streams a part into {@code sink}, fetching and verifying chunks in parallel with bounded
   * memory.
   *
   * @throws CheckpointNotFoundException if the image has no such part
   * @throws CorruptImageException if any chunk fails verification
   */
  void read(String part, PartSink sink) throws CheckpointException;

  /** Reads a part of at most 2 GiB into a new array. */
  byte[] readBytes(String part) throws CheckpointException;

  @Override
  void close();
}
