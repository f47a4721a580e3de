"""What the Python benchmarks share: a free port, a bounded wait, a throw-away influxd."""
import json, os, socket, subprocess, sys, time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, done, seconds=20):
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            sys.exit(f"{os.path.basename(sys.argv[0])}: {what} did not happen within {seconds} s")
        time.sleep(0.05)


class Influxd:
    """An influxd on 127.0.0.1 with its data in `work`, started at once."""

    def __init__(self, work):
        port = free_port()
        conf = os.path.join(work, "influxdb.conf")
        with open(conf, "w") as f:
            f.write(f'reporting-enabled = false\nbind-address = "127.0.0.1:{free_port()}"\n'
                    f'[meta]\n  dir = "{work}/meta"\n[data]\n  dir = "{work}/data"\n  wal-dir = "{work}/wal"\n'
                    f'  query-log-enabled = false\n[http]\n  bind-address = "127.0.0.1:{port}"\n'
                    f'  log-enabled = false\n  max-body-size = 0\n[monitor]\n  store-enabled = false\n'
                    f'[logging]\n  level = "error"\n')
        env = dict(os.environ)
        env.pop("INFLUXDB_HTTP_BIND_ADDRESS", None)
        self.process = subprocess.Popen(["influxd", "run", "-config", conf], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        wait_for("influxd's start", lambda: subprocess.run(["curl", "-sf", f"{self.url}/ping"]).returncode == 0, 30)

    def query(self, query, db=None):
        args = ["curl", "-sf", "-G" if db else "-XPOST", f"{self.url}/query", "--data-urlencode", f"q={query}"]
        if db:
            args += ["--data-urlencode", f"db={db}"]
        return subprocess.run(args, capture_output=True, text=True).stdout

    def count(self, query, db):
        """The first value of a count query's answer (0 for none)."""
        try:
            return json.loads(self.query(query, db))["results"][0]["series"][0]["values"][0][1]
        except (ValueError, KeyError, IndexError):
            return 0

    def stop(self):
        self.process.kill()
        self.process.wait()
