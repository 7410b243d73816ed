package dev.ckpt.internal.image;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointNotFoundException;
import dev.ckpt.ImageReader;
import dev.ckpt.PartInfo;
import dev.ckpt.PartSink;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads parts of one verified manifest through {@link ChunkFetcher}. */
final class ImageReaderImpl implements ImageReader {
  private final ChunkFetcher fetcher;
  private final Manifest manifest;
  private final CheckpointInfo info;
  private final List<PartInfo> parts;

  ImageReaderImpl(ChunkFetcher fetcher, Manifest manifest, CheckpointInfo info) {
    this.fetcher = fetcher;
    this.manifest = manifest;
    this.info = info;
    List<PartInfo> ps = new ArrayList<>();
    for (Manifest.Part p : manifest.parts()) {
      ps.add(new PartInfo(p.name(), p.size(), p.attributes()));
    }
    this.parts = List.copyOf(ps);
  }

  @Override
  public CheckpointInfo info() {
    return info;
  }

  @Override
  public List<PartInfo> parts() {
    return parts;
  }

  @Override
  public Map<String, String> attributes() {
    return info.attributes(); // the key id from the authenticated header, never from an attribute
  }

  private Manifest.Part find(String name) throws CheckpointNotFoundException {
    for (Manifest.Part p : manifest.parts()) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    throw new CheckpointNotFoundException("checkpoint " + info.ref() + " has no part '" + name + "'");
  }

  @Override
  public void read(String name, PartSink sink) throws CheckpointException {
    fetcher.readPart(manifest, find(name), sink);
  }

  @Override
  public void readAll(Map<String, ? extends PartSink> parts) throws CheckpointException {
    Map<String, Manifest.Part> byName = new java.util.HashMap<>();
    for (Manifest.Part p : manifest.parts()) {
      byName.put(p.name(), p);
    }
    List<Manifest.Part> found = new ArrayList<>(parts.size());
    List<PartSink> sinks = new ArrayList<>(parts.size());
    for (Map.Entry<String, ? extends PartSink> e : parts.entrySet()) {
      Manifest.Part p = byName.get(e.getKey());
      found.add(p != null ? p : find(e.getKey()));
      sinks.add(e.getValue());
    }
    fetcher.readParts(manifest, found, sinks);
  }

  @Override
  public byte[] readBytes(String name) throws CheckpointException {
    Manifest.Part p = find(name);
    if (p.size() > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException("part " + name + " of " + info.ref() + " has " + p.size() + " bytes, too many for an array; use read()");
    }
    byte[] out = new byte[(int) p.size()];
    fetcher.readPart(manifest, p, new PartSink() {
      @Override
      public void write(long position, ByteBuffer data) {
        data.get(out, (int) position, data.remaining());
      }

      @Override
      public void zero(long position, long length) {
        // A fresh array is already zero.
      }
    });
    return out;
  }

  @Override
  public void close() {
    // Nothing held open between reads.
  }
}
