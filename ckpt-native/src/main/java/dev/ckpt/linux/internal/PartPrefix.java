package dev.ckpt.linux.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartInfo;
import dev.ckpt.PartOutput;
import dev.ckpt.PartSink;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The parts of one process of a tree inside the tree's image: every part name gets the
 * process's prefix ({@code task/<pid>/}). Image-level attributes and the commit stay with the
 * tree's own writer.
 */
final class PartPrefix {
  private PartPrefix() {}

  static ImageWriter writer(ImageWriter w, String prefix) {
    if (prefix.isEmpty()) {
      return w;
    }
    return new ImageWriter() {
      @Override
      public PartOutput part(String name, Map<String, String> attributes) throws CheckpointException {
        return w.part(prefix + name, attributes);
      }

      @Override
      public ImageWriter deadline(Instant deadline) {
        w.deadline(deadline);
        return this;
      }

      @Override
      public void checkDeadline() throws dev.ckpt.CheckpointTimeoutException {
        w.checkDeadline();
      }

      @Override
      public String job() {
        return w.job();
      }

      @Override
      public int chunkSize() {
        return w.chunkSize();
      }

      @Override
      public boolean base(long id) {
        return w.base(id);
      }

      @Override
      public boolean base(dev.ckpt.CheckpointInfo of) {
        return w.base(of);
      }

      @Override
      public ImageWriter attribute(String key, String value) {
        return this; // the tree's writer holds the image's attributes
      }

      @Override
      public CheckpointInfo commit() {
        throw new IllegalStateException("a process of a tree is committed with its tree");
      }

      @Override
      public void close() {
        // The tree's writer is closed by its owner.
      }
    };
  }

  static ImageReader reader(ImageReader r, String prefix) {
    if (prefix.isEmpty()) {
      return r;
    }
    return new ImageReader() {
      @Override
      public CheckpointInfo info() {
        return r.info();
      }

      @Override
      public List<PartInfo> parts() {
        return r.parts().stream().filter(p -> p.name().startsWith(prefix)).toList();
      }

      @Override
      public java.util.Optional<PartInfo> part(String name) {
        return r.part(prefix + name);
      }

      @Override
      public Map<String, String> attributes() {
        return r.attributes();
      }

      @Override
      public void read(String part, PartSink sink) throws CheckpointException {
        r.read(prefix + part, sink);
      }

      @Override
      public void readAll(Map<String, ? extends PartSink> parts) throws CheckpointException {
        Map<String, PartSink> named = new java.util.LinkedHashMap<>();
        parts.forEach((name, sink) -> named.put(prefix + name, sink));
        r.readAll(named);
      }

      @Override
      public byte[] readBytes(String part) throws CheckpointException {
        return r.readBytes(prefix + part);
      }

      @Override
      public void close() {
        // The tree's reader is closed by its owner.
      }
    };
  }
}
