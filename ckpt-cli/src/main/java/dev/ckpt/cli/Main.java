package dev.ckpt.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code ckpt} command. */
@Command(name = "ckpt", mixinStandardHelpOptions = true, version = "ckpt 0.1.0-SNAPSHOT",
    description = "Checkpoint and restore programs and application state.",
    subcommands = {DemoCommand.class})
public final class Main {

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit code, for tests. */
  public static int run(String... args) {
    return new CommandLine(new Main()).execute(args);
  }
}
