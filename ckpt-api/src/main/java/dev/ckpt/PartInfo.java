package dev.ckpt;

import java.util.Map;

/**
 * One named part of an image: its size and the attributes its writer attached.
 *
 * @param name the part's name
 * @param size the part's length in bytes
 * @param attributes the attributes its writer attached
 */
public record PartInfo(String name, long size, Map<String, String> attributes) {
  /**
   * Copies {@code attributes}, which the record then owns.
   *
   * @param name the part's name
   * @param size the part's length in bytes
   * @param attributes the attributes its writer attached
   */
  public PartInfo {
    attributes = Map.copyOf(attributes);
  }
}
