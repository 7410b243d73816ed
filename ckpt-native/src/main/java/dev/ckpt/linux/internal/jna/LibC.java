package dev.ckpt.linux.internal.jna;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The libc entry points ckpt-native uses, direct-mapped. Everything the kernel offers only as a
 * system call goes through {@link #syscall}, which avoids glibc's wrappers (ptrace's wrapper, for
 * one, changes the PEEK calling convention). Failures come back as {@link LastErrorException}
 * carrying errno; {@link Sys} turns them into named errors.
 */
public final class LibC {
  static {
    Native.register(LibC.class, NativeLibrary.getInstance("c"));
  }

  private LibC() {}

  public static native long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6)
      throws LastErrorException;

  public static native int waitpid(int pid, int[] status, int options) throws LastErrorException;

  public static native long pread(int fd, Pointer buf, long count, long offset) throws LastErrorException;

  public static native long pwrite(int fd, Pointer buf, long count, long offset) throws LastErrorException;

  public static native long pwrite(int fd, byte[] buf, long count, long offset) throws LastErrorException;

  public static native int open(String path, int flags, int mode) throws LastErrorException;

  public static native int close(int fd) throws LastErrorException;

  public static native int mkfifo(String path, int mode) throws LastErrorException;

  public static native int kill(int pid, int sig) throws LastErrorException;

  public static native int getuid();
}
