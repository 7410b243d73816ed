package dev.ckpt.linux.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.ImageReader;
import dev.ckpt.linux.Mode;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.TracedProcess;
import dev.ckpt.linux.internal.ProcessImage.FdRecord;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restore's self-check: a real image compared with itself has no difference, and each kind
 * of state that a restore could get wrong is named when it differs.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class RestoreCheckIT {
  @TempDir
  Path dir;
  ProcessImage image;

  @BeforeEach
  void dumpAProcessWithAttributes() throws Exception {
    String holder = Path.of(System.getProperty("ckpt.testPrograms"), "holder").toString();
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(dir.resolve("s").toUri().resolve("?create=true"))
        .job("check").build()) {
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), dir.resolve("out"), null, dir), holder, "madvise");
      Thread.sleep(200);
      CheckpointInfo info = ckpt.checkpoint(p, Mode.VACATE);
      try (ImageReader r = ckpt.store().open("check", info.id())) {
        image = ProcessRestorer.readImage(r);
      }
    }
  }

  List<String> differencesAfter(UnaryOperator<ProcessImage> change) {
    return RestoreCheck.differences(image, change.apply(image));
  }

  static ProcessImage with(ProcessImage i, List<VmaRecord> vmas, List<FdRecord> fds, Map<String, long[]> attributes,
      byte[][] itimers) {
    return new ProcessImage(i.uid(), i.exe(), i.cwd(), i.umask(), i.mm(), i.auxv(), vmas, i.threads(), fds, i.sigactions(),
        i.pendingPrivate(), i.pendingShared(), itimers, i.files(), attributes);
  }

  @Test
  void anImageComparedWithItself_hasNoDifference() {
    assertEquals(List.of(), differencesAfter(i -> i));
  }

  @Test
  void aMappingWithoutItsMadviseHint_isNamed() {
    List<String> d = differencesAfter(i -> {
      List<VmaRecord> vmas = new ArrayList<>();
      for (VmaRecord v : i.vmas()) {
        vmas.add((v.prot() >>> 8) != 0 ? v.withFlags(0) : v);
      }
      return with(i, vmas, i.fds(), i.attributes(), i.itimers());
    });
    assertTrue(d.stream().anyMatch(x -> x.startsWith("mapping ") && x.contains("flags 0x")), d.toString());
  }

  @Test
  void aDescriptorAtAnotherOffsetOrMissing_isNamed() {
    List<String> d = differencesAfter(i -> {
      List<FdRecord> fds = new ArrayList<>();
      for (FdRecord f : i.fds()) {
        if (f.kind() == ProcessImage.FdKind.FILE) {
          fds.add(new FdRecord(f.fd(), f.kind(), f.path(), f.flags(), f.pos() + 1, f.size()));
        } else if (f.kind() != ProcessImage.FdKind.DEVNULL) {
          fds.add(f);
        }
      }
      return with(i, i.vmas(), fds, i.attributes(), i.itimers());
    });
    assertTrue(d.stream().anyMatch(x -> x.matches("fd \\d+ offset: image \\d+, process \\d+")), d.toString());
  }

  @Test
  void aLostAttributeOrTimer_isNamed() {
    List<String> d = differencesAfter(i -> {
      Map<String, long[]> a = new LinkedHashMap<>(i.attributes());
      a.put(AttributeState.NICE, new long[] {7});
      byte[][] timers = i.itimers().clone();
      timers[0] = new byte[32];
      timers[0][8] = 0x10; // an interval the process does not have
      return with(i, i.vmas(), i.fds(), a, timers);
    });
    assertTrue(d.contains("nice: image 0, process 7"), d.toString());
    assertTrue(d.stream().anyMatch(x -> x.startsWith("interval timer 0:")), d.toString());
  }
}
