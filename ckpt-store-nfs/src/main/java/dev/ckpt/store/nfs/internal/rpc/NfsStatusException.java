package dev.ckpt.store.nfs.internal.rpc;

/** An NFSv3 procedure answered with a status other than NFS3_OK. */
public final class NfsStatusException extends Exception {
  private static final long serialVersionUID = 1L;

  public static final int PERM = 1;
  public static final int NOENT = 2;
  public static final int IO = 5;
  public static final int ACCES = 13;
  public static final int EXIST = 17;
  public static final int NOTDIR = 20;
  public static final int ISDIR = 21;
  public static final int INVAL = 22;
  public static final int NOSPC = 28;
  public static final int ROFS = 30;
  public static final int NOTEMPTY = 66;
  public static final int DQUOT = 69;
  public static final int STALE = 70;
  public static final int BADHANDLE = 10001;
  public static final int BAD_COOKIE = 10003;
  public static final int NOTSUPP = 10004;
  public static final int SERVERFAULT = 10006;
  public static final int JUKEBOX = 10008;

  private final int status;
  /** Whether the call was sent more than once: then EXIST or NOENT may be the echo of our own first attempt. */
  private final boolean retransmitted;

  NfsStatusException(String op, String name, int status, boolean retransmitted) {
    super(op + " " + name + ": " + describe(status));
    this.status = status;
    this.retransmitted = retransmitted;
  }

  public int status() {
    return status;
  }

  public boolean retransmitted() {
    return retransmitted;
  }

  public static String describe(int status) {
    return switch (status) {
      case PERM -> "NFS3ERR_PERM (not owner)";
      case NOENT -> "NFS3ERR_NOENT (no such file or directory)";
      case IO -> "NFS3ERR_IO (I/O error)";
      case ACCES -> "NFS3ERR_ACCES (permission denied)";
      case EXIST -> "NFS3ERR_EXIST (file exists)";
      case NOTDIR -> "NFS3ERR_NOTDIR (not a directory)";
      case ISDIR -> "NFS3ERR_ISDIR (is a directory)";
      case INVAL -> "NFS3ERR_INVAL (invalid argument)";
      case NOSPC -> "NFS3ERR_NOSPC (no space left on device)";
      case ROFS -> "NFS3ERR_ROFS (read-only file system)";
      case NOTEMPTY -> "NFS3ERR_NOTEMPTY (directory not empty)";
      case DQUOT -> "NFS3ERR_DQUOT (quota exceeded)";
      case STALE -> "NFS3ERR_STALE (stale file handle)";
      case BADHANDLE -> "NFS3ERR_BADHANDLE";
      case BAD_COOKIE -> "NFS3ERR_BAD_COOKIE";
      case NOTSUPP -> "NFS3ERR_NOTSUPP (not supported)";
      case SERVERFAULT -> "NFS3ERR_SERVERFAULT";
      case JUKEBOX -> "NFS3ERR_JUKEBOX (try again later)";
      default -> "NFS status " + status;
    };
  }
}
