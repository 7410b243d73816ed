package dev.ckpt.linux;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.linux.internal.NativeEngine;
import java.net.URI;
import java.util.List;
import java.util.Objects;

/**
 * Checkpoints native Linux processes from outside, with ptrace, as their own user: no root, no
 * relinking, no LD_PRELOAD. Images go through the same engine and stores as application state:
 * incremental, compressed, verified.
 *
 * <pre>{@code
 * try (NativeCheckpointer ckpt = NativeCheckpointer.builder()
 *         .store(URI.create("file:///var/lib/ckpt?create=true")).job("sim").build()) {
 *     TracedProcess p = ckpt.launch(Stdio.files(null, out, err), "./simulate", "--steps=1e9");
 *     ...
 *     ckpt.checkpoint(p, Mode.VACATE);                 // committed, then killed
 *     RestoredProcess r = ckpt.restore("sim");          // continues where it stopped
 *     int code = r.waitFor();
 * }
 * }</pre>
 *
 * <p>Linux x86-64 only. Supported: a process with all its threads and all its descendants
 * (restored with their pids and tids: on the host when the checkpointer may choose pids and they
 * are free, else in a user and pid namespace of their own, docs/IDENTITY.md); anonymous, heap,
 * stack, private and shared file and shared anonymous memory; registers including AVX state;
 * sigactions, mask, pending signals, interval and POSIX timers, rseq; regular files, directories
 * and /dev/null by path and offset, pipes with their bytes; stdio terminals re-wired to the
 * restorer's. Refused with a clear error: sockets and other descriptors (unless
 * {@link FdPolicy#CLOSE}), changed executables or mapped files, other users' processes, a
 * different kernel's vDSO layout (ckpt-native/README.md lists every refusal).
 *
 * <p>Owns one tracer thread (all ptrace calls for a process must come from one thread), stopped
 * by {@link #close()}, which also detaches processes still running.
 */
public final class NativeCheckpointer implements AutoCloseable {
  private final NativeEngine engine;
  private final CheckpointStore store;
  private final boolean ownsStore;
  private final String job;

  private NativeCheckpointer(CheckpointStore store, boolean ownsStore, String job, FdPolicy fdPolicy, boolean verifyRestore,
      boolean trackChanges) {
    this.store = store;
    this.ownsStore = ownsStore;
    this.job = job;
    this.engine = new NativeEngine(fdPolicy, verifyRestore, trackChanges);
  }

  public static Builder builder() {
    return new Builder();
  }

  public String job() {
    return job;
  }

  public CheckpointStore store() {
    return store;
  }

  /** Starts {@code command} (not as a child of this JVM) under this checkpointer. */
  public TracedProcess launch(Stdio stdio, String... command) throws CheckpointException {
    if (command.length == 0) {
      throw new IllegalArgumentException("empty command");
    }
    return engine.launch(List.of(command), Objects.requireNonNull(stdio, "stdio"));
  }

  public TracedProcess launch(String... command) throws CheckpointException {
    return launch(Stdio.inherit(), command);
  }

  /** Takes a running process of the same user under this checkpointer. */
  public TracedProcess attach(int pid) throws CheckpointException {
    if (pid <= 0) {
      throw new IllegalArgumentException("invalid pid " + pid);
    }
    return engine.attach(pid);
  }

  /**
   * Stops the process, writes its image as the next checkpoint of the job, then resumes it
   * ({@link Mode#CONTINUE}) or kills it ({@link Mode#VACATE}, only once the checkpoint is
   * committed). If anything fails, no checkpoint is committed and the process resumes.
   */
  public CheckpointInfo checkpoint(TracedProcess process, Mode mode) throws CheckpointException {
    return checkpoint(process, mode, null);
  }

  /**
   * As {@link #checkpoint(TracedProcess, Mode)}, aborted with
   * {@link dev.ckpt.CheckpointTimeoutException} (nothing committed, the process resumed) if the
   * store's clock passes {@code deadline} before the manifest is written.
   */
  public CheckpointInfo checkpoint(TracedProcess process, Mode mode, java.time.Instant deadline) throws CheckpointException {
    Objects.requireNonNull(mode, "mode");
    try (ImageWriter w = store.newImage(job)) {
      if (deadline != null) {
        w.deadline(deadline);
      }
      return engine.checkpoint(process, w, mode);
    }
  }

  /**
   * {@code process} as a {@link dev.ckpt.CheckpointTarget} for a {@link dev.ckpt.CheckpointScheduler}:
   * timer and on-demand checkpoints let it run on; a vacate kills it once committed.
   */
  public dev.ckpt.CheckpointTarget target(TracedProcess process) {
    Objects.requireNonNull(process, "process");
    NativeCheckpointer self = this;
    return new dev.ckpt.CheckpointTarget() {
      @Override
      public CheckpointStore store() {
        return self.store;
      }

      @Override
      public String job() {
        return self.job;
      }

      @Override
      public CheckpointInfo checkpoint(dev.ckpt.Trigger trigger, java.time.Instant deadline) throws CheckpointException {
        return self.checkpoint(process, trigger == dev.ckpt.Trigger.VACATE ? Mode.VACATE : Mode.CONTINUE, deadline);
      }
    };
  }

  /** Restores the newest checkpoint of {@code job} into a new process. */
  public RestoredProcess restore(String job) throws CheckpointException {
    return restore(job, Stdio.inherit());
  }

  public RestoredProcess restore(String job, Stdio stdio) throws CheckpointException {
    try (ImageReader r = store.openLatest(job)) {
      return engine.restore(r, stdio);
    }
  }

  /** Restores checkpoint {@code id} of {@code job} into a new process. */
  public RestoredProcess restore(String job, long id, Stdio stdio) throws CheckpointException {
    try (ImageReader r = store.open(job, id)) {
      return engine.restore(r, stdio);
    }
  }

  /**
   * Resumes the job's newest checkpoint if it has one, else launches {@code command}: what
   * {@code ckpt run} does, for a job that a batch system may stop and start again. A checkpoint
   * that cannot be restored (its executable changed, say) is an error, never a silent start
   * from the beginning; {@link #launch} is the way to start over.
   */
  public TracedProcess launchOrResume(Stdio stdio, String... command) throws CheckpointException {
    java.util.Optional<dev.ckpt.CheckpointInfo> newest = store.latest(job);
    if (newest.isPresent()) {
      return restore(job, newest.get().id(), stdio);
    }
    return launch(stdio, command);
  }

  /** Describes the process image {@code r} (a checkpoint written by a NativeCheckpointer). */
  public static ProcessSummary describe(ImageReader r) throws CheckpointException {
    return NativeEngine.describe(r);
  }

  @Override
  public void close() {
    engine.close();
    if (ownsStore) {
      store.close();
    }
  }

  /** Settings for a {@link NativeCheckpointer}. */
  public static final class Builder {
    private URI uri;
    private CheckpointStore store;
    private String job;
    private FdPolicy fdPolicy = FdPolicy.FAIL;
    private boolean verifyRestore = true;
    private boolean trackChanges = true;

    private Builder() {}

    public Builder store(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
      this.store = null;
      return this;
    }

    public Builder store(CheckpointStore store) {
      this.store = Objects.requireNonNull(store, "store");
      this.uri = null;
      return this;
    }

    /** The job that {@link #checkpoint} writes to. */
    public Builder job(String job) {
      this.job = CheckpointStore.checkJobName(job);
      return this;
    }

    public Builder fdPolicy(FdPolicy policy) {
      this.fdPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Whether a restore reads the rebuilt process's state back (mappings, descriptors, signals,
     * timers, attributes) and compares it with the image before the process runs an instruction;
     * on any difference the process is killed and the restore fails, naming what differs. On by
     * default; it costs about a hundred injected system calls (5 ms for a small program, 28 ms
     * for one with 1 GiB mapped, on a 2-core VM).
     */
    public Builder verifyRestore(boolean verify) {
      this.verifyRestore = verify;
      return this;
    }

    /**
     * Whether a process checkpointed with {@link Mode#CONTINUE} has the pages it writes tracked
     * from then on, so that its next checkpoint reads, hashes and stores only what changed
     * (userfaultfd in asynchronous write-protect mode, Linux 6.7 or later; where that is
     * unavailable every checkpoint hashes all memory, as without it). On by default. The tracking
     * registers the process's private anonymous memory with a userfaultfd that the checkpointer
     * holds: a program that registers that memory with a userfaultfd of its own then gets EBUSY,
     * so turn it off for such a program (whose own userfaultfd the census refuses anyway).
     */
    public Builder trackChanges(boolean track) {
      this.trackChanges = track;
      return this;
    }

    public NativeCheckpointer build() throws CheckpointException {
      if (job == null) {
        throw new IllegalStateException("set the job name with job(...)");
      }
      if (uri == null && store == null) {
        throw new IllegalStateException("set the store with store(URI) or store(CheckpointStore)");
      }
      if (!System.getProperty("os.name", "").equals("Linux") || !System.getProperty("os.arch", "").equals("amd64")) {
        throw new UnsupportedOperationException("ckpt-native supports Linux x86-64 only, not "
            + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
      }
      boolean owns = store == null;
      CheckpointStore s = owns ? CheckpointStore.open(uri) : store;
      return new NativeCheckpointer(s, owns, job, fdPolicy, verifyRestore, trackChanges);
    }
  }

}
