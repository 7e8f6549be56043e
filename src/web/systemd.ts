// Socket activation as systemd does it (sd_listen_fds(3)) and exporter-toolkit takes it (--web.systemd-socket,
// go-systemd's activation.Listeners): the sockets a .socket unit bound are passed from descriptor 3 on,
// LISTEN_FDS says how many, and LISTEN_PID names the process they are meant for.

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/**
 * The descriptors systemd passed to this process, or why there are none (one line, for the usage error).
 * The variables are removed, as go-systemd does, so nothing this process starts takes them as its own.
 */
export function systemdListenFds(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): { fds: number[] } | { problem: string } {
  const count = env['LISTEN_FDS'];
  const forPid = env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDNAMES'];
  const hint = 'start the exporter through its .socket unit (deploy/systemd/k0s-etcdmember-exporter.socket), or drop the flag and use --web.listen-address';
  if (count === undefined || forPid === undefined) {
    return { problem: `--web.systemd-socket: systemd passed no sockets (LISTEN_FDS and LISTEN_PID are not set); ${hint}` };
  }
  if (!/^\d+$/.test(forPid) || Number(forPid) !== pid) {
    return { problem: `--web.systemd-socket: the sockets systemd passed are for process ${forPid} (LISTEN_PID), not this one (${pid}); ${hint}` };
  }
  const n = /^\d+$/.test(count) ? Number(count) : NaN;
  if (!(n >= 1)) return { problem: `--web.systemd-socket: systemd passed no sockets (LISTEN_FDS=${JSON.stringify(count)}); ${hint}` };
  return { fds: Array.from({ length: n }, (_, i) => LISTEN_FDS_START + i) };
}
