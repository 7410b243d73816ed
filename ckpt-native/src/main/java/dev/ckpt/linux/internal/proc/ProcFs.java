package dev.ckpt.linux.internal.proc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Parsers for the /proc files ckpt reads. Pure Java; tested against fixture text. */
public final class ProcFs {
  private ProcFs() {}

  public static Path dir(int pid) {
    return Path.of("/proc", Integer.toString(pid));
  }

  public static List<Vma> maps(int pid) throws IOException {
    return parseMaps(Files.readString(dir(pid).resolve("maps"), StandardCharsets.UTF_8));
  }

  /** The VmFlags mnemonics of every mapping in /proc/PID/smaps, by start address. */
  public static Map<Long, java.util.Set<String>> vmFlags(int pid) throws IOException {
    return parseVmFlags(Files.readString(dir(pid).resolve("smaps"), StandardCharsets.UTF_8));
  }

  public static Map<Long, java.util.Set<String>> parseVmFlags(String text) {
    Map<Long, java.util.Set<String>> out = new HashMap<>();
    long start = -1;
    for (String line : text.split("\n")) {
      int space = line.indexOf(' ');
      String first = space < 0 ? line : line.substring(0, space);
      if (first.equals("VmFlags:")) {
        out.put(start, new java.util.HashSet<>(List.of(line.substring(8).trim().split("\\s+"))));
      } else if (first.indexOf('-') > 0 && first.indexOf(':') < 0) {
        start = Long.parseUnsignedLong(first.substring(0, first.indexOf('-')), 16);
      }
    }
    return out;
  }

  public static List<Vma> parseMaps(String text) {
    List<Vma> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      // start-end perms offset dev inode [path]; the path may hold spaces.
      int i = 0;
      String[] f = new String[5];
      int pos = 0;
      for (; i < 5; i++) {
        while (pos < line.length() && line.charAt(pos) == ' ') {
          pos++;
        }
        int end = line.indexOf(' ', pos);
        if (end < 0) {
          end = line.length();
        }
        f[i] = line.substring(pos, end);
        pos = end;
      }
      while (pos < line.length() && line.charAt(pos) == ' ') {
        pos++;
      }
      String path = pos < line.length() ? line.substring(pos) : "";
      boolean deleted = path.endsWith(" (deleted)");
      if (deleted) {
        path = path.substring(0, path.length() - " (deleted)".length());
      }
      int dash = f[0].indexOf('-');
      String perms = f[1];
      out.add(new Vma(Long.parseUnsignedLong(f[0].substring(0, dash), 16), Long.parseUnsignedLong(f[0].substring(dash + 1), 16),
          perms.charAt(0) == 'r', perms.charAt(1) == 'w', perms.charAt(2) == 'x', perms.charAt(3) == 's',
          Long.parseUnsignedLong(f[2], 16), f[3], Long.parseLong(f[4]), path, deleted));
    }
    return out;
  }

  /** The fields of /proc/PID/stat after the command name, numbered as in proc(5) from 3. */
  public static String[] stat(int pid) throws IOException {
    return parseStat(Files.readString(dir(pid).resolve("stat")));
  }

  public static String[] parseStat(String text) {
    int close = text.lastIndexOf(')');
    String[] rest = text.substring(close + 2).trim().split(" ");
    String[] fields = new String[rest.length + 3];
    System.arraycopy(rest, 0, fields, 3, rest.length);
    return fields;
  }

  /** /proc/PID/status as a map of field to value (trimmed). */
  public static Map<String, String> status(int pid) throws IOException {
    return parseStatus(Files.readString(dir(pid).resolve("status")));
  }

  public static Map<String, String> parseStatus(String text) {
    Map<String, String> m = new HashMap<>();
    for (String line : text.split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        m.put(line.substring(0, colon), line.substring(colon + 1).trim());
      }
    }
    return m;
  }

  /** /proc/PID/fdinfo/FD: pos, flags (octal), mnt_id and more. */
  public static Map<String, String> fdinfo(int pid, int fd) throws IOException {
    return parseStatus(Files.readString(dir(pid).resolve("fdinfo").resolve(Integer.toString(fd))));
  }

  public static boolean alive(int pid) {
    try {
      String[] s = stat(pid);
      return !s[3].equals("Z") && !s[3].equals("X");
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  /** The single-letter state of /proc/PID/stat, or "" if the process is gone. */
  public static String state(int pid) {
    try {
      return stat(pid)[3];
    } catch (IOException e) {
      return "";
    }
  }
}
