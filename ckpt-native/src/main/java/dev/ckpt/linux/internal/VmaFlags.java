package dev.ckpt.linux.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The VmFlags of /proc/PID/smaps that restore must set again (madvise hints, MAP_NORESERVE, a
 * shared file mapping's right to become writable), kept in a mapping record's {@code prot} above
 * the PROT_* bits, and those no restore reproduces, which the census refuses.
 */
final class VmaFlags {
  /** smaps mnemonic to the madvise advice that sets it, one bit each from bit 8. */
  static final String[] ADVISED = {"dc", "wf", "dd", "sr", "rr", "hg", "nh", "mg"};
  static final int[] ADVICE = {10 /* MADV_DONTFORK */, 18 /* MADV_WIPEONFORK */, 16 /* MADV_DONTDUMP */,
      2 /* MADV_SEQUENTIAL */, 1 /* MADV_RANDOM */, 14 /* MADV_HUGEPAGE */, 15 /* MADV_NOHUGEPAGE */,
      12 /* MADV_MERGEABLE */};
  /** The bit of "hg" (MADV_HUGEPAGE) among them. */
  private static final int HUGEPAGE = 1 << (8 + java.util.Arrays.asList(ADVISED).indexOf("hg"));
  static final int NORESERVE = 1 << 20;
  static final int MAY_WRITE = 1 << 21;
  static final int MAP_NORESERVE = 0x4000;

  /** Flags no restore sets again, with what they mean. */
  static final Map<String, String> REFUSED = Map.of(
      "ht", "hugetlb pages", "dp", "MAP_DROPPABLE", "um", "a userfaultfd (missing-page mode)",
      "uw", "a userfaultfd (write-protect mode)", "ui", "a userfaultfd (minor-fault mode)", "sl", "mseal",
      "ss", "a shadow stack", "sf", "MAP_SYNC (DAX)", "io", "device I/O memory (VM_IO)", "pf", "raw page frames (VM_PFNMAP)");

  private VmaFlags() {}

  /** The bits to keep for one mapping, from its smaps mnemonics. */
  static int encode(Set<String> flags, boolean sharedFile) {
    int bits = 0;
    for (int i = 0; i < ADVISED.length; i++) {
      if (flags.contains(ADVISED[i])) {
        bits |= 1 << (8 + i);
      }
    }
    if (flags.contains("nr")) {
      bits |= NORESERVE;
    }
    if (sharedFile && flags.contains("mw")) {
      bits |= MAY_WRITE;
    }
    return bits;
  }

  /** Whether MADV_HUGEPAGE was advised for the mapping. */
  static boolean hugePages(int prot) {
    return (prot & HUGEPAGE) != 0;
  }

  /** The madvise advice values to apply to a restored mapping. */
  static List<Integer> advice(int prot) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < ADVISED.length; i++) {
      if ((prot & (1 << (8 + i))) != 0) {
        out.add(ADVICE[i]);
      }
    }
    return out;
  }

  /**
   * The flags an image depends on: the advice and mapping flags restore sets again and those the
   * census refuses, without the ones a fork clears in the child (mlock, userfaultfd).
   */
  static Set<String> relevant(Set<String> flags) {
    Set<String> out = new java.util.TreeSet<>();
    for (String f : flags) {
      if (RELEVANT.contains(f)) {
        out.add(f);
      }
    }
    return out;
  }

  private static final Set<String> RELEVANT = relevantSet();

  private static Set<String> relevantSet() {
    Set<String> s = new java.util.HashSet<>(List.of(ADVISED));
    s.add("nr");
    s.add("mw");
    s.addAll(REFUSED.keySet());
    s.removeAll(List.of("um", "uw", "ui"));
    return Set.copyOf(s);
  }

  /** What of {@code flags} no restore reproduces, or null. */
  static String refused(Set<String> flags) {
    for (Map.Entry<String, String> e : REFUSED.entrySet()) {
      if (flags.contains(e.getKey())) {
        return e.getValue() + " (smaps flag " + e.getKey() + ")";
      }
    }
    return null;
  }
}
