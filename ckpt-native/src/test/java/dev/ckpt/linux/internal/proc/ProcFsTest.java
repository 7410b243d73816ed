package dev.ckpt.linux.internal.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcFsTest {
  private static String fixture(String name) throws IOException {
    try (InputStream in = ProcFsTest.class.getResourceAsStream("/proc/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void maps_parsesPathsWithSpaces_deletedFiles_andSpecialMappings() throws IOException {
    List<Vma> maps = ProcFs.parseMaps(fixture("maps.txt"));
    assertEquals(12, maps.size());
    Vma exe = maps.get(1);
    assertEquals(0x55d1c2a01000L, exe.start());
    assertEquals(0x1000, exe.length());
    assertEquals("/work/my programs/counter", exe.path());
    assertTrue(exe.read() && exe.exec() && !exe.write() && !exe.shared());
    assertEquals(0x1000, exe.offset());
    assertEquals(5, exe.prot());
    Vma memfd = maps.get(4);
    assertTrue(memfd.memfd() && memfd.shared() && memfd.deleted());
    assertEquals("/memfd:shared", memfd.path());
    Vma gone = maps.get(6);
    assertTrue(gone.deleted() && gone.fileBacked());
    assertEquals("[heap]", maps.get(2).path());
    assertFalse(maps.get(2).special());
    assertTrue(maps.get(9).special());
    assertEquals("[vvar_vclock]", maps.get(8).path());
    assertEquals(0xffffffffff600000L, maps.get(11).start());
  }

  @Test
  void stat_numbersFieldsAsProcManPage_evenWithParenthesesInTheName() throws IOException {
    String[] f = ProcFs.parseStat(fixture("stat.txt"));
    assertEquals("S", f[3]);
    assertEquals("94366392274944", f[26]);
    assertEquals("140722358107440", f[28]);
    assertEquals("94366414266368", f[47]);
    assertEquals("140722358112237", f[51]);
  }

  @Test
  void status_isAMapOfTrimmedFields() {
    var m = ProcFs.parseStatus("Name:\tcounter\nUmask:\t0022\nUid:\t1000\t1000\t1000\t1000\n");
    assertEquals("0022", m.get("Umask"));
    assertEquals("1000", m.get("Uid").split("\\s+")[0]);
  }
}
