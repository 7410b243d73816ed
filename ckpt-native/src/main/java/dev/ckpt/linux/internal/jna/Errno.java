package dev.ckpt.linux.internal.jna;

/** errno numbers as the symbols people search for. */
public final class Errno {
  private static final String[] NAMES = new String[134];

  static {
    String[] pairs = {
      "1 EPERM", "2 ENOENT", "3 ESRCH", "4 EINTR", "5 EIO", "6 ENXIO", "7 E2BIG", "8 ENOEXEC", "9 EBADF",
      "10 ECHILD", "11 EAGAIN", "12 ENOMEM", "13 EACCES", "14 EFAULT", "16 EBUSY", "17 EEXIST", "19 ENODEV",
      "20 ENOTDIR", "21 EISDIR", "22 EINVAL", "23 ENFILE", "24 EMFILE", "25 ENOTTY", "26 ETXTBSY", "27 EFBIG",
      "28 ENOSPC", "29 ESPIPE", "30 EROFS", "32 EPIPE", "34 ERANGE", "36 ENAMETOOLONG", "38 ENOSYS",
      "95 EOPNOTSUPP", "110 ETIMEDOUT", "116 ESTALE"};
    for (String p : pairs) {
      int sp = p.indexOf(' ');
      NAMES[Integer.parseInt(p.substring(0, sp))] = p.substring(sp + 1);
    }
  }

  private Errno() {}

  public static String name(int errno) {
    if (errno > 0 && errno < NAMES.length && NAMES[errno] != null) {
      return NAMES[errno];
    }
    return "errno " + errno;
  }

  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int ESRCH = 3;
  public static final int EINTR = 4;
  public static final int EIO = 5;
  public static final int EBADF = 9;
  public static final int ECHILD = 10;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EINVAL = 22;
  public static final int ENOTTY = 25;
  public static final int ENOSYS = 38;
  public static final int ENOPROTOOPT = 92;
}
