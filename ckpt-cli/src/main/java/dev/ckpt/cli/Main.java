package dev.ckpt.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the {@code ckpt} command. Exit codes: 0 success, 1 error, 2 usage error, and
 * {@code restore} (without --detach) and {@code run} exit with the process's own code.
 */
// INHERIT: every subcommand takes -h/--help too (ckpt dump --help), and `ckpt help CMD` works.
@Command(name = "ckpt", mixinStandardHelpOptions = true, version = "ckpt 0.1.0-SNAPSHOT",
    scope = CommandLine.ScopeType.INHERIT,
    description = "Checkpoint and restore running programs.",
    subcommands = {RunCommand.class, DumpCommand.class, RestoreCommand.class, LsCommand.class, InspectCommand.class,
        VerifyCommand.class, GcCommand.class, DemoCommand.class, TrainCommand.class, CommandLine.HelpCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:success", "1:error (one line on stderr saying what, where and what to do; --debug for a stack trace)",
        "2:usage error", "N:restore and run exit with the restored or launched process's own exit code"})
public final class Main {

  /**
   * Runs the command line on the process's standard streams and exits with its exit code.
   *
   * @param args the command line, without {@code ckpt}
   */
  public static void main(String[] args) {
    System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  /**
   * Runs the command line with the given streams and returns the exit code.
   *
   * @param out where output goes
   * @param err where errors and usage messages go
   * @param args the command line, without {@code ckpt}
   * @return the exit code, as listed above
   */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      boolean debug = parsed.originalArgs().contains("--debug");
      cmd.getErr().println("ckpt " + cmd.getCommandName() + ": " + Cli.describe(e));
      if (debug) {
        e.printStackTrace(cmd.getErr());
      }
      cmd.getErr().flush();
      // Misuse (a bad value, an invalid name) is a usage error; everything else failed doing.
      return e instanceof IllegalArgumentException ? 2 : 1;
    });
    return cl.execute(args);
  }
}
