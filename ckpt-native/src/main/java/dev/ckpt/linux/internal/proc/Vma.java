package dev.ckpt.linux.internal.proc;

/**
 * One line of /proc/PID/maps.
 *
 * @param path the file, a special name such as {@code [heap]}, {@code [stack]} or
 *     {@code [vdso]}, or empty for anonymous memory
 * @param deleted whether the file was unlinked (maps says {@code (deleted)})
 */
public record Vma(long start, long end, boolean read, boolean write, boolean exec, boolean shared, long offset,
    String device, long inode, String path, boolean deleted) {

  public long length() {
    return end - start;
  }

  public int prot() {
    return (read ? 1 : 0) | (write ? 2 : 0) | (exec ? 4 : 0);
  }

  public boolean special() {
    return path.startsWith("[") && !path.equals("[heap]") && !path.startsWith("[stack") && !path.startsWith("[anon");
  }

  public boolean anonymous() {
    return inode == 0 && !special();
  }

  public boolean fileBacked() {
    return inode != 0;
  }

  public boolean memfd() {
    return path.startsWith("/memfd:");
  }

  /** MAP_SHARED|MAP_ANONYMOUS memory, which maps show as a deleted /dev/zero, or a memfd. */
  public boolean sharedAnonymous() {
    return shared && (memfd() || inode == 0 || (deleted && path.equals("/dev/zero")));
  }

  public String name() {
    return String.format("%x-%x", start, end);
  }
}
