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

  private static byte[][] actions(long handler, long flags) {
    byte[][] a = new byte[64][32];
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(a[14 - 1]).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, handler).putLong(8, flags);
    return a;
  }

  /** pause() (-ERESTARTNOHAND) with a SIGALRM pending for a handler: the kernel returns EINTR after the handler. */
  @Test
  void callInterruptedByAPendingHandledSignal_failsWithEintrInsteadOfWaitingAgain() {
    for (long code : new long[] {-514, -516, -512}) {
      Regs r = ProcessRestorer.resumeRegs(stoppedIn(34, code), 0, java.util.Set.of(14), actions(0x401000, 0));
      assertEquals(0x1002, r.get(Regs.RIP), "not re-entered for " + code);
      assertEquals(-4, r.get(Regs.RAX), "EINTR for " + code);
      assertEquals(-1, r.get(Regs.ORIG_RAX));
    }
  }

  @Test
  void callWithAPendingSignalThatRunsNoHandlerOrRestarts_isReissued() {
    long restart = 0x10000000L;
    Regs saRestart = ProcessRestorer.resumeRegs(stoppedIn(0, -512), 0, java.util.Set.of(14), actions(0x401000, restart));
    Regs blocked = ProcessRestorer.resumeRegs(stoppedIn(34, -514), 1L << 13, java.util.Set.of(14), actions(0x401000, 0));
    Regs ignored = ProcessRestorer.resumeRegs(stoppedIn(34, -514), 0, java.util.Set.of(14), actions(1, 0));
    Regs noIntr = ProcessRestorer.resumeRegs(stoppedIn(34, -513), 0, java.util.Set.of(14), actions(0x401000, 0));
    Regs nothing = ProcessRestorer.resumeRegs(stoppedIn(34, -514), 0, java.util.Set.of(), actions(0x401000, 0));
    for (Regs r : new Regs[] {saRestart, blocked, ignored, noIntr, nothing}) {
      assertEquals(0x1000, r.get(Regs.RIP));
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
