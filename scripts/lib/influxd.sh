# Sourced by the benchmarks: a throw-away influxd on 127.0.0.1 with its data in "$work".
# start_influxd sets $url and $influxd_pid; the caller kills it on exit.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_influxd() {
    command -v influxd >/dev/null || { echo "influxd missing (scripts/test installs it)" >&2; exit 1; }
    local port
    port=$(free_port)
    cat > "$work/influxdb.conf" <<CONF
reporting-enabled = false
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$work/meta"
[data]
  dir = "$work/data"
  wal-dir = "$work/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
  max-body-size = 0
[monitor]
  store-enabled = false
[logging]
  level = "error"
CONF
    env -u INFLUXDB_HTTP_BIND_ADDRESS influxd run -config "$work/influxdb.conf" >/dev/null 2>&1 &
    influxd_pid=$!
    url="http://127.0.0.1:$port"
    local tries=0
    until curl -sf -o /dev/null "$url/ping"; do
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || { echo "influxd did not start within 30 s" >&2; exit 1; }
        sleep 0.1
    done
}

# create_db NAME...
create_db() {
    for db in "$@"; do curl -sf -o /dev/null -XPOST "$url/query" --data-urlencode "q=CREATE DATABASE $db"; done
}

# count_readings DB: how many readings the p1 measurement holds.
count_readings() {
    curl -sf -G "$url/query" --data-urlencode "db=$1" --data-urlencode "q=SELECT count(power_import_kw) FROM p1" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["results"][0]; print(r["series"][0]["values"][0][1] if "series" in r else 0)'
}
