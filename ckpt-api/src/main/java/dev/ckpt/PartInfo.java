package dev.ckpt;

import java.util.Map;

/** One named part of an image: its size and the attributes its writer attached. */
public record PartInfo(String name, long size, Map<String, String> attributes) {
  public PartInfo {
    attributes = Map.copyOf(attributes);
  }
}
