package dev.ckpt.internal.image;

import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * Where things live in a store (docs/FORMAT.md, "Store layout"). Every key the engine uses is
 * made here, and every key read back from a listing is parsed here, never trusted as a path.
 */
final class Layout {
  static final Pattern JOB = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  static final Pattern PART = Pattern.compile("[A-Za-z0-9._:/-]{1,255}");
  private static final Pattern MANIFEST_NAME = Pattern.compile("[0-9]{20}");
  private static final Pattern PACK_NAME = Pattern.compile("[0-9a-f]{32}");

  private Layout() {}

  static String checkJob(String job) {
    if (job == null || !JOB.matcher(job).matches()) {
      throw new IllegalArgumentException("job name '" + job + "' must be 1 to 128 characters of [A-Za-z0-9_.-], starting with a letter or digit");
    }
    return job;
  }

  static String manifestPrefix(String job) {
    return job + "/manifests/";
  }

  static String manifestKey(String job, long id) {
    return manifestPrefix(job) + String.format("%020d", id);
  }

  static String packPrefix(String job) {
    return job + "/packs/";
  }

  static String packKey(String job, String pack) {
    return packPrefix(job) + pack;
  }

  static String condemnedPrefix(String job) {
    return job + "/condemned/";
  }

  static String condemnedKey(String job, String pack) {
    return condemnedPrefix(job) + pack;
  }

  /** The pack name of a listed condemnation marker key, or null for anything else. */
  static String condemnedPack(String job, String key) {
    return packNameAfter(condemnedPrefix(job), key);
  }

  /** The checkpoint id a listed manifest key stands for, or empty for anything else. */
  static OptionalLong manifestId(String job, String key) {
    String prefix = manifestPrefix(job);
    if (!key.startsWith(prefix)) {
      return OptionalLong.empty();
    }
    String name = key.substring(prefix.length());
    if (!MANIFEST_NAME.matcher(name).matches()) {
      return OptionalLong.empty();
    }
    long id = Long.parseLong(name);
    return id > 0 ? OptionalLong.of(id) : OptionalLong.empty();
  }

  /** The pack name of a listed pack key, or null for anything else. */
  static String packName(String job, String key) {
    return packNameAfter(packPrefix(job), key);
  }

  private static String packNameAfter(String prefix, String key) {
    if (!key.startsWith(prefix)) {
      return null;
    }
    String name = key.substring(prefix.length());
    return PACK_NAME.matcher(name).matches() ? name : null;
  }

  /** The job of a listed manifest key ({@code job/manifests/NNN}), or null. */
  static String jobOfManifestKey(String key) {
    int slash = key.indexOf('/');
    if (slash <= 0) {
      return null;
    }
    String job = key.substring(0, slash);
    return JOB.matcher(job).matches() && manifestId(job, key).isPresent() ? job : null;
  }
}
