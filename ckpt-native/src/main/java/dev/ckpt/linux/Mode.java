package dev.ckpt.linux;

/** What happens to a process after its checkpoint is committed. */
public enum Mode {
  /** It resumes where it was. */
  CONTINUE,
  /** It is killed without running another instruction: HTCondor's vacate. */
  VACATE
}
