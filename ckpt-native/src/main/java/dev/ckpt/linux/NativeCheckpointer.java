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
      boolean trackChanges, java.time.Duration holdSigterm) {
    this.store = store;
    this.ownsStore = ownsStore;
    this.job = job;
    this.engine = new NativeEngine(fdPolicy, verifyRestore, trackChanges, holdSigterm);
  }

  /**
   * Starts the settings of a checkpointer.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The job that {@link #checkpoint} writes to.
   *
   * @return the job's name
   */
  public String job() {
    return job;
  }

  /**
   * The store the checkpoints go to.
   *
   * @return the store, opened by the checkpointer or given to its builder
   */
  public CheckpointStore store() {
    return store;
  }

  /**
   * Starts {@code command} (not as a child of this JVM) under this checkpointer.
   *
   * @param stdio where its standard streams go, and its working directory
   * @param command the program and its arguments
   * @return the running process
   * @throws IllegalArgumentException if {@code command} is empty
   * @throws CheckpointException if the process cannot be started or traced
   */
  public TracedProcess launch(Stdio stdio, String... command) throws CheckpointException {
    if (command.length == 0) {
      throw new IllegalArgumentException("empty command");
    }
    return engine.launch(List.of(command), Objects.requireNonNull(stdio, "stdio"));
  }

  /**
   * Starts {@code command} with the JVM's standard streams and working directory.
   *
   * @param command the program and its arguments
   * @return the running process
   * @throws IllegalArgumentException if {@code command} is empty
   * @throws CheckpointException if the process cannot be started or traced
   */
  public TracedProcess launch(String... command) throws CheckpointException {
    return launch(Stdio.inherit(), command);
  }

  /**
   * Takes a running process of the same user under this checkpointer.
   *
   * @param pid the process's id
   * @return the process, now traced
   * @throws IllegalArgumentException if {@code pid} is not positive
   * @throws CheckpointException if the process does not exist or cannot be traced
   */
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
   *
   * @param process a process of this checkpointer
   * @param mode what happens to the process once the checkpoint is committed
   * @return the committed checkpoint
   * @throws CheckpointException if the process cannot be checkpointed or the image not written
   */
  public CheckpointInfo checkpoint(TracedProcess process, Mode mode) throws CheckpointException {
    return checkpoint(process, mode, null);
  }

  /**
   * As {@link #checkpoint(TracedProcess, Mode)}, aborted with
   * {@link dev.ckpt.CheckpointTimeoutException} (nothing committed, the process resumed) if the
   * store's clock passes {@code deadline} before the manifest is written.
   *
   * @param process a process of this checkpointer
   * @param mode what happens to the process once the checkpoint is committed
   * @param deadline when the checkpoint must be committed by, or null for no limit
   * @return the committed checkpoint
   * @throws CheckpointException if the process cannot be checkpointed, the image not written, or
   *     the deadline passed
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
   *
   * @param process a process of this checkpointer
   * @return a target that checkpoints {@code process} into this checkpointer's job
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

  /**
   * Restores the newest checkpoint of {@code job} into a new process, with the JVM's standard
   * streams.
   *
   * @param job the job's name; any job of the store, not only this checkpointer's
   * @return the restored process, running
   * @throws dev.ckpt.CheckpointNotFoundException if the job has no checkpoint
   * @throws CheckpointException if the image cannot be read or the process cannot be rebuilt
   */
  public RestoredProcess restore(String job) throws CheckpointException {
    return restore(job, Stdio.inherit());
  }

  /**
   * Restores the newest checkpoint of {@code job} into a new process.
   *
   * @param job the job's name; any job of the store, not only this checkpointer's
   * @param stdio where the restored process's standard streams go
   * @return the restored process, running
   * @throws dev.ckpt.CheckpointNotFoundException if the job has no checkpoint
   * @throws CheckpointException if the image cannot be read or the process cannot be rebuilt
   */
  public RestoredProcess restore(String job, Stdio stdio) throws CheckpointException {
    try (ImageReader r = store.openLatest(job)) {
      return engine.restore(r, stdio);
    }
  }

  /**
   * Restores checkpoint {@code id} of {@code job} into a new process.
   *
   * @param job the job's name; any job of the store, not only this checkpointer's
   * @param id the checkpoint's number within the job
   * @param stdio where the restored process's standard streams go
   * @return the restored process, running
   * @throws dev.ckpt.CheckpointNotFoundException if the job has no checkpoint {@code id}
   * @throws CheckpointException if the image cannot be read or the process cannot be rebuilt
   */
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
   *
   * @param stdio where the process's standard streams go
   * @param command the program and its arguments, used only if the job has no checkpoint
   * @return the restored or launched process
   * @throws CheckpointException if the newest checkpoint cannot be restored, or the command
   *     cannot be started
   */
  public TracedProcess launchOrResume(Stdio stdio, String... command) throws CheckpointException {
    java.util.Optional<dev.ckpt.CheckpointInfo> newest = store.latest(job);
    if (newest.isPresent()) {
      return restore(job, newest.get().id(), stdio);
    }
    return launch(stdio, command);
  }

  /**
   * Describes the process image {@code r} (a checkpoint written by a NativeCheckpointer).
   *
   * @param r an open image
   * @return what the image holds
   * @throws CheckpointException if the image is not a process image or cannot be read
   */
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
    private java.time.Duration holdSigterm = java.time.Duration.ZERO;

    private Builder() {}

    /**
     * Opens the store at {@code uri}; the checkpointer closes it.
     *
     * @param uri the store's URI; replaces a store given before
     * @return this builder
     */
    public Builder store(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
      this.store = null;
      return this;
    }

    /**
     * Uses a store opened by the caller, who closes it.
     *
     * @param store the store; replaces a URI given before
     * @return this builder
     */
    public Builder store(CheckpointStore store) {
      this.store = Objects.requireNonNull(store, "store");
      this.uri = null;
      return this;
    }

    /**
     * The job that {@link NativeCheckpointer#checkpoint} writes to; required.
     *
     * @param job a valid job name ({@link CheckpointStore#checkJobName})
     * @return this builder
     * @throws IllegalArgumentException if {@code job} is not a valid job name
     */
    public Builder job(String job) {
      this.job = CheckpointStore.checkJobName(job);
      return this;
    }

    /**
     * What a checkpoint does with a descriptor it cannot save; default {@link FdPolicy#FAIL}.
     *
     * @param policy the policy
     * @return this builder
     */
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
     *
     * @param verify {@code false} to skip the check
     * @return this builder
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
     *
     * @param track {@code false} to hash all memory at every checkpoint
     * @return this builder
     */
    public Builder trackChanges(boolean track) {
      this.trackChanges = track;
      return this;
    }

    /**
     * Holds back a SIGTERM sent to a process this checkpointer traces for up to {@code hold}
     * before the process takes it. A batch scheduler that evicts a job (Slurm's {@code scancel},
     * requeue and preemption) sends SIGTERM to every process of the job at the same moment: to
     * the application that vacates the process with {@link Mode#VACATE}, and to the process
     * itself, which would otherwise die before the vacate's checkpoint. A vacate that commits
     * within {@code hold} checkpoints the process as of before the signal and kills it; a
     * SIGTERM that no vacate took in time is delivered then, with its original sender (and one
     * still held when the checkpointer closes is sent as it detaches the process). Only another
     * process's kill() is held, never the process's own raise(); in a multi-threaded process,
     * only one that its main thread takes. Zero (the default) delivers SIGTERM at once, like any
     * other signal.
     *
     * @param hold how long a SIGTERM waits for a vacate, at most 10 minutes
     * @return this builder
     */
    public Builder holdSigterm(java.time.Duration hold) {
      if (hold.isNegative() || hold.compareTo(java.time.Duration.ofMinutes(10)) > 0) {
        throw new IllegalArgumentException("holdSigterm must be between 0 and 10 minutes, got " + hold);
      }
      this.holdSigterm = hold;
      return this;
    }

    /**
     * Makes the checkpointer, opening its store if given as a URI.
     *
     * @return the checkpointer, which the caller closes
     * @throws IllegalStateException if the job or the store is not set
     * @throws UnsupportedOperationException if this is not Linux on x86-64
     * @throws CheckpointException if the store cannot be opened
     */
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
      return new NativeCheckpointer(s, owns, job, fdPolicy, verifyRestore, trackChanges, holdSigterm);
    }
  }

}
