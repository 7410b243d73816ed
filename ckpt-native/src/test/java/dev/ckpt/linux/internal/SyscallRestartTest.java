package dev.ckpt.linux.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SyscallRestartTest {
  private static Regs stoppedIn(long syscall, long rax) {
    Regs r = new Regs();
    r.set(Regs.ORIG_RAX, syscall).set(Regs.RAX, rax).set(Regs.RIP, 0x1002);
    return r;
  }

  @Test
  void interruptedRestartableCall_isReissued() {
    for (long code : new long[] {-512, -513, -514, -516}) {
      Regs r = ProcessRestorer.restartAdjusted(stoppedIn(0, code));
      assertEquals(0x1000, r.get(Regs.RIP), "rip backs over the syscall instruction for " + code);
      assertEquals(0, r.get(Regs.RAX), "rax holds the call number again for " + code);
      assertEquals(-1, r.get(Regs.ORIG_RAX), "the kernel must not restart it a second time");
    }
  }

  @Test
  void completedCallOrUserCode_isLeftAlone() {
    Regs done = ProcessRestorer.restartAdjusted(stoppedIn(1, 42));
    assertEquals(0x1002, done.get(Regs.RIP));
    assertEquals(42, done.get(Regs.RAX));
    Regs user = ProcessRestorer.restartAdjusted(stoppedIn(-1, -512));
    assertEquals(0x1002, user.get(Regs.RIP));
    assertEquals(-512, user.get(Regs.RAX));
  }

  @Test
  void registersRoundTripThroughTheirKernelLayout() {
    Regs r = new Regs();
    for (int i = 0; i < 27; i++) {
      r.set(i, 0x0102030405060708L * (i + 1));
    }
    Regs back = Regs.of(r.bytes());
    for (int i = 0; i < 27; i++) {
      assertEquals(r.get(i), back.get(i));
    }
    assertEquals(Regs.SIZE, r.bytes().length);
  }
}
