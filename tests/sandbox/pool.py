# SPDX-License-Identifier: MIT
"""tests/sandbox/pool.py: several single-vCPU sandboxes at once, so that a
batch of test programs uses every core of this machine.

One VM with two vCPUs wedged with step10's tests in it (both vCPUs
busy, no command moving on); two VMs of one vCPU each run `make test`'s
programs in 0.55 of the time one takes (tests/sandbox/README.md, "Both
cores").  So a pool boots SANDBOX_VMS warm sandboxes (default: this
machine's cores) of SANDBOX_SMP vCPUs (default 1), each in a folder of
its own, and hands each command to whichever is free.  They stop when
the pool closes, and by themselves after IDLE seconds without a command
if its owner was killed.

    with Pool() as pool:
        results = pool.map(lambda run, item: run([prog, ...]), items)

run(argv, timeout=S) runs argv in the caller's sandbox through
tests/sandbox/run and returns a subprocess.CompletedProcess (stdout and
stderr as bytes; returncode 124 when the timeout expired).
"""

import concurrent.futures
import os
import queue
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
IDLE = 120


def vm_count():
    """SANDBOX_VMS, else this machine's cores."""
    n = os.environ.get("SANDBOX_VMS") or str(os.cpu_count() or 1)
    if not n.isdigit() or int(n) < 1:
        raise ValueError(f"SANDBOX_VMS wants a number of VMs, not {n!r}")
    return int(n)


class Pool:
    def __init__(self, count=None, log=None):
        self.count = count or vm_count()
        self.log = log
        self.dir = tempfile.mkdtemp(prefix="sandbox-pool.")
        self.envs = []

    def _env(self, k):
        env = dict(os.environ)
        env["SANDBOX_UP_DIR"] = os.path.join(self.dir, f"vm{k}")
        env.setdefault("SANDBOX_SMP", "1")
        env.pop("SANDBOX_WARM", None)
        return env

    def __enter__(self):
        """Boot the VMs side by side; those that come up serve."""
        boots = [(env, self._up(env)) for env in map(self._env, range(self.count))]
        for env, p in boots:
            out = p.communicate()[0].decode(errors="replace").strip()
            if p.returncode == 0:
                self.envs.append(env)
            if self.log:
                self.log(f"pool vm{len(self.envs) - 1 if p.returncode == 0 else '?'}: {out}")
        if not self.envs:
            self.close()
            raise RuntimeError("no sandbox of the pool came up")
        self.free = queue.Queue()
        for env in self.envs:
            self.free.put(env)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for env in self.envs:
            subprocess.run([os.path.join(HERE, "down")], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        self.envs = []
        shutil.rmtree(self.dir, ignore_errors=True)

    def _up(self, env):
        """Start booting env's VM; the Popen of tests/sandbox/up."""
        return subprocess.Popen(
            [os.path.join(HERE, "up"), "--idle", str(IDLE)], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)

    def _run(self, env, argv, timeout, cwd):
        return subprocess.run(
            [os.path.join(HERE, "run")] + list(argv),
            env=dict(env, SANDBOX_TIMEOUT=str(timeout)), cwd=cwd,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def map(self, fn, items, cost=None):
        """fn(run, item) for each item, as many at once as there are VMs;
        run runs a command in the VM this call holds.  Items of the
        largest cost(item) start first, so that no long one starts last
        while the other VMs sit idle.  Results in the order of items."""
        def one(item):
            env = self.free.get()
            try:
                def run(argv, timeout=0, cwd=None):
                    for attempt in (1, 2):
                        p = self._run(env, argv, timeout, cwd)
                        if p.returncode != 125 or b"warm sandbox stopped" not in p.stderr:
                            return p
                        # The VM died under the command (seen twice, on a
                        # loaded host): boot it again and give the command
                        # one more try.
                        console = os.path.join(env["SANDBOX_UP_DIR"], "console")
                        try:
                            with open(console, errors="replace") as f:
                                tail = "".join(f.readlines()[-8:])
                        except OSError:
                            tail = "(no console)\n"
                        if self.log:
                            self.log(f"a sandbox stopped under {argv[0]}; its console "
                                     f"ended:\n{tail}booting it again"
                                     + (" and running the command once more"
                                        if attempt == 1 else ""))
                        self._up(env).communicate()
                    return p
                return fn(run, item)
            finally:
                self.free.put(env)
        items = list(items)
        futures = [None] * len(items)
        with concurrent.futures.ThreadPoolExecutor(len(self.envs)) as ex:
            for i in sorted(range(len(items)), key=lambda i: -cost(items[i]) if cost else 0):
                futures[i] = ex.submit(one, items[i])
            return [f.result() for f in futures]
