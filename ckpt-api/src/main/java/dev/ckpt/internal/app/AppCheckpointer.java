package dev.ckpt.internal.app;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Registration;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointHook;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointNotFoundException;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointable;
import dev.ckpt.Checkpointer;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartInfo;
import dev.ckpt.PartOutput;
import dev.ckpt.Retention;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link Checkpointer} implementation: registered state as parts of an image. */
public final class AppCheckpointer implements Checkpointer {
  private static final Logger LOG = LoggerFactory.getLogger(AppCheckpointer.class);
  private static final int SLICE = 1 << 20;

  private final CheckpointStore store;
  private final boolean ownsStore;
  private final String job;
  private final List<StateRegistration> states;
  private final List<CheckpointHook> hooks;
  private final Kryo kryo;
  private final String kryoFingerprint;
  private final Retention retention;
  private volatile boolean closed;

  public AppCheckpointer(CheckpointStore store, boolean ownsStore, String job, List<StateRegistration> states,
      List<CheckpointHook> hooks, List<Class<?>> kryoClasses, Consumer<Kryo> kryoConfig, Retention retention) {
    this.store = store;
    this.ownsStore = ownsStore;
    this.job = job;
    this.states = states;
    this.hooks = hooks;
    this.retention = retention;
    this.kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.setReferences(true);
    for (Class<?> c : kryoClasses) {
      kryo.register(c);
    }
    kryoConfig.accept(kryo);
    this.kryoFingerprint = fingerprint(kryo);
  }

  /** Registration ids and class names: a restore with other registrations would misread objects. */
  private static String fingerprint(Kryo kryo) {
    StringBuilder s = new StringBuilder();
    for (int id = 0; id < kryo.getNextRegistrationId(); id++) {
      Registration r = kryo.getRegistration(id);
      if (r != null) {
        s.append(id).append('=').append(r.getType().getName()).append(';');
      }
    }
    byte[] digest;
    try {
      digest = java.security.MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    return HexFormat.of().formatHex(digest, 0, 8);
  }

  @Override
  public String job() {
    return job;
  }

  @Override
  public CheckpointStore store() {
    return store;
  }

  @Override
  public Optional<CheckpointInfo> latest() throws CheckpointException {
    checkOpen();
    return store.latest(job);
  }

  @Override
  public CheckpointInfo checkpoint() throws CheckpointException {
    return checkpoint(null);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this Checkpointer (job " + job + ") is closed");
    }
  }

  @Override
  public synchronized CheckpointInfo checkpoint(java.time.Instant deadline) throws CheckpointException {
    checkOpen();
    List<CheckpointHook> prepared = new ArrayList<>();
    boolean committed = false;
    CheckpointInfo info = null;
    CheckpointException failure = null;
    try {
      for (CheckpointHook h : hooks) {
        try {
          h.beforeCheckpoint();
        } catch (Exception e) {
          throw new CheckpointException("checkpoint of job " + job + " aborted: before-hook " + h.getClass().getName()
              + " failed: " + e, e);
        }
        prepared.add(h);
      }
      info = write(deadline);
      committed = true;
    } catch (CheckpointException e) {
      failure = e;
    } catch (RuntimeException e) {
      // Whatever went wrong, it is a failed checkpoint, and the hooks still get their after-call.
      failure = new CheckpointException("checkpoint of job " + job + " failed: " + e, e);
    }
    for (int i = prepared.size() - 1; i >= 0; i--) {
      CheckpointHook h = prepared.get(i);
      try {
        h.afterCheckpoint(committed);
      } catch (Exception e) {
        CheckpointException ce = new CheckpointException("after-checkpoint hook " + h.getClass().getName()
            + " of job " + job + " failed: " + e, e);
        if (failure == null) {
          failure = ce;
        } else {
          failure.addSuppressed(ce);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
    if (retention != null) {
      try {
        store.retain(job, retention);
      } catch (CheckpointException e) {
        // The checkpoint is committed; retention catches up next time.
        LOG.warn("retention after {} failed: {}", info.ref(), e.getMessage());
      }
    }
    return info;
  }

  private CheckpointInfo write(java.time.Instant deadline) throws CheckpointException {
    try (ImageWriter w = store.newImage(job)) {
      w.attribute("kind", "app");
      if (deadline != null) {
        w.deadline(deadline);
      }
      for (StateRegistration r : states) {
        if (r instanceof StateRegistration.ObjectState o) {
          writeObject(w, o);
        } else {
          writeSegment(w, (StateRegistration.Segment) r);
        }
      }
      return w.commit();
    }
  }

  private void writeObject(ImageWriter w, StateRegistration.ObjectState o) throws CheckpointException {
    Object state;
    try {
      state = o.state.captureState();
    } catch (Exception e) {
      throw new CheckpointException("capturing state '" + o.name + "' of job " + job + " failed: " + e, e);
    }
    try (PartOutput out = w.part(o.partName(), Map.of("kind", "object", "kryo", kryoFingerprint,
        "type", state == null ? "null" : state.getClass().getName()))) {
      Output kout = new Output(out.asOutputStream(), 1 << 16);
      try {
        kryo.writeClassAndObject(kout, state);
        kout.flush();
      } catch (KryoException | IllegalArgumentException e) {
        // Kryo throws IllegalArgumentException for a class that is not registered.
        CheckpointException cause = unwrap(e);
        if (cause != null) {
          throw cause;
        }
        throw new CheckpointException("serializing state '" + o.name + "' of job " + job + " failed: "
            + e.getMessage() + " (register every class it holds with kryoClasses(...))", e);
      }
    }
  }

  private static CheckpointException unwrap(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof CheckpointException ce) {
        return ce;
      }
    }
    return null;
  }

  private void writeSegment(ImageWriter w, StateRegistration.Segment s) throws CheckpointException {
    try (PartOutput out = w.part(s.partName(), Map.of("kind", "segment"))) {
      long length = s.length();
      for (long off = 0; off < length; off += SLICE) {
        out.write(s.slice(off, (int) Math.min(SLICE, length - off)));
      }
    }
  }

  @Override
  public CheckpointInfo restoreLatest() throws CheckpointException {
    checkOpen();
    try (ImageReader r = store.openLatest(job)) {
      return restore(r);
    }
  }

  @Override
  public CheckpointInfo restore(long id) throws CheckpointException {
    checkOpen();
    try (ImageReader r = store.open(job, id)) {
      return restore(r);
    }
  }

  private synchronized CheckpointInfo restore(ImageReader r) throws CheckpointException {
    String ref = r.info().ref();
    if (!"app".equals(r.attributes().get("kind"))) {
      throw new CheckpointException("checkpoint " + ref + " is not an application-state image (kind "
          + r.attributes().get("kind") + ")");
    }
    // Check the whole image against the registrations before touching anything.
    for (StateRegistration s : states) {
      PartInfo p = r.part(s.partName()).orElseThrow(() -> new CheckpointNotFoundException(
          "checkpoint " + ref + " has no state '" + s.name + "' (part " + s.partName() + ")"));
      if (s instanceof StateRegistration.Segment seg && p.size() != seg.length()) {
        throw new CheckpointException("checkpoint " + ref + ": segment '" + s.name + "' holds " + p.size()
            + " bytes but the registered segment has " + seg.length());
      }
      if (s instanceof StateRegistration.ObjectState && !kryoFingerprint.equals(p.attributes().get("kryo"))) {
        throw new CheckpointException("checkpoint " + ref + ": state '" + s.name + "' was written with other Kryo "
            + "registrations (fingerprint " + p.attributes().get("kryo") + ", now " + kryoFingerprint
            + "); register the same classes in the same order");
      }
    }
    // Objects first: a state that cannot be read back must fail the restore before a single
    // segment byte is overwritten.
    List<Object> restored = new ArrayList<>();
    for (StateRegistration s : states) {
      if (s instanceof StateRegistration.ObjectState o) {
        byte[] bytes = r.readBytes(o.partName());
        try (Input in = new Input(bytes)) {
          restored.add(kryo.readClassAndObject(in));
        } catch (KryoException | IllegalArgumentException | IndexOutOfBoundsException e) {
          // The bytes passed their hash check: they are what was written, so the class changed.
          throw new dev.ckpt.StateSchemaException("checkpoint " + ref + ": state '" + o.name + "' (written as "
              + r.part(o.partName()).map(p -> p.attributes().get("type")).orElse("?") + ") cannot be read with the"
              + " classes as they are now: " + e.getMessage() + ". A class changed since the checkpoint (a field added,"
              + " removed or retyped); register it with Kryo's CompatibleFieldSerializer to allow that", e);
        }
      }
    }
    for (StateRegistration s : states) {
      if (s instanceof StateRegistration.Segment seg) {
        r.read(seg.partName(), seg);
      }
    }
    int i = 0;
    for (StateRegistration s : states) {
      if (s instanceof StateRegistration.ObjectState o) {
        try {
          restoreState(o.state, restored.get(i++));
        } catch (Exception e) {
          throw new CheckpointException("restoring state '" + o.name + "' from " + ref + " failed: " + e, e);
        }
      }
    }
    for (int h = hooks.size() - 1; h >= 0; h--) {
      try {
        hooks.get(h).afterRestore(r.info());
      } catch (Exception e) {
        throw new CheckpointException("after-restore hook " + hooks.get(h).getClass().getName() + " failed after "
            + ref + " was restored: " + e, e);
      }
    }
    return r.info();
  }

  @SuppressWarnings("unchecked")
  private static <S> void restoreState(Checkpointable<S> c, Object state) throws Exception {
    c.restoreState((S) state);
  }

  @Override
  public void close() {
    closed = true;
    if (ownsStore) {
      store.close();
    }
  }
}
