package dev.ckpt;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a committed image. The manifest was verified when the reader was opened; every chunk
 * is verified against its SHA-256 as it is read, and no byte of a failing chunk reaches a sink.
 */
public interface ImageReader extends AutoCloseable {

  /**
   * The checkpoint this image is.
   *
   * @return what the manifest records of it
   */
  CheckpointInfo info();

  /**
   * The image's parts.
   *
   * @return every part, in the order written
   */
  List<PartInfo> parts();

  /**
   * The part called {@code name}.
   *
   * @param name the part's name
   * @return the part, or empty if the image has none of that name
   */
  default Optional<PartInfo> part(String name) {
    return parts().stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /**
   * The image-level attributes its writer set ({@link ImageWriter#attribute}).
   *
   * @return the attributes
   */
  Map<String, String> attributes();

  /**
   * Streams a part into {@code sink}, fetching and verifying chunks in parallel with bounded
   * memory.
   *
   * @param part the part's name
   * @param sink where the bytes go
   * @throws CheckpointNotFoundException if the image has no such part
   * @throws CorruptImageException if any chunk fails verification
   */
  void read(String part, PartSink sink) throws CheckpointException;

  /**
   * Streams several parts, each into its own sink, as {@link #read} does one; their chunks are
   * fetched as one plan, so many small parts cost few store requests. Sinks are called from
   * several threads and in no particular order, but never twice for the same bytes.
   *
   * @param parts a sink for each part, by part name
   * @throws CheckpointNotFoundException if the image lacks any of the parts (before any is read)
   * @throws CorruptImageException if any chunk fails verification
   */
  default void readAll(Map<String, ? extends PartSink> parts) throws CheckpointException {
    for (Map.Entry<String, ? extends PartSink> e : parts.entrySet()) {
      read(e.getKey(), e.getValue());
    }
  }

  /**
   * Reads a part of at most 2 GiB into a new array.
   *
   * @param part the part's name
   * @return the part's bytes
   * @throws CheckpointNotFoundException if the image has no such part
   * @throws CheckpointException if the part is too large, a chunk fails verification or the store
   *     cannot be read
   */
  byte[] readBytes(String part) throws CheckpointException;

  @Override
  void close();
}
