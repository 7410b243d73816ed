package dev.ckpt;

import java.util.Map;

/**
 * Writes one checkpoint image as named parts. Chunks are stored while parts are written; the
 * checkpoint exists only once {@link #commit()} has written its manifest. Closing an uncommitted
 * writer aborts it: the store is left with no new checkpoint. Not thread-safe.
 */
public interface ImageWriter extends AutoCloseable {

  /**
   * Starts the next part. The previous part must be closed. Names are 1 to 255 characters of
   * {@code [A-Za-z0-9._:/-]} and unique within the image.
   *
   * @param name the part's name
   * @param attributes recorded with the part ({@link PartInfo#attributes()})
   * @return the part's output, which the caller closes before the next part
   * @throws CheckpointException if storing the image's chunks has failed
   */
  PartOutput part(String name, Map<String, String> attributes) throws CheckpointException;

  /**
   * The manifest is written only if the store's clock has not passed {@code deadline} by then;
   * otherwise commit throws {@link CheckpointTimeoutException} and nothing is committed.
   *
   * @param deadline the latest commit time, or null for none
   * @return this writer
   */
  ImageWriter deadline(java.time.Instant deadline);

  /**
   * Throws {@link CheckpointTimeoutException} if the store's clock has passed the
   * {@link #deadline(java.time.Instant) deadline}. Capture sources call it while their target is
   * held still (a native process frozen, application writers paused), so that a timeout bounds
   * the pause too, not only the commit.
   *
   * @throws CheckpointTimeoutException if the deadline has passed
   */
  default void checkDeadline() throws CheckpointTimeoutException {}

  /**
   * The job this image is written for.
   *
   * @return the job's name
   */
  String job();

  /**
   * The chunk size of this image: parts are cut into chunks at its multiples, and
   * {@link PartOutput#copyFromBase} references whole chunks where a range is on that grid.
   *
   * @return the chunk size in bytes
   */
  int chunkSize();

  /**
   * Makes committed checkpoint {@code id} of this job the base that
   * {@link PartOutput#copyFromBase} copies from: a capture source that knows which ranges of a
   * part are unchanged since that checkpoint (a native process's written pages, tracked by the
   * kernel) then stores and hashes only the rest. Returns false, and sets no base, if that
   * checkpoint cannot be read.
   *
   * @param id a committed checkpoint of this writer's job
   * @return whether the base was set; the default sets none
   */
  default boolean base(long id) {
    return false;
  }

  /**
   * As {@link #base(long)}, and only if checkpoint {@code of.id()} is still the checkpoint
   * {@code of} describes (committed at the same moment, on the same parent). A number whose
   * checkpoint was deleted, then taken by another writer, names another image, whose chunks must
   * not stand for what the caller found unchanged since its own checkpoint.
   *
   * @param of a checkpoint of this writer's job, as its commit returned it
   * @return whether the base was set; the default sets none
   */
  default boolean base(CheckpointInfo of) {
    return false;
  }

  /**
   * Sets an image-level attribute, recorded in the manifest.
   *
   * @param key the attribute's name
   * @param value its value, replacing any set before
   * @return this writer
   */
  ImageWriter attribute(String key, String value);

  /**
   * Waits for every chunk to be stored, then writes the manifest with create-once semantics. If
   * the store's answer to that write is lost (it throws, or says the manifest exists), the
   * manifest is read back: this writer's own bytes mean the checkpoint is committed, and commit
   * returns normally. Once the manifest has been sent, nothing this writer stored is deleted.
   *
   * @return the committed checkpoint
   * @throws CheckpointTimeoutException if the deadline passed before the manifest was written
   * @throws CommitConflictException if another writer committed the same checkpoint number first
   * @throws CommitUnknownException if the manifest write failed and reading it back failed too:
   *     the checkpoint may or may not exist
   */
  CheckpointInfo commit() throws CheckpointException;

  /** Aborts unless committed; deletes the chunks this writer stored, best effort. */
  @Override
  void close();
}
