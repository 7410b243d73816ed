package dev.ckpt.linux;

import java.util.List;

/**
 * What a process image holds, for people and tools ({@code ckpt inspect}).
 *
 * @param exe the executable
 * @param cwd the working directory
 * @param registers rip, rsp and the system call it was in, if any
 * @param mappings one line per mapping: range, protection, kind, path, dumped size
 * @param fds one line per descriptor: number, kind, path, offset
 * @param signals handled, ignored, blocked and pending signals, and armed timers
 * @param attributes resource limits, personality, prctl flags, nice, affinity, sigaltstack: one
 *     "name: value" line each
 * @param files the files restore needs unchanged
 */
public record ProcessSummary(String exe, String cwd, String registers, List<String> mappings, List<String> fds,
    List<String> signals, List<String> attributes, List<String> files) {}
