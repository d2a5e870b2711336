"""Starts a Jupyter kernel again and again, as a notebook does (wait for kernel_info, run one cell),
and reports how many starts answered. Usage: kernel-starts.py KERNEL_NAME STARTS TIMEOUT_SECONDS.
Exit status 1 if any start did not answer; its output is printed."""
import subprocess
import sys
import tempfile
import time

from jupyter_client import KernelManager

name, starts, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
failed = []
seconds = []
for start in range(starts):
    with tempfile.TemporaryFile(mode="w+") as log:
        manager = KernelManager(kernel_name=name)
        began = time.time()
        manager.start_kernel(stdout=log, stderr=subprocess.STDOUT)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=timeout)
            reply = client.execute_interactive("int answer = 6 * 7;", timeout=timeout)
            if reply["content"]["status"] != "ok":
                raise RuntimeError("first cell: " + str(reply["content"]))
            seconds.append(time.time() - began)
        except Exception as error:  # a start that does not answer, whatever the reason
            failed.append(start)
            log.seek(0)
            print(f"start {start}: {error}\n{log.read()[-3000:]}", flush=True)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
            # a client left to the interpreter's exit logs a spurious traceback from __del__
            del client, manager
print(f"kernel {name}: {starts - len(failed)} of {starts} starts answered"
      f" (mean {sum(seconds) / max(1, len(seconds)):.1f} s to the first cell's reply); failed: {failed}")
sys.exit(1 if failed else 0)
